//! The runc-compatible command line: global flags, then one verb. Each verb
//! lives in its own file with its flags and a `run` function. Parsing is
//! clap's; meaning (defaults, checks) is here.

mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
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
#[command(
    name = "berth",
    about = "berth: an OCI container runtime with runc's command line",
    disable_version_flag = true
)]
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
    /// Path to criu (accepted for compatibility; checkpoint is not supported)
    #[arg(long, hide = true)]
    pub criu: Option<String>,
    /// Print the version
    #[arg(short = 'v', long = "version")]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
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
}

/// Settings every verb shares.
pub struct Globals {
    pub root: PathBuf,
    /// No privileges over the host (see `crate::rootless`).
    pub rootless: bool,
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

/// Run the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    if cli.version {
        print!("{}", version_text());
        return Ok(());
    }
    let rootless = crate::rootless::decide(cli.rootless.as_deref())?;
    let root = cli.root.clone().unwrap_or_else(crate::rootless::default_root);
    let g = Globals { root, rootless, systemd_cgroup: cli.systemd_cgroup };
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
        ];
        for s in shapes {
            let argv = std::iter::once("berth").chain(s.iter().copied());
            Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{s:?}: {e}"));
        }
    }
}
