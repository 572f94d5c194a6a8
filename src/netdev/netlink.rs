//! Just enough rtnetlink (rtnetlink(7)) to move a network device into
//! another network namespace: list links and addresses, change a link's
//! namespace and name (RTM_NEWLINK with IFLA_NET_NS_FD and IFLA_IFNAME),
//! bring it up, add an address. Messages are built and parsed here as
//! bytes; the socket is nix's, so there is no `unsafe` in this file.
//!
//! A netlink socket talks to the network namespace it was created in:
//! [`Socket::open_in`] makes one inside another namespace.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::sched::CloneFlags;
use nix::sys::socket::{self, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType};

// linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_DUMP: u16 = 0x300;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const IFA_FLAGS: u16 = 8;
pub const IFA_F_PERMANENT: u32 = 0x80;
pub const RT_SCOPE_UNIVERSE: u8 = 0;
const IFF_UP: u32 = 0x1;

const HEADER: usize = 16;

/// A network device: its index and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: i32,
    pub name: String,
}

/// One address of a device, as RTM_GETADDR reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub family: u8,
    pub prefix_len: u8,
    pub scope: u8,
    /// IFA_F_* (the 32-bit IFA_FLAGS attribute when present).
    pub flags: u32,
    pub address: Option<Vec<u8>>,
    pub local: Option<Vec<u8>>,
    pub broadcast: Option<Vec<u8>>,
}

/// An rtnetlink socket of one network namespace.
pub struct Socket {
    fd: OwnedFd,
    seq: u32,
}

impl Socket {
    /// A socket in the caller's network namespace.
    pub fn open() -> io::Result<Socket> {
        let fd =
            socket::socket(AddressFamily::Netlink, SockType::Raw, SockFlag::SOCK_CLOEXEC, SockProtocol::NetlinkRoute)?;
        socket::bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))?;
        Ok(Socket { fd, seq: 0 })
    }

    /// A socket in the network namespace `netns`: the caller enters it,
    /// opens the socket, and returns to its own namespace (an error if it
    /// cannot: berth must not go on in the container's namespace).
    pub fn open_in(netns: BorrowedFd<'_>) -> io::Result<Socket> {
        let own = nix::fcntl::open(
            "/proc/thread-self/ns/net",
            nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )?;
        nix::sched::setns(netns, CloneFlags::CLONE_NEWNET)?;
        let sock = Socket::open();
        nix::sched::setns(own.as_fd(), CloneFlags::CLONE_NEWNET)?;
        sock
    }

    /// Every link of the namespace.
    pub fn links(&mut self) -> io::Result<Vec<Link>> {
        let replies = self.dump(RTM_GETLINK, &ifinfomsg(0, 0, 0))?;
        Ok(replies.iter().filter_map(|m| parse_link(m)).collect())
    }

    /// The link named `name`, if there is one.
    pub fn link(&mut self, name: &str) -> io::Result<Option<Link>> {
        Ok(self.links()?.into_iter().find(|l| l.name == name))
    }

    /// The addresses of link `index`.
    pub fn addresses(&mut self, index: i32) -> io::Result<Vec<Address>> {
        let replies = self.dump(RTM_GETADDR, &ifaddrmsg(0, 0, 0, 0, 0))?;
        Ok(replies.iter().filter_map(|m| parse_address(m, index)).collect())
    }

    /// Move link `index` into the namespace `netns`, named `name` there
    /// (`None`: keep its name).
    pub fn move_link(&mut self, index: i32, netns: BorrowedFd<'_>, name: Option<&str>) -> io::Result<()> {
        self.request(RTM_NEWLINK, 0, &move_message_body(index, netns.as_raw_fd() as u32, name))
    }

    /// Set IFF_UP on link `index`.
    pub fn set_up(&mut self, index: i32) -> io::Result<()> {
        self.request(RTM_NEWLINK, 0, &ifinfomsg(index, IFF_UP, IFF_UP))
    }

    /// Add `a` to link `index`.
    pub fn add_address(&mut self, index: i32, a: &Address) -> io::Result<()> {
        let mut body = ifaddrmsg(a.family, a.prefix_len, a.flags as u8, a.scope, index as u32);
        for (kind, value) in [(IFA_LOCAL, &a.local), (IFA_ADDRESS, &a.address), (IFA_BROADCAST, &a.broadcast)] {
            if let Some(v) = value {
                push_attr(&mut body, kind, v);
            }
        }
        push_attr(&mut body, IFA_FLAGS, &a.flags.to_ne_bytes());
        self.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &body)
    }

    /// Send one request and wait for its acknowledgement.
    fn request(&mut self, kind: u16, flags: u16, body: &[u8]) -> io::Result<()> {
        let seq = self.send(kind, NLM_F_REQUEST | NLM_F_ACK | flags, body)?;
        loop {
            for (k, s, payload) in self.receive()? {
                if s != seq {
                    continue;
                }
                if k == NLMSG_ERROR {
                    return ack_result(&payload);
                }
            }
        }
    }

    /// Send a dump request and collect the payloads of its replies.
    fn dump(&mut self, kind: u16, body: &[u8]) -> io::Result<Vec<Vec<u8>>> {
        let seq = self.send(kind, NLM_F_REQUEST | NLM_F_DUMP, body)?;
        let mut out = Vec::new();
        loop {
            for (k, s, payload) in self.receive()? {
                if s != seq {
                    continue;
                }
                match k {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => ack_result(&payload)?,
                    _ => out.push(payload),
                }
            }
        }
    }

    fn send(&mut self, kind: u16, flags: u16, body: &[u8]) -> io::Result<u32> {
        self.seq += 1;
        let msg = message(kind, flags, self.seq, body);
        let sent = socket::send(self.fd.as_raw_fd(), &msg, MsgFlags::empty())?;
        if sent != msg.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short netlink send"));
        }
        Ok(self.seq)
    }

    fn receive(&mut self) -> io::Result<Vec<(u16, u32, Vec<u8>)>> {
        let mut buf = vec![0u8; 64 * 1024];
        let n = loop {
            match socket::recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => break r?,
            }
        };
        split_messages(&buf[..n])
    }
}

