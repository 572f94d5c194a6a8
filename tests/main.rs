//! Unprivileged black-box tests of the `berth` and `imgtool` binaries.
// The image builders the library's unit tests use (src/image/testutil.rs),
// the one copy for both.
#[path = "../src/image/testutil.rs"]
#[allow(dead_code, clippy::unwrap_used)]
mod image_support;
mod imgtool;
mod runtime_cli;
