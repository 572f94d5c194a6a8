//! The runc-compatible command line: global flags, then one verb. Each verb
//! lives in its own file with its flags and a `run` function. Parsing is
//! clap's; meaning (defaults, checks) is here.

pub mod argv;
mod checkpoint;
mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod restore;
mod resume;
mod run;
mod spec;
mod start;
mod state;
mod update;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::error::{Error, Result};
use crate::state::store::ContainerDir;

#[derive(Debug, Parser)]
#[command(name = "berth", about = "An OCI container runtime with runc's command line", disable_version_flag = true)]
pub struct Cli {
    /// Root directory for container state
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Write log lines to FILE (default: stderr)
    #[arg(long, value_name = "FILE")]
    pub log: Option<String>,
    /// Log format: text or json
    #[arg(long = "log-format", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// Enable debug logging
    #[arg(long)]
    pub debug: bool,
    /// Make the container's cgroup a systemd transient unit (cgroupsPath `slice:prefix:name`)
    #[arg(long = "systemd-cgroup")]
    pub systemd_cgroup: bool,
    /// Rootless mode: true, false or auto (auto: when not root, or in a user namespace)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub rootless: Option<String>,
    /// Path to the criu binary for checkpoint and restore (default: criu in PATH)
    #[arg(long, value_name = "PATH")]
    pub criu: Option<String>,
    /// Print the version
    #[arg(short = 'v', long = "version")]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Each verb's flags are defined when that verb is parsed (or documented),
/// not all seventeen verbs' at every start: about 0.15 MB of heap and the
/// time to build them, for nothing but the one verb given.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Create a container (it waits for `start`)
    Create(create::Args),
    /// Start a created container
    Start(start::Args),
    /// Create and start a container
    Run(run::Args),
    /// Output the state of a container
    State(state::Args),
    /// Send a signal to a container's init (or every process with --all)
    Kill(kill::Args),
    /// Delete a container and everything it holds
    Delete(delete::Args),
    /// Run a new process inside a running container
    Exec(Box<exec::Args>),
    /// List containers
    List(list::Args),
    /// Suspend every process of a container
    Pause(pause::Args),
    /// Resume a paused container
    Resume(resume::Args),
    /// Show the processes running in a container
    Ps(ps::Args),
    /// Change a container's resource limits
    Update(Box<update::Args>),
    /// Show a container's events (OOM kills) and resource statistics
    Events(events::Args),
    /// Write a new config.json
    Spec(spec::Args),
    /// Show what this runtime supports (runtime-spec features document)
    Features(features::Args),
    /// Checkpoint a running container with CRIU
    Checkpoint(Box<checkpoint::Args>),
    /// Restore a container from a checkpoint
    Restore(Box<restore::Args>),
}

/// Settings every verb shares.
pub struct Globals {
    pub root: PathBuf,
    /// No privileges over the host (see `crate::rootless`).
    pub rootless: bool,
    /// `--criu`: the CRIU binary for checkpoint and restore.
    pub criu: Option<String>,
    /// New containers get a systemd unit for a cgroup (`crate::cgroups::systemd`);
    /// existing ones keep the driver they were made with.
    pub systemd_cgroup: bool,
}

impl Globals {
    pub fn container(&self, id: &str) -> Result<ContainerDir> {
        ContainerDir::new(&self.root, id)
    }
}

pub fn version_text() -> String {
    format!(
        "berth version {}\nspec: {}\nseccomp: built in (no libseccomp)\n",
        env!("CARGO_PKG_VERSION"),
        crate::state::OCI_VERSION
    )
}

/// The clap definition berth parses with: runc's liberal spellings
/// (see [`argv`]) and a flag given twice taking its last value.
pub fn command() -> clap::Command {
    let mut cmd = <Cli as clap::CommandFactory>::command().args_override_self(true);
    let names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
    for n in names {
        cmd = cmd.mut_subcommand(n, |s| s.args_override_self(true));
    }
    cmd
}

/// What a command line that clap refused should do, as runc does: help and
/// version print and succeed, an unknown verb exits 3 (urfave/cli's "No
/// help topic"), any other usage error exits 1.
pub fn usage_exit_code(kind: clap::error::ErrorKind) -> i32 {
    use clap::error::ErrorKind as K;
    match kind {
        K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand => 0,
        K::InvalidSubcommand => 3,
        _ => 1,
    }
}

