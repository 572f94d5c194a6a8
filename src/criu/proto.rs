//! The part of CRIU's RPC protocol (`images/rpc.proto`, protobuf 2) that
//! berth speaks, encoded and decoded by hand: a request is one
//! `criu_req` (type, `criu_opts`, notify acknowledgement, features), an
//! answer one `criu_resp`. Field numbers are rpc.proto's. Only what berth
//! sets is encoded; unknown fields of an answer are skipped, as protobuf
//! requires. (Why not a protobuf crate: see `super`'s module docs.)

/// `criu_req_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReqType {
    Dump = 1,
    Restore = 2,
    PreDump = 4,
    Notify = 6,
    FeatureCheck = 9,
    Version = 10,
}

impl ReqType {
    fn from_wire(v: u64) -> Option<ReqType> {
        Some(match v {
            1 => ReqType::Dump,
            2 => ReqType::Restore,
            4 => ReqType::PreDump,
            6 => ReqType::Notify,
            9 => ReqType::FeatureCheck,
            10 => ReqType::Version,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ReqType::Dump => "dump",
            ReqType::Restore => "restore",
            ReqType::PreDump => "pre-dump",
            ReqType::Notify => "notify",
            ReqType::FeatureCheck => "feature check",
            ReqType::Version => "version",
        }
    }
}

/// `criu_cg_mode`: how CRIU treats cgroups it finds or creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgMode {
    Soft = 3,
    Full = 4,
    Strict = 5,
}

/// `criu_network_lock_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkLock {
    Iptables = 1,
    Nftables = 2,
}

/// `criu_opts`: the options of a dump or restore.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Opts {
    pub images_dir_fd: i32,
    pub pid: Option<i32>,
    pub leave_running: bool,
    pub ext_unix_sk: bool,
    pub tcp_established: bool,
    pub evasive_devices: bool,
    pub shell_job: bool,
    pub file_locks: bool,
    pub log_level: Option<i32>,
    pub log_file: Option<String>,
    /// `criu_page_server_info`: address and port.
    pub page_server: Option<(String, i32)>,
    pub notify_scripts: bool,
    pub root: Option<String>,
    pub parent_img: Option<String>,
    pub track_mem: bool,
    pub auto_dedup: bool,
    pub work_dir_fd: Option<i32>,
    /// `ext_mount_map`: (key, val).
    pub ext_mnt: Vec<(String, String)>,
    pub manage_cgroups: bool,
    /// `cgroup_root`: (controller, path); no controller: every one.
    pub cg_root: Vec<(Option<String>, String)>,
    pub rst_sibling: bool,
    /// `inherit_fd`: (key, fd in the CRIU process).
    pub inherit_fd: Vec<(String, i32)>,
    pub manage_cgroups_mode: Option<CgMode>,
    pub external: Vec<String>,
    pub empty_ns: Option<u32>,
    /// `join_namespace`: (ns, ns_file).
    pub join_ns: Vec<(String, String)>,
    pub freeze_cgroup: Option<String>,
    pub lazy_pages: bool,
    pub status_fd: Option<i32>,
    pub orphan_pts_master: bool,
    pub config_file: Option<String>,
    pub lsm_profile: Option<String>,
    pub lsm_mount_context: Option<String>,
    pub network_lock: Option<NetworkLock>,
}

/// `criu_features`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features {
    pub mem_track: Option<bool>,
    pub lazy_pages: Option<bool>,
}

/// `criu_req`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub kind: ReqType,
    pub opts: Option<Opts>,
    pub notify_success: Option<bool>,
    pub features: Option<Features>,
}

impl Request {
    pub fn new(kind: ReqType, opts: Option<Opts>) -> Request {
        Request { kind, opts, notify_success: None, features: None }
    }

    /// The answer to a notification: go on (or abort).
    pub fn notify_ack(success: bool) -> Request {
        Request { kind: ReqType::Notify, opts: None, notify_success: Some(success), features: None }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.varint(1, self.kind as u64);
        if let Some(o) = &self.opts {
            w.message(2, &encode_opts(o));
        }
        if let Some(s) = self.notify_success {
            w.bool(3, s);
        }
        if let Some(f) = &self.features {
            w.message(5, &encode_features(f));
        }
        w.buf
    }
}

