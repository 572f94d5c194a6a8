//! The container's root filesystem: planning (pure) and applying (in the
//! init, inside its new mount namespace).

pub mod dev;
pub mod finish;
pub mod idmap;
pub mod mounts;
pub mod options;
pub mod paths;
pub mod plan;
