//! `linux.netDevices` (config-linux.md "Network Devices"): host network
//! devices moved into the container's network namespace, renamed when the
//! config gives a `name`, with their permanent global addresses kept and
//! their state up, as the spec requires.
//!
//! [`plan`] checks the config alone (device names, two devices asked for
//! under one name, a network namespace of the container's own);
//! [`check_host`] checks it against the host before anything is created
//! (the devices exist here; a namespace the container joins has none of
//! the names yet); [`move_all`] moves them once the container's namespace
//! exists and before its init runs anything.
//!
//! Nothing moves them back when the container goes away: the spec says the
//! runtime "MUST NOT attempt to move the interface out of the namespace
//! before deletion"; when the namespace is freed with the container's last
//! process, the kernel returns physical devices to the host's namespace and
//! destroys virtual ones (network_namespaces(7)). Only a create that fails
//! after moving devices into a namespace it joined (which outlives it)
//! moves them back, so that it leaves nothing behind.

pub mod netlink;

use std::os::fd::{AsFd, BorrowedFd};

use oci_spec::runtime::{Linux, LinuxNamespaceType};

use crate::error::{Context, Error, Result};
use netlink::{Socket, IFA_F_PERMANENT, RT_SCOPE_UNIVERSE};

/// One device to move: its name on the host and in the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub host: String,
    /// The name in the container; a `%d` in it lets the kernel pick the
    /// number (the spec's template for names that may clash).
    pub name: String,
}

/// A device that was moved: its index in the container's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub host: String,
    pub index: i32,
}

fn field(host: &str) -> String {
    format!("linux.netDevices.{host}")
}

/// A valid interface name (the kernel's dev_valid_name): 1 to 15 bytes,
/// not `.` or `..`, without `/`, `:` or white space; a `%` only as one
/// `%d` template.
fn check_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name.len() > 15 {
        return Err(format!("`{name}` is not 1 to 15 bytes long"));
    }
    if name == "." || name == ".." || name.contains(['/', ':', '\0']) || name.chars().any(char::is_whitespace) {
        return Err(format!("`{name}` is not a valid interface name"));
    }
    if name.contains('%') && (name.matches('%').count() != 1 || !name.contains("%d")) {
        return Err(format!("`{name}`: a template has exactly one `%d`"));
    }
    Ok(())
}

/// The devices to move, from the config alone: every check that needs no
/// host (sorted by host name, so errors and moves come in a stable order).
pub fn plan(linux: Option<&Linux>, ns: &crate::namespaces::Plan) -> Result<Vec<Move>> {
    let Some(devs) = linux.and_then(|l| l.net_devices().as_ref()).filter(|d| !d.is_empty()) else {
        return Ok(Vec::new());
    };
    if !ns.creates(LinuxNamespaceType::Network) && ns.joins(LinuxNamespaceType::Network).is_none() {
        return Err(Error::config(
            "linux.netDevices",
            "needs a network namespace of the container's own (a `network` entry in linux.namespaces)",
        ));
    }
    let mut moves: Vec<Move> = devs
        .iter()
        .map(|(host, d)| Move {
            host: host.clone(),
            name: d.name().clone().filter(|n| !n.is_empty()).unwrap_or_else(|| host.clone()),
        })
        .collect();
    moves.sort_by(|a, b| a.host.cmp(&b.host));
    for m in &moves {
        check_name(&m.host).map_err(|e| Error::config(field(&m.host), e))?;
        check_name(&m.name).map_err(|e| Error::config(format!("{}.name", field(&m.host)), e))?;
        if m.host == "lo" {
            return Err(Error::config(field(&m.host), "the loopback device cannot leave its namespace"));
        }
        if m.name.contains('%') {
            continue;
        }
        if let Some(other) = moves.iter().find(|o| o.host != m.host && o.name == m.name) {
            return Err(Error::config(
                format!("{}.name", field(&m.host)),
                format!("`{}` is also the name asked for `{}`", m.name, other.host),
            ));
        }
        if m.name == "lo" && ns.creates(LinuxNamespaceType::Network) {
            return Err(Error::config(
                format!("{}.name", field(&m.host)),
                "a new network namespace already has a device named `lo`",
            ));
        }
    }
    Ok(moves)
}

