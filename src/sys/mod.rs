//! Thin wrappers around the syscalls that nix does not cover (or covers in a
//! shape that does not fit). This is the only module allowed to use `unsafe`;
//! every block carries a SAFETY comment. Nothing here knows about OCI.

pub mod bpf;
pub mod exe;
pub mod fs;
pub mod image;
pub mod net;
pub mod numa;
pub mod process;
pub mod seccomp;
