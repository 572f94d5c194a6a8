//! runc's command line is parsed by urfave/cli on Go's `flag` package, which
//! is more liberal than clap: a long flag may be written with one dash
//! (`-debug`, `-no-subreaper` as containerd's shim passes it), a boolean
//! flag may be given a value (`--keep=false`), and a flag given twice takes
//! its last value (`--root a --root b`). Engines and scripts rely on all
//! three. [`normalize`] rewrites such an argv into clap's spelling before
//! clap sees it (the repeats are clap's `args_override_self`); it is pure,
//! driven by the clap definitions themselves, so a new flag needs nothing
//! here.
//!
//! Rewriting stops at the first positional argument of the verb: what
//! follows (exec's command, kill's signal) is never touched.

use std::ffi::{OsStr, OsString};

use clap::{Arg, Command};

/// How an option spelled `name` (without dashes) is defined in `cmd`.
fn long_arg<'a>(cmd: &'a Command, name: &str) -> Option<&'a Arg> {
    cmd.get_arguments().find(|a| a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|v| v.contains(&name)))
}

fn short_arg(cmd: &Command, c: char) -> Option<&Arg> {
    cmd.get_arguments().find(|a| a.get_short() == Some(c))
}

fn takes_value(a: &Arg) -> bool {
    a.get_action().takes_values() && a.get_num_args().is_none_or(|n| n.min_values() > 0)
}

/// Rewrite `args` (with the program name first) for `root`.
pub fn normalize(args: Vec<OsString>, root: &Command) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.into_iter();
    out.extend(it.next());
    // The verb's own definition, built (its flags are defined only when it
    // is built: `Command::defer`), once the verb is known.
    let mut verb: Option<Command> = None;
    let mut flags = true;
    while let Some(arg) = it.next() {
        let cmd = verb.as_ref().unwrap_or(root);
        let Some(s) = arg.to_str().map(str::to_owned) else {
            out.push(arg);
            continue;
        };
        if !flags || s == "--" || s == "-" {
            if s == "--" {
                flags = false;
            }
            out.push(arg);
            continue;
        }
        if let Some(body) = s.strip_prefix("--").or_else(|| {
            // `-name`: a long flag with one dash, if `name` is one (a
            // cluster of short flags such as `-it` is left alone).
            s.strip_prefix('-')
                .filter(|b| b.chars().count() > 1 && long_arg(cmd, b.split('=').next().unwrap_or(b)).is_some())
        }) {
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            match long_arg(cmd, name) {
                Some(a) if !takes_value(a) && a.get_action().takes_values() => {
                    // optional value (`--rootless`, `--rootless=false`)
                    out.push(format!("--{body}").into());
                }
                Some(a) if !takes_value(a) => match value {
                    Some("false") => {}
                    Some("true") | None => out.push(format!("--{name}").into()),
                    Some(_) => out.push(format!("--{body}").into()),
                },
                Some(_) => {
                    out.push(format!("--{body}").into());
                    if value.is_none() {
                        out.extend(it.next());
                    }
                }
                None => out.push(arg),
            }
            continue;
        }
        if let Some(shorts) = s.strip_prefix('-') {
            // `-b DIR` (a short flag whose value is the next argument).
            let mut chars = shorts.chars();
            let last_takes_value = shorts.chars().count() >= 1
                && chars.next_back().and_then(|c| short_arg(cmd, c)).is_some_and(takes_value);
            out.push(arg);
            if last_takes_value {
                out.extend(it.next());
            }
            continue;
        }
        // A positional: the verb, or the verb's first argument.
        if verb.is_none() {
            if let Some(sub) = root.find_subcommand(OsStr::new(&s)) {
                let mut sub = sub.clone();
                sub.build();
                verb = Some(sub);
                out.push(arg);
                continue;
            }
        }
        flags = false;
        out.push(arg);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn norm(args: &[&str]) -> Vec<String> {
        let args = std::iter::once("berth").chain(args.iter().copied()).map(OsString::from).collect();
        normalize(args, &super::super::Cli::command()).into_iter().skip(1).map(|s| s.into_string().unwrap()).collect()
    }

    #[test]
    fn single_dash_long_flags_become_double_dash() {
        assert_eq!(norm(&["-debug", "list"]), ["--debug", "list"]);
        assert_eq!(norm(&["-root", "/r", "state", "x"]), ["--root", "/r", "state", "x"]);
        assert_eq!(norm(&["-log-format=json", "state", "x"]), ["--log-format=json", "state", "x"]);
        // containerd's shim: `-no-subreaper` after the verb
        assert_eq!(norm(&["run", "-no-subreaper", "-d", "x"]), ["run", "--no-subreaper", "-d", "x"]);
        // short clusters stay
        assert_eq!(norm(&["exec", "-it", "x", "sh"]), ["exec", "-it", "x", "sh"]);
    }

    #[test]
    fn boolean_flags_take_true_and_false() {
        assert_eq!(norm(&["run", "--keep=false", "x"]), ["run", "x"]);
        assert_eq!(norm(&["run", "--keep=true", "x"]), ["run", "--keep", "x"]);
        assert_eq!(norm(&["--rootless=false", "list"]), ["--rootless=false", "list"]);
    }

    #[test]
    fn values_and_the_command_after_the_id_are_untouched() {
        assert_eq!(norm(&["--root", "-debug", "list"]), ["--root", "-debug", "list"]);
        assert_eq!(
            norm(&["exec", "-e", "A=1", "x", "ls", "-debug", "--keep=false"]),
            ["exec", "-e", "A=1", "x", "ls", "-debug", "--keep=false"]
        );
        assert_eq!(norm(&["kill", "x", "-9"]), ["kill", "x", "-9"]);
        assert_eq!(norm(&["run", "-b", "-d", "x"]), ["run", "-b", "-d", "x"]);
    }
}