/// `--log` and `--log-format` as given before the verb, for reporting a
/// command line clap could not parse (`def` says which flags take values).
pub fn raw_log_flags(args: &[std::ffi::OsString], def: &clap::Command) -> (Option<String>, bool) {
    let mut log = None;
    let mut json = false;
    let mut it = args.iter().skip(1).filter_map(|a| a.to_str());
    while let Some(a) = it.next() {
        let Some(flag) = a.strip_prefix("--") else { break };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        let takes_value = def
            .get_arguments()
            .find(|x| x.get_long() == Some(name))
            .is_some_and(|x| x.get_action().takes_values() && x.get_num_args().is_none_or(|n| n.min_values() > 0));
        let value = if takes_value && inline.is_none() { it.next().map(str::to_string) } else { inline };
        match name {
            "log" => log = value,
            "log-format" => json = value.as_deref() == Some("json"),
            _ => {}
        }
    }
    (log, json)
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    if cli.version {
        print!("{}", version_text());
        return Ok(());
    }
    let rootless = crate::rootless::decide(cli.rootless.as_deref())?;
    let root = cli.root.clone().unwrap_or_else(crate::rootless::default_root);
    let g = Globals { root, rootless, criu: cli.criu.clone(), systemd_cgroup: cli.systemd_cgroup };
    let Some(cmd) = cli.command else {
        return Err(Error::Usage("no command given (try --help)".into()));
    };
    match cmd {
        Command::Create(a) => create::run(a, &g),
        Command::Start(a) => start::run(a, &g),
        Command::Run(a) => run::run(a, &g),
        Command::State(a) => state::run(a, &g),
        Command::Kill(a) => kill::run(a, &g),
        Command::Delete(a) => delete::run(a, &g),
        Command::Exec(a) => exec::run(*a, &g),
        Command::List(a) => list::run(a, &g),
        Command::Pause(a) => pause::run(a, &g),
        Command::Resume(a) => resume::run(a, &g),
        Command::Ps(a) => ps::run(a, &g),
        Command::Update(a) => update::run(*a, &g),
        Command::Events(a) => events::run(a, &g),
        Command::Spec(a) => spec::run(a),
        Command::Features(a) => features::run(a),
        Command::Checkpoint(a) => checkpoint::run(*a, &g),
        Command::Restore(a) => restore::run(*a, &g),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn engine_call_shapes_parse() {
        let shapes: &[&[&str]] = &[
            &[
                "--log-format=json",
                "--log",
                "/l",
                "create",
                "--bundle",
                "/b",
                "--pid-file",
                "/p",
                "--console-socket",
                "/s",
                "id",
            ],
            &[
                "--root",
                "/r",
                "--log",
                "/l",
                "--log-format",
                "json",
                "create",
                "--bundle",
                "/b",
                "--pid-file",
                "/p",
                "--no-pivot",
                "id",
            ],
            &["kill", "id", "15"],
            &["kill", "--all", "id", "9"],
            &["delete", "--force", "id"],
            &["run", "-d", "-b", "/b", "id"],
            &["list", "-f", "json", "-q"],
            &["--systemd-cgroup", "state", "id"],
            &["--rootless", "false", "state", "id"],
            &[
                "--log-format=json",
                "--log",
                "/l",
                "exec",
                "--pid-file",
                "/p",
                "--process",
                "/f",
                "--detach",
                "--tty",
                "--console-socket",
                "/s",
                "id",
            ],
            &["exec", "-t", "id", "sh", "-c", "ls -l"],
            &["pause", "id"],
            &["resume", "id"],
            &["update", "--resources=/var/tmp/podman123", "id"],
            &["update", "--resources", "-", "id"],
            &["ps", "--format", "json", "id"],
            &["events", "--stats", "id"],
            &["events", "--interval", "1s", "id"],
            &[
                "--criu",
                "/usr/sbin/criu",
                "checkpoint",
                "--image-path",
                "/u/checkpoint",
                "--work-path",
                "/u",
                "--leave-running",
                "--tcp-established",
                "--file-locks",
                "--empty-ns",
                "network",
                "id",
            ],
            // podman 4.3 repeats --leave-running; Go's flags take the last
            &["checkpoint", "--leave-running", "--leave-running", "id"],
            &["checkpoint", "--lazy-pages", "--status-fd", "5", "--page-server", "127.0.0.1:27277", "id"],
            &[
                "restore",
                "-d",
                "--image-path",
                "/u/checkpoint",
                "--work-path",
                "/u",
                "--pid-file",
                "/p",
                "--bundle",
                "/b",
                "--no-subreaper",
                "--no-pivot",
                "--console-socket",
                "/s",
                "id",
            ],
        ];
        for s in shapes {
            let argv = std::iter::once("berth").chain(s.iter().copied());
            command().try_get_matches_from(argv).unwrap_or_else(|e| panic!("{s:?}: {e}"));
        }
    }

    #[test]
    fn containerd_restore_with_one_dash() {
        let argv = ["berth", "restore", "--detach", "--pid-file", "/p", "-no-subreaper", "--bundle", "/b", "id"];
        let fixed = argv::normalize(argv.iter().map(std::ffi::OsString::from).collect(), &command());
        assert!(command().try_get_matches_from(fixed).is_ok());
        let exec = ["berth", "exec", "id", "prog", "-no-subreaper"];
        assert_eq!(
            argv::normalize(exec.iter().map(std::ffi::OsString::from).collect(), &command())[4],
            "-no-subreaper"
        );
    }
}