/// `criu_version`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Version {
    pub major: i32,
    pub minor: i32,
    pub sublevel: i32,
    pub gitid: Option<String>,
}

/// `criu_notify`: a stage CRIU reached (`setup-namespaces`, `post-restore` ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notify {
    pub script: String,
    pub pid: i32,
}

/// `criu_resp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub kind: ReqType,
    pub success: bool,
    /// `criu_restore_resp.pid`: the restored root task.
    pub restored_pid: Option<i32>,
    pub notify: Option<Notify>,
    pub cr_errno: Option<i32>,
    pub features: Option<Features>,
    pub cr_errmsg: Option<String>,
    pub version: Option<Version>,
}

impl Response {
    pub fn decode(data: &[u8]) -> Result<Response, String> {
        let mut kind = None;
        let mut r = Response {
            kind: ReqType::Notify,
            success: false,
            restored_pid: None,
            notify: None,
            cr_errno: None,
            features: None,
            cr_errmsg: None,
            version: None,
        };
        for field in Reader(data) {
            match field? {
                (1, Value::Varint(v)) => {
                    kind = Some(ReqType::from_wire(v).ok_or_else(|| format!("unknown response type {v}"))?)
                }
                (2, Value::Varint(v)) => r.success = v != 0,
                (4, Value::Bytes(b)) => r.restored_pid = decode_restore(b)?,
                (5, Value::Bytes(b)) => r.notify = Some(decode_notify(b)?),
                (7, Value::Varint(v)) => r.cr_errno = Some(v as i32),
                (8, Value::Bytes(b)) => r.features = Some(decode_features(b)?),
                (9, Value::Bytes(b)) => r.cr_errmsg = Some(String::from_utf8_lossy(b).into_owned()),
                (10, Value::Bytes(b)) => r.version = Some(decode_version(b)?),
                _ => {}
            }
        }
        r.kind = kind.ok_or("response without a type")?;
        Ok(r)
    }
}

fn encode_opts(o: &Opts) -> Vec<u8> {
    let mut w = Writer::default();
    w.int32(1, o.images_dir_fd);
    w.opt_int32(2, o.pid);
    w.flag(3, o.leave_running);
    w.flag(4, o.ext_unix_sk);
    w.flag(5, o.tcp_established);
    w.flag(6, o.evasive_devices);
    w.flag(7, o.shell_job);
    w.flag(8, o.file_locks);
    w.opt_int32(9, o.log_level);
    w.opt_string(10, o.log_file.as_deref());
    if let Some((addr, port)) = &o.page_server {
        let mut ps = Writer::default();
        ps.string(1, addr);
        ps.int32(2, *port);
        w.message(11, &ps.buf);
    }
    w.flag(12, o.notify_scripts);
    w.opt_string(13, o.root.as_deref());
    w.opt_string(14, o.parent_img.as_deref());
    w.flag(15, o.track_mem);
    w.flag(16, o.auto_dedup);
    w.opt_int32(17, o.work_dir_fd);
    for (k, v) in &o.ext_mnt {
        w.message(23, &pair(k, v));
    }
    w.flag(24, o.manage_cgroups);
    for (ctrl, path) in &o.cg_root {
        let mut m = Writer::default();
        if let Some(c) = ctrl {
            m.string(1, c);
        }
        m.string(2, path);
        w.message(25, &m.buf);
    }
    w.flag(26, o.rst_sibling);
    for (key, fd) in &o.inherit_fd {
        let mut m = Writer::default();
        m.string(1, key);
        m.int32(2, *fd);
        w.message(27, &m.buf);
    }
    if let Some(mode) = o.manage_cgroups_mode {
        w.varint(34, mode as u64);
    }
    for e in &o.external {
        w.string(37, e);
    }
    if let Some(mask) = o.empty_ns {
        w.varint(38, u64::from(mask));
    }
    for (ns, file) in &o.join_ns {
        w.message(39, &pair(ns, file));
    }
    w.opt_string(44, o.freeze_cgroup.as_deref());
    w.flag(48, o.lazy_pages);
    w.opt_int32(49, o.status_fd);
    w.flag(50, o.orphan_pts_master);
    w.opt_string(51, o.config_file.as_deref());
    w.opt_string(53, o.lsm_profile.as_deref());
    w.opt_string(63, o.lsm_mount_context.as_deref());
    if let Some(lock) = o.network_lock {
        w.varint(64, lock as u64);
    }
    w.buf
}

