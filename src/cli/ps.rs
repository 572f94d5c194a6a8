//! `berth ps [-f table|json] ID [ps options]`: the processes in the
//! container's cgroup. `json` prints their host pids (what containerd's shim
//! reads); `table` runs the host's `ps` (default `-ef`) and keeps the header
//! and the lines whose PID column is one of them, as runc does.

use std::process::Command;

use super::Globals;
use crate::error::{Context, Error, Result};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format: table or json
    #[arg(short = 'f', long, default_value = "table")]
    pub format: String,
    /// The container id, then options for ps(1) (default: -ef). Everything
    /// after the id goes to ps, as in runc.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "ID [PS OPTIONS]")]
    pub args: Vec<String>,
}

impl Args {
    fn id(&self) -> &str {
        self.args.first().map_or("", String::as_str)
    }

    fn ps_args(&self) -> Vec<String> {
        match self.args.get(1..) {
            Some(rest) if !rest.is_empty() => rest.to_vec(),
            _ => vec!["-ef".to_string()],
        }
    }
}

pub fn run(a: Args, g: &Globals) -> Result<()> {
    let dir = g.container(a.id())?;
    let stored = dir.load()?;
    let pids = match &stored.cgroup {
        Some(cg) => cg.pids()?,
        // No cgroup (rootless): the processes of its pid namespace.
        None => stored.pidns_members(),
    };
    match a.format.as_str() {
        "json" => {
            println!("{}", pids_json(&pids));
            Ok(())
        }
        "table" => {
            let args = a.ps_args();
            let out = Command::new("ps").args(&args).output().ctx(|| "run `ps`".into())?;
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            if !out.status.success() {
                let code = out.status.code().map_or_else(|| out.status.to_string(), |c| format!("exit status {c}"));
                return Err(Error::Usage(format!("{code}: {}", text.trim_end())));
            }
            print!("{}", filter_table(&text, &pids).map_err(Error::Usage)?);
            Ok(())
        }
        _ => Err(Error::Usage("invalid format option".into())),
    }
}

/// runc prints Go's encoding of its pid slice: `null` when it is empty.
fn pids_json(pids: &[i32]) -> String {
    if pids.is_empty() {
        "null".into()
    } else {
        serde_json::to_string(pids).unwrap_or_default()
    }
}

/// The header of `ps` output plus the lines whose PID column is in `pids`.
fn filter_table(out: &str, pids: &[i32]) -> std::result::Result<String, String> {
    let mut lines = out.lines();
    let header = lines.next().unwrap_or("");
    let col = header
        .split_whitespace()
        .position(|f| f == "PID")
        .ok_or_else(|| "couldn't find PID field in ps output".to_string())?;
    let mut res = format!("{header}\n");
    for line in lines.filter(|l| !l.is_empty()) {
        let field = line.split_whitespace().nth(col).unwrap_or("");
        let pid: i32 = field.parse().map_err(|_| format!("unable to parse pid: `{field}`"))?;
        if pids.contains(&pid) {
            res.push_str(line);
            res.push('\n');
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(argv: &[&str]) -> Args {
        match Cli::try_parse_from(std::iter::once("berth").chain(argv.iter().copied())).unwrap().command {
            Some(Command::Ps(a)) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn options_after_the_id_go_to_ps() {
        let a = parse(&["ps", "-f", "json", "c1"]);
        assert_eq!((a.format.as_str(), a.id(), a.ps_args()), ("json", "c1", vec!["-ef".to_string()]));
        let a = parse(&["ps", "c1", "-o", "pid,stat"]);
        assert_eq!((a.format.as_str(), a.ps_args()), ("table", vec!["-o".to_string(), "pid,stat".into()]));
        let a = parse(&["ps", "--format=table", "c1", "-f", "json"]);
        assert_eq!((a.id(), a.ps_args()), ("c1", vec!["-f".to_string(), "json".into()]));
        assert_eq!(a.format, "table");
        let a = parse(&["ps", "c1", "-ef"]);
        assert_eq!(a.ps_args(), ["-ef"]);
    }

    #[test]
    fn table_keeps_header_and_container_lines() {
        let out = "UID PID PPID CMD\nroot 1 0 init\nroot 42 1 sleep 1\nroot 43 42 sh\n\n";
        assert_eq!(filter_table(out, &[42]).unwrap(), "UID PID PPID CMD\nroot 42 1 sleep 1\n");
        assert_eq!(filter_table("  PID STAT\n 7 S\n", &[7]).unwrap(), "  PID STAT\n 7 S\n");
        assert_eq!(filter_table("STAT\nS\n", &[7]).unwrap_err(), "couldn't find PID field in ps output");
        assert!(filter_table("PID\nx\n", &[7]).is_err());
    }

    #[test]
    fn json_is_runc_encoding() {
        assert_eq!(pids_json(&[19529]), "[19529]");
        assert_eq!(pids_json(&[1, 2]), "[1,2]");
        assert_eq!(pids_json(&[]), "null");
    }
}
