//! Unprivileged black-box tests of the `berth` and `imgtool` binaries.
mod imgtool;
mod runtime_cli;