fn encode_features(f: &Features) -> Vec<u8> {
    let mut w = Writer::default();
    if let Some(b) = f.mem_track {
        w.bool(1, b);
    }
    if let Some(b) = f.lazy_pages {
        w.bool(2, b);
    }
    w.buf
}

/// A message of two strings, fields 1 and 2 (`ext_mount_map`, `join_namespace`).
fn pair(a: &str, b: &str) -> Vec<u8> {
    let mut w = Writer::default();
    w.string(1, a);
    w.string(2, b);
    w.buf
}

fn decode_restore(b: &[u8]) -> Result<Option<i32>, String> {
    let mut pid = None;
    for field in Reader(b) {
        if let (1, Value::Varint(v)) = field? {
            pid = Some(v as i32);
        }
    }
    Ok(pid)
}

fn decode_notify(b: &[u8]) -> Result<Notify, String> {
    let mut n = Notify::default();
    for field in Reader(b) {
        match field? {
            (1, Value::Bytes(s)) => n.script = String::from_utf8_lossy(s).into_owned(),
            (2, Value::Varint(v)) => n.pid = v as i32,
            _ => {}
        }
    }
    Ok(n)
}

fn decode_features(b: &[u8]) -> Result<Features, String> {
    let mut f = Features::default();
    for field in Reader(b) {
        match field? {
            (1, Value::Varint(v)) => f.mem_track = Some(v != 0),
            (2, Value::Varint(v)) => f.lazy_pages = Some(v != 0),
            _ => {}
        }
    }
    Ok(f)
}

fn decode_version(b: &[u8]) -> Result<Version, String> {
    let mut v = Version::default();
    for field in Reader(b) {
        match field? {
            (1, Value::Varint(x)) => v.major = x as i32,
            (2, Value::Varint(x)) => v.minor = x as i32,
            (3, Value::Bytes(s)) => v.gitid = Some(String::from_utf8_lossy(s).into_owned()),
            (4, Value::Varint(x)) => v.sublevel = x as i32,
            _ => {}
        }
    }
    Ok(v)
}

/// Protobuf wire encoding: each field is a key (number << 3 | wire type)
/// and a varint (type 0) or a length-prefixed byte string (type 2).
#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn raw_varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    fn varint(&mut self, field: u32, v: u64) {
        self.raw_varint(u64::from(field) << 3);
        self.raw_varint(v);
    }

    /// int32 is a varint of the value sign-extended to 64 bits (-1 takes ten bytes).
    fn int32(&mut self, field: u32, v: i32) {
        self.varint(field, i64::from(v) as u64);
    }

    fn opt_int32(&mut self, field: u32, v: Option<i32>) {
        if let Some(v) = v {
            self.int32(field, v);
        }
    }

    fn bool(&mut self, field: u32, v: bool) {
        self.varint(field, u64::from(v));
    }

    /// An optional bool that defaults to false: only `true` is written.
    fn flag(&mut self, field: u32, v: bool) {
        if v {
            self.bool(field, true);
        }
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.raw_varint((u64::from(field) << 3) | 2);
        self.raw_varint(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    fn string(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }

    fn opt_string(&mut self, field: u32, s: Option<&str>) {
        if let Some(s) = s {
            self.string(field, s);
        }
    }

    fn message(&mut self, field: u32, encoded: &[u8]) {
        self.bytes(field, encoded);
    }
}

enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    /// Fixed 32/64-bit fields: none in the answers berth reads, skipped.
    Fixed,
}

