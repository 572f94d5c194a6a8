//! The `regex` crate's API, served by `regex-lite` (same types and method
//! names: `Regex`, `RegexBuilder`, `Captures`, `Error`, ...), for oci-spec,
//! which only compiles and matches a few fixed ASCII patterns. regex-lite's
//! classes are ASCII-only (`\d` is `[0-9]`), which is what those patterns
//! mean; it trades the full engine's speed for size, and these patterns are
//! matched once per config.

pub use regex_lite::*;