/// Check the moves against the host before anything is created: moving
/// host devices needs root, every device must exist in berth's namespace,
/// and a namespace the container joins must not have a device of the
/// name asked for.
pub fn check_host(moves: &[Move], ns: &crate::namespaces::Plan) -> Result<()> {
    if moves.is_empty() {
        return Ok(());
    }
    if !nix::unistd::geteuid().is_root() {
        return Err(Error::config("linux.netDevices", "moving host network devices needs root"));
    }
    let mut host = Socket::open().ctx(|| "open a netlink socket".to_string())?;
    let links = host.links().ctx(|| "list the host's network devices".to_string())?;
    for m in moves {
        if !links.iter().any(|l| l.name == m.host) {
            return Err(Error::config(field(&m.host), format!("no network device `{}` on the host", m.host)));
        }
    }
    if let Some(path) = ns.joins(LinuxNamespaceType::Network) {
        let target = open_netns(path)?;
        let mut inside = Socket::open_in(target.as_fd())
            .ctx(|| format!("open a netlink socket in network namespace `{}`", path.display()))?;
        let there = inside.links().ctx(|| format!("list the devices of network namespace `{}`", path.display()))?;
        for m in moves.iter().filter(|m| !m.name.contains('%')) {
            if there.iter().any(|l| l.name == m.name) {
                return Err(clash(m));
            }
        }
    }
    Ok(())
}

fn clash(m: &Move) -> Error {
    Error::config(
        format!("{}.name", field(&m.host)),
        format!("a device named `{}` already exists in the container's network namespace", m.name),
    )
}

