//! OS errors in runc's words: the C library's text for an errno, lower
//! case, without Rust's " (os error N)". A leaf module, so that the
//! subsystem errors the crate error wraps (`criu`, `cgroups::systemd`) can
//! word their causes the same way without importing the crate error.

use std::io;

/// An OS error's text without Rust's " (os error N)" suffix, lower-cased
/// like Go's (runc's) messages: "no such file or directory".
pub fn os_msg(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => errno_text(n),
        None => e.to_string(),
    }
}

/// The C library's text for errno `n`, lower-cased, without Rust's
/// " (os error N)": the words Go's (runc's) messages use, which come from
/// the same table ("numerical result out of range").
pub fn errno_text(n: i32) -> String {
    let text = io::Error::from_raw_os_error(n).to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    text.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_text_is_runcs() {
        assert_eq!(errno_text(libc::ERANGE), "numerical result out of range");
        assert_eq!(errno_text(libc::ENOENT), "no such file or directory");
        assert_eq!(errno_text(libc::EPERM), "operation not permitted");
    }
}
