//! cgroup v1 and v2 (placeholder API until the cgroups work lands).
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
#[error("cgroups: {0}")]
pub struct Error(pub String);
pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cgroup {}

impl Cgroup {
    pub fn resolve(_p: Option<&str>, _id: &str) -> Result<Cgroup> { Ok(Cgroup {}) }
    pub fn create(&self) -> Result<()> { Ok(()) }
    pub fn apply(&self, _r: &oci_spec::runtime::LinuxResources) -> Result<Vec<String>> { Ok(vec![]) }
    pub fn add_pid(&self, _pid: i32) -> Result<()> { Ok(()) }
    pub fn open_dir_fd(&self) -> Result<Option<std::os::fd::OwnedFd>> { Ok(None) }
    pub fn pids(&self) -> Result<Vec<i32>> { Ok(vec![]) }
    pub fn is_frozen(&self) -> Result<bool> { Ok(false) }
    pub fn freeze(&self) -> Result<()> { Ok(()) }
    pub fn thaw(&self) -> Result<()> { Ok(()) }
    pub fn kill_all(&self, _s: nix::sys::signal::Signal) -> Result<()> { Ok(()) }
    pub fn destroy(&self) -> Result<()> { Ok(()) }
}
