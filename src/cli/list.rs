//! `berth list`: every container under the state root.

use super::Globals;
use crate::error::{Error, Result};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format: table or json
    #[arg(short = 'f', long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Only print the ids
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

pub fn run(a: Args, g: &Globals) -> Result<()> {
    let mut rows = Vec::new();
    for id in crate::state::store::list_ids(&g.root)? {
        let dir = g.container(&id)?;
        match dir.load() {
            Ok(s) => {
                let mut st = s.oci(dir.status(&s));
                st.owner = "root".to_string();
                rows.push(st);
            }
            // Between a create's mkdir and its first state write.
            Err(Error::NotExist(_)) if dir.is_being_created() => {}
            // Not hidden: a row with no status would break the table's
            // readers, so the container is named on stderr (and in --log).
            Err(Error::NotExist(_)) => crate::logging::warn(&format!(
                "container {id} has no state.json (left by a killed create?): `delete --force {id}` removes it"
            )),
            Err(e) => crate::logging::warn(&format!(
                "container {id}: {e}: `delete --force {id}` kills its processes and removes it"
            )),
        }
    }
    if a.quiet {
        for r in &rows {
            println!("{}", r.id);
        }
        return Ok(());
    }
    if a.format == "json" {
        println!("{}", serde_json::to_string(&rows).unwrap_or_else(|_| "[]".into()));
        return Ok(());
    }
    let table: Vec<[String; 6]> =
        std::iter::once(["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from))
            .chain(rows.iter().map(|r| {
                [
                    r.id.clone(),
                    r.pid.to_string(),
                    r.status.as_str().to_string(),
                    r.bundle.display().to_string(),
                    r.created.clone(),
                    r.owner.clone(),
                ]
            }))
            .collect();
    let widths: Vec<usize> = (0..6).map(|c| table.iter().map(|r| r[c].len() + 3).max().unwrap_or(0).max(12)).collect();
    for r in &table {
        let line: String = r.iter().zip(&widths).map(|(v, w)| format!("{v:<w$}")).collect();
        println!("{}", line.trim_end());
    }
    Ok(())
}