/// Open a network namespace file.
pub fn open_netns(path: &std::path::Path) -> Result<std::os::fd::OwnedFd> {
    nix::fcntl::open(path, nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
        .ctx(|| format!("open network namespace `{}`", path.display()))
}

/// Move every device into the namespace `target`, appending each one to
/// `moved` as it goes (so a caller can undo a partial move).
pub fn move_all(moves: &[Move], target: BorrowedFd<'_>, moved: &mut Vec<Moved>) -> Result<()> {
    if moves.is_empty() {
        return Ok(());
    }
    let mut host = Socket::open().ctx(|| "open a netlink socket".to_string())?;
    let mut inside =
        Socket::open_in(target).ctx(|| "open a netlink socket in the container's network namespace".to_string())?;
    for m in moves {
        let index = move_one(&mut host, &mut inside, m, target)?;
        moved.push(Moved { host: m.host.clone(), index });
    }
    Ok(())
}

/// Move one device, give it back its permanent global addresses (a move
/// drops every address), and bring it up. Returns its index there.
fn move_one(host: &mut Socket, inside: &mut Socket, m: &Move, target: BorrowedFd<'_>) -> Result<i32> {
    let what = || format!("move network device `{}` into the container's network namespace", m.host);
    let link = host
        .link(&m.host)
        .ctx(what)?
        .ok_or_else(|| Error::config(field(&m.host), format!("no network device `{}` on the host", m.host)))?;
    let addresses: Vec<_> = host
        .addresses(link.index)
        .ctx(|| format!("list the addresses of `{}`", m.host))?
        .into_iter()
        .filter(|a| a.flags & IFA_F_PERMANENT != 0 && a.scope == RT_SCOPE_UNIVERSE)
        .collect();
    let before = inside.links().ctx(what)?;
    if !m.name.contains('%') && before.iter().any(|l| l.name == m.name) {
        return Err(clash(m));
    }
    let rename = (m.name != m.host).then_some(m.name.as_str());
    host.move_link(link.index, target, rename).map_err(|e| match e.raw_os_error() {
        Some(libc::EEXIST) => clash(m),
        _ => Error::Io { what: what(), source: e },
    })?;
    // The device is the one link that was not there before (its index may
    // change, and a `%d` name is the kernel's choice).
    let now = inside.links().ctx(what)?;
    let dev = now
        .into_iter()
        .find(|l| !before.iter().any(|b| b.index == l.index))
        .ok_or_else(|| Error::Init(format!("network device `{}` did not arrive in the container", m.host)))?;
    for a in &addresses {
        inside.add_address(dev.index, a).ctx(|| format!("give `{}` back its address in the container", dev.name))?;
    }
    inside.set_up(dev.index).ctx(|| format!("bring network device `{}` up in the container", dev.name))?;
    Ok(dev.index)
}

/// Move devices back to berth's own namespace under their host names
/// (a failed create that joined an existing namespace). Best effort: it
/// goes on past a device it cannot move, and reports the first error.
pub fn move_back(moved: &[Moved], target: BorrowedFd<'_>) -> Result<()> {
    if moved.is_empty() {
        return Ok(());
    }
    let own = open_netns(std::path::Path::new("/proc/thread-self/ns/net"))?;
    let mut inside =
        Socket::open_in(target).ctx(|| "open a netlink socket in the container's network namespace".to_string())?;
    let mut first = Ok(());
    for m in moved {
        let r = inside
            .move_link(m.index, own.as_fd(), Some(&m.host))
            .ctx(|| format!("move network device `{}` back to the host", m.host));
        if first.is_ok() {
            first = r;
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moves(linux: &str, namespaces: &str) -> Result<Vec<Move>> {
        let l: Linux = serde_json::from_str(&format!(r#"{{"namespaces":{namespaces},"netDevices":{linux}}}"#)).unwrap();
        let ns = crate::namespaces::plan(Some(&l))?;
        plan(Some(&l), &ns)
    }

    const NEW: &str = r#"[{"type":"network"}]"#;

    #[test]
    fn moves_are_planned_in_order_with_their_names() {
        let m =
            moves(r#"{"veth1":{"name":"eth0"},"eth9":{},"dummy0":{"name":""}, "v2":{"name":"net%d"}}"#, NEW).unwrap();
        let pairs: Vec<(&str, &str)> = m.iter().map(|m| (m.host.as_str(), m.name.as_str())).collect();
        assert_eq!(pairs, [("dummy0", "dummy0"), ("eth9", "eth9"), ("v2", "net%d"), ("veth1", "eth0")]);
        assert_eq!(moves("{}", "[]").unwrap(), []);
        // a namespace joined by path will do
        moves(r#"{"veth1":{}}"#, r#"[{"type":"network","path":"/run/netns/x"}]"#).unwrap();
    }

    #[test]
    fn what_cannot_work_is_refused() {
        let cases = [
            (r#"{"veth1":{}}"#, "[]", "network namespace of the container's own"),
            (r#"{"a":{"name":"x"},"b":{"name":"x"}}"#, NEW, "also the name asked for"),
            (r#"{"veth1":{"name":"lo"}}"#, NEW, "already has a device named `lo`"),
            (r#"{"lo":{}}"#, NEW, "loopback"),
            (r#"{"veth1":{"name":"a/b"}}"#, NEW, "not a valid interface name"),
            (r#"{"veth1":{"name":"a b"}}"#, NEW, "not a valid interface name"),
            (r#"{"veth1":{"name":"0123456789abcdef"}}"#, NEW, "1 to 15 bytes"),
            (r#"{"veth1":{"name":"x%s"}}"#, NEW, "exactly one `%d`"),
            (r#"{"veth1":{"name":"x%d%d"}}"#, NEW, "exactly one `%d`"),
            (r#"{"..":{}}"#, NEW, "not a valid interface name"),
        ];
        for (devs, ns, want) in cases {
            let e = moves(devs, ns).unwrap_err().to_string();
            assert!(e.contains("linux.netDevices") && e.contains(want), "{devs}: {e}");
        }
        // templates may repeat: the kernel numbers them
        moves(r#"{"a":{"name":"eth%d"},"b":{"name":"eth%d"}}"#, NEW).unwrap();
    }
}
