//! Generates berth's and imgtool's man pages and shell completions from their
//! clap definitions, for `make install` (not an example to learn from: cargo
//! builds examples only on demand, so clap_mangen and clap_complete, which are
//! dev-dependencies, never reach the berth or imgtool binaries).
//!
//! usage: gen-docs OUTDIR
//!
//! Writes OUTDIR/man/man8/berth.8 and berth-VERB.8 (section 8, as runc's
//! pages), OUTDIR/man/man1/imgtool.1 and imgtool-VERB.1, and
//! OUTDIR/completions/{bash/NAME, zsh/_NAME, fish/NAME.fish}.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Command, CommandFactory};
use clap_complete::Shell;
use clap_mangen::Man;

// imgtool's command line lives in its binary; include that file as a module
// to reach its `Cli` (its `main` is then unused here).
#[allow(dead_code)]
#[path = "../src/bin/imgtool.rs"]
mod imgtool;

/// One program to document: its clap command and its man section.
struct Program {
    cmd: Command,
    section: &'static str,
}

fn programs() -> [Program; 2] {
    [Program { cmd: berth::cli::Cli::command(), section: "8" }, Program { cmd: imgtool::Cli::command(), section: "1" }]
}

/// The page of `cmd` and, recursively, of each of its visible subcommands
/// (`berth-exec.8` ...), each naming its own in a SUBCOMMANDS section.
fn write_man_pages(cmd: Command, section: &str, dir: &Path) -> io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
        write_man_pages(sub, section, dir)?;
    }
    let source = format!("{} {}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    Man::new(cmd).section(section).source(source).manual("berth manual").generate_to(dir).map(drop)
}

fn write_completion(cmd: &mut Command, shell: Shell, path: &Path) -> io::Result<()> {
    let name = cmd.get_name().to_owned();
    let mut out = BufWriter::new(File::create(path)?);
    clap_complete::generate(shell, cmd, name, &mut out);
    out.flush()
}

fn generate(out: &Path) -> io::Result<()> {
    for Program { cmd, section } in programs() {
        let name = cmd.get_name().to_owned();
        let mut cmd = cmd.disable_help_subcommand(true);
        cmd.build();

        let man = out.join(format!("man/man{section}"));
        fs::create_dir_all(&man)?;
        write_man_pages(cmd.clone(), section, &man)?;

        let completions: [(Shell, &str, PathBuf); 3] = [
            (Shell::Bash, "bash", PathBuf::from(&name)),
            (Shell::Zsh, "zsh", PathBuf::from(format!("_{name}"))),
            (Shell::Fish, "fish", PathBuf::from(format!("{name}.fish"))),
        ];
        for (shell, dir, file) in completions {
            let dir = out.join("completions").join(dir);
            fs::create_dir_all(&dir)?;
            write_completion(&mut cmd, shell, &dir.join(file))?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(out), None) = (args.next(), args.next()) else {
        eprintln!("usage: gen-docs OUTDIR");
        return ExitCode::from(2);
    };
    match generate(Path::new(&out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-docs: write into `{}`: {e}", Path::new(&out).display());
            ExitCode::FAILURE
        }
    }
}
