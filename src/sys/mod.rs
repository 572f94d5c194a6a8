//! Thin wrappers around the syscalls that nix does not cover. This is the only
//! module allowed to use `unsafe`; every block carries a SAFETY comment.
pub mod image;