/// A netlink message: header, then `body`.
fn message(kind: u16, flags: u16, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(HEADER + body.len());
    m.extend_from_slice(&((HEADER + body.len()) as u32).to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(body);
    m
}

/// struct ifinfomsg (AF_UNSPEC).
fn ifinfomsg(index: i32, flags: u32, change: u32) -> Vec<u8> {
    let mut b = vec![0u8, 0u8, 0, 0];
    b.extend_from_slice(&index.to_ne_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    b.extend_from_slice(&change.to_ne_bytes());
    b
}

/// struct ifaddrmsg.
fn ifaddrmsg(family: u8, prefix_len: u8, flags: u8, scope: u8, index: u32) -> Vec<u8> {
    let mut b = vec![family, prefix_len, flags, scope];
    b.extend_from_slice(&index.to_ne_bytes());
    b
}

/// Append an rtattr, padded to 4 bytes.
fn push_attr(b: &mut Vec<u8>, kind: u16, value: &[u8]) {
    b.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
    b.extend_from_slice(&kind.to_ne_bytes());
    b.extend_from_slice(value);
    b.resize(b.len().next_multiple_of(4), 0);
}

/// The body of the RTM_NEWLINK that moves link `index` to the namespace
/// behind descriptor `netns_fd`, renaming it to `name`.
fn move_message_body(index: i32, netns_fd: u32, name: Option<&str>) -> Vec<u8> {
    let mut body = ifinfomsg(index, 0, 0);
    push_attr(&mut body, IFLA_NET_NS_FD, &netns_fd.to_ne_bytes());
    if let Some(n) = name {
        let mut z = n.as_bytes().to_vec();
        z.push(0);
        push_attr(&mut body, IFLA_IFNAME, &z);
    }
    body
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Split a datagram into (type, seq, payload) messages.
fn split_messages(mut b: &[u8]) -> io::Result<Vec<(u16, u32, Vec<u8>)>> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed netlink message");
    let mut out = Vec::new();
    while b.len() >= HEADER {
        let len = u32_at(b, 0).ok_or_else(bad)? as usize;
        if len < HEADER || len > b.len() {
            return Err(bad());
        }
        let (kind, seq) = (u16_at(b, 4).ok_or_else(bad)?, u32_at(b, 8).ok_or_else(bad)?);
        out.push((kind, seq, b[HEADER..len].to_vec()));
        b = &b[len.next_multiple_of(4).min(b.len())..];
    }
    Ok(out)
}

/// The attributes after a fixed header of `skip` bytes: (type, value).
fn attributes(b: &[u8], skip: usize) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut at = skip;
    while let (Some(len), Some(kind)) = (u16_at(b, at), u16_at(b, at + 2)) {
        let len = len as usize;
        if len < 4 || at + len > b.len() {
            break;
        }
        out.push((kind & 0x3fff, &b[at + 4..at + len]));
        at += len.next_multiple_of(4);
    }
    out
}

/// An NLMSG_ERROR payload: errno 0 is the acknowledgement.
fn ack_result(payload: &[u8]) -> io::Result<()> {
    let code = payload.get(..4).and_then(|b| b.try_into().ok()).map(i32::from_ne_bytes).unwrap_or(-libc::EIO);
    if code == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(-code))
    }
}

