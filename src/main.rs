//! The `berth` binary: parse the command line, set up logging, run the verb,
//! and report an error exactly once (one log line, one stderr line).

use clap::FromArgMatches;

use berth::cli::{self, Cli, Command};
use berth::logging::{self, Format};
use berth::Error;

fn main() {
    berth::process::raise_own_nofile();
    let mut def = cli::command();
    let args = cli::argv::normalize(std::env::args_os().collect(), &def);
    let parsed = def.try_get_matches_from_mut(&args).and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let code = cli::usage_exit_code(e.kind());
            if code != 0 {
                // Like every error, a usage error reaches --log too.
                let (log, json) = cli::raw_log_flags(&args, &def);
                logging::init(log.as_deref(), if json { Format::Json } else { Format::Text }, false);
                if logging::has_file() {
                    let text = e.render().to_string();
                    let first = text.lines().next().unwrap_or_default();
                    logging::error(first.strip_prefix("error: ").unwrap_or(first));
                }
            }
            let _ = e.print();
            std::process::exit(code);
        }
    };
    // The clap definitions of every verb (about 0.15 MB of heap) are done
    // with: freed before the verb runs, their memory serves its allocations
    // instead of growing the heap (run's peak RSS).
    drop(def);
    drop(args);
    let format = if cli.log_format == "json" { Format::Json } else { Format::Text };
    logging::init(cli.log.as_deref(), format, cli.debug);
    // runc: a failed exec exits 255, so that it is told apart from the
    // exit status of the program it ran.
    let failure = if matches!(cli.command, Some(Command::Exec(_))) { 255 } else { 1 };
    match cli::run(cli) {
        Ok(()) => {}
        Err(Error::Exit(code)) => std::process::exit(code),
        Err(e) => {
            let msg = berth::error::report(&e);
            logging::error(&msg);
            if logging::has_file() {
                eprintln!("berth: {msg}");
            }
            std::process::exit(failure);
        }
    }
}