/// Iterates over the (field number, value) pairs of an encoded message.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for (i, b) in self.0.iter().enumerate().take(10) {
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                self.0 = &self.0[i + 1..];
                return Ok(v);
            }
        }
        Err("truncated or overlong varint".into())
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], String> {
        let data: &'a [u8] = self.0;
        let n = usize::try_from(n).map_err(|_| "field too long")?;
        if n > data.len() {
            return Err(format!("field of {n} bytes in {} remaining", data.len()));
        }
        let (head, rest) = data.split_at(n);
        self.0 = rest;
        Ok(head)
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<(u32, Value<'a>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let item = (|| {
            let key = self.varint()?;
            let field = u32::try_from(key >> 3).map_err(|_| "field number out of range")?;
            let value = match key & 7 {
                0 => Value::Varint(self.varint()?),
                1 => {
                    self.take(8)?;
                    Value::Fixed
                }
                2 => {
                    let n = self.varint()?;
                    Value::Bytes(self.take(n)?)
                }
                5 => {
                    self.take(4)?;
                    Value::Fixed
                }
                t => return Err(format!("unsupported wire type {t}")),
            };
            Ok((field, value))
        })();
        if item.is_err() {
            // Stop after a malformed field: the rest cannot be framed.
            self.0 = &[];
        }
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_request_is_two_bytes() {
        // criu_req { type: VERSION }
        assert_eq!(Request::new(ReqType::Version, None).encode(), [0x08, 0x0a]);
    }

    #[test]
    fn notify_ack() {
        // type NOTIFY (6), notify_success (3) true
        assert_eq!(Request::notify_ack(true).encode(), [0x08, 0x06, 0x18, 0x01]);
    }

    #[test]
    fn opts_fields_and_negative_int32() {
        let o = Opts {
            images_dir_fd: -1,
            pid: Some(300),
            leave_running: true,
            log_file: Some("dump.log".into()),
            ext_mnt: vec![("/a".into(), "/b".into())],
            ..Default::default()
        };
        let got = encode_opts(&o);
        let mut want = vec![0x08];
        want.extend([0xff; 9]);
        want.push(0x01); // -1 as ten-byte varint
        want.extend([0x10, 0xac, 0x02]); // pid 300
        want.extend([0x18, 0x01]); // leave_running
        want.extend([0x52, 8]);
        want.extend(b"dump.log");
        want.extend([0xba, 0x01, 8, 0x0a, 2]); // field 23, len 8: key "/a"
        want.extend(b"/a");
        want.extend([0x12, 2]);
        want.extend(b"/b");
        assert_eq!(got, want);
    }

    #[test]
    fn high_field_numbers() {
        let o = Opts { network_lock: Some(NetworkLock::Nftables), orphan_pts_master: true, ..Default::default() };
        let got = encode_opts(&o);
        // images_dir_fd 0, then field 50 (key 400 = 0x90 0x03), field 64 (key 512 = 0x80 0x04)
        assert_eq!(got, [0x08, 0x00, 0x90, 0x03, 0x01, 0x80, 0x04, 0x02]);
    }

    #[test]
    fn decode_version_answer() {
        // criu_resp { type VERSION, success, version { major 4, minor 2, sublevel 1, name "X" } }
        let data = [0x08, 0x0a, 0x10, 0x01, 0x52, 0x09, 0x08, 0x04, 0x10, 0x02, 0x20, 0x01, 0x32, 0x01, b'X'];
        let r = Response::decode(&data).unwrap();
        assert_eq!(r.kind, ReqType::Version);
        assert!(r.success);
        assert_eq!(r.version, Some(Version { major: 4, minor: 2, sublevel: 1, gitid: None }));
    }

    #[test]
    fn decode_notify_and_skip_unknown() {
        // type NOTIFY, success, notify { script "post-restore", pid 42 }, unknown fixed32 field 15
        let mut data = vec![0x08, 0x06, 0x10, 0x01, 0x2a, 16, 0x0a, 12];
        data.extend(b"post-restore");
        data.extend([0x10, 42]);
        data.extend([0x7d, 1, 2, 3, 4]);
        let r = Response::decode(&data).unwrap();
        assert_eq!(r.notify, Some(Notify { script: "post-restore".into(), pid: 42 }));
    }

    #[test]
    fn decode_failure_with_errno_and_message() {
        let mut data = vec![0x08, 0x01, 0x10, 0x00, 0x38, 0x0b, 0x4a, 3];
        data.extend(b"bad");
        let r = Response::decode(&data).unwrap();
        assert_eq!(r.kind, ReqType::Dump);
        assert!(!r.success);
        assert_eq!(r.cr_errno, Some(11));
        assert_eq!(r.cr_errmsg.as_deref(), Some("bad"));
    }

    #[test]
    fn decode_rejects_truncation() {
        assert!(Response::decode(&[0x08]).is_err());
        assert!(Response::decode(&[0x08, 0x02, 0x22, 0x05, 0x08]).is_err());
        assert!(Response::decode(&[0x10, 0x01]).is_err(), "no type");
    }
}