fn parse_link(payload: &[u8]) -> Option<Link> {
    let index = i32::from_ne_bytes(payload.get(4..8)?.try_into().ok()?);
    let name = attributes(payload, 16).into_iter().find(|a| a.0 == IFLA_IFNAME)?.1;
    let name = String::from_utf8_lossy(name.split(|&c| c == 0).next()?).into_owned();
    Some(Link { index, name })
}

fn parse_address(payload: &[u8], index: i32) -> Option<Address> {
    let head = payload.get(..8)?;
    if u32_at(head, 4)? as i32 != index {
        return None;
    }
    let mut a = Address {
        family: head[0],
        prefix_len: head[1],
        flags: u32::from(head[2]),
        scope: head[3],
        address: None,
        local: None,
        broadcast: None,
    };
    for (kind, v) in attributes(payload, 8) {
        match kind {
            IFA_ADDRESS => a.address = Some(v.to_vec()),
            IFA_LOCAL => a.local = Some(v.to_vec()),
            IFA_BROADCAST => a.broadcast = Some(v.to_vec()),
            IFA_FLAGS => a.flags = u32_at(v, 0).unwrap_or(a.flags),
            _ => {}
        }
    }
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_move_request_is_rtnetlinks() {
        let body = move_message_body(7, 5, Some("eth1"));
        // ifinfomsg: family 0, pad, type 0, index 7, flags 0, change 0
        assert_eq!(&body[..16], &[0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        // IFLA_NET_NS_FD (28), 8 bytes, the descriptor
        assert_eq!(&body[16..24], &[8, 0, 28, 0, 5, 0, 0, 0]);
        // IFLA_IFNAME (3), "eth1\0", padded to 12 bytes
        assert_eq!(&body[24..], &[9, 0, 3, 0, b'e', b't', b'h', b'1', 0, 0, 0, 0]);
        let m = message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 3, &body);
        assert_eq!(u32_at(&m, 0), Some(m.len() as u32));
        assert_eq!((u16_at(&m, 4), u16_at(&m, 6), u32_at(&m, 8)), (Some(16), Some(5), Some(3)));
        assert_eq!(move_message_body(7, 5, None).len(), 24);
    }

    #[test]
    fn replies_are_parsed() {
        let mut link = ifinfomsg(4, 1, 0);
        push_attr(&mut link, IFLA_IFNAME, b"veth0\0");
        let mut addr = ifaddrmsg(2, 24, 0x80, 0, 4);
        push_attr(&mut addr, IFA_ADDRESS, &[10, 0, 0, 1]);
        push_attr(&mut addr, IFA_LOCAL, &[10, 0, 0, 1]);
        push_attr(&mut addr, IFA_FLAGS, &0x280u32.to_ne_bytes());
        let mut err = (-libc::EEXIST).to_ne_bytes().to_vec();
        err.extend_from_slice(&[0; 16]);
        let datagram = [message(16, 2, 9, &link), message(20, 2, 9, &addr), message(NLMSG_ERROR, 0, 9, &err)].concat();
        let msgs = split_messages(&datagram).unwrap();
        assert_eq!(msgs.len(), 3);
        assert_eq!(parse_link(&msgs[0].2), Some(Link { index: 4, name: "veth0".into() }));
        let a = parse_address(&msgs[1].2, 4).unwrap();
        assert_eq!((a.family, a.prefix_len, a.scope, a.flags), (2, 24, 0, 0x280));
        assert_eq!(a.local.as_deref(), Some(&[10, 0, 0, 1][..]));
        assert_eq!(parse_address(&msgs[1].2, 5), None);
        assert_eq!(ack_result(&msgs[2].2).unwrap_err().raw_os_error(), Some(libc::EEXIST));
        assert!(ack_result(&[0, 0, 0, 0]).is_ok());
        assert!(split_messages(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }

    /// The kernel answers our dump: every namespace has `lo`.
    #[test]
    fn lists_the_links_of_this_namespace() {
        let mut s = Socket::open().unwrap();
        let lo = s.link("lo").unwrap().expect("lo");
        assert!(lo.index > 0);
        assert!(s.link("no-such-dev0").unwrap().is_none());
        let addrs = s.addresses(lo.index).unwrap();
        assert!(addrs.iter().all(|a| a.family == libc::AF_INET as u8 || a.family == libc::AF_INET6 as u8));
    }
}
