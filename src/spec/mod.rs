//! The bundle's `config.json`: loading, validation, and the default template
//! that `berth spec` writes (and `imgtool` builds on).

pub mod load;
pub mod template;
pub mod validate;
