//! `linux.seccomp` -> BPF (placeholder: filled in by the seccomp work).
