//! The `berth` binary: parse the command line, set up logging, run the verb,
//! and report an error exactly once (one log line, one stderr line).

use clap::Parser;

use berth::cli::{self, Cli};
use berth::logging::{self, Format};
use berth::Error;

fn main() {
    let cli = Cli::parse_from(cli::go_style_flags(std::env::args_os()));
    let format = if cli.log_format == "json" { Format::Json } else { Format::Text };
    logging::init(cli.log.as_deref(), format, cli.debug);
    match cli::run(cli) {
        Ok(()) => {}
        Err(Error::Exit(code)) => std::process::exit(code),
        Err(e) => {
            let msg = e.to_string();
            logging::error(&msg);
            if logging::has_file() {
                eprintln!("berth: {msg}");
            }
            std::process::exit(1);
        }
    }
}
