//! The bundle's `config.json`: loading, validation, the table of what berth
//! does with each field, and the default template that `berth spec` writes
//! (and `imgtool` builds on).

mod de;
pub mod fields;
pub mod load;
#[cfg(test)]
mod probe;
pub mod template;
pub mod validate;
