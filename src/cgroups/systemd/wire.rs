//! The D-Bus wire format, as much of it as talking to systemd needs: values
//! of the basic and container types (no file descriptors, no doubles) and
//! messages (method calls out; returns, errors and signals in). Pure byte
//! work, unit tested against messages laid out by hand.
//!
//! Layout (D-Bus specification, "Message Format"): a 12-byte fixed header
//! (`l` little-endian, type, flags, version 1, body length, serial), an
//! array of `(byte code, variant)` header fields, padding to 8, the body.
//! Every value is aligned to its own size (strings and arrays to 4,
//! structs and 64-bit values to 8) counting from the start of the message.

use std::fmt;

/// One D-Bus value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Byte(u8),
    Bool(bool),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    Str(String),
    Path(String),
    Signature(String),
    /// `elem` is the element signature (needed for an empty array).
    Array {
        elem: String,
        items: Vec<Value>,
    },
    Struct(Vec<Value>),
    Variant(Box<Value>),
    DictEntry(Box<Value>, Box<Value>),
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    pub fn variant(v: Value) -> Value {
        Value::Variant(Box::new(v))
    }

    pub fn array(elem: &str, items: Vec<Value>) -> Value {
        Value::Array { elem: elem.to_owned(), items }
    }

    /// The value's type signature.
    pub fn signature(&self) -> String {
        match self {
            Value::Byte(_) => "y".into(),
            Value::Bool(_) => "b".into(),
            Value::I32(_) => "i".into(),
            Value::U32(_) => "u".into(),
            Value::I64(_) => "x".into(),
            Value::U64(_) => "t".into(),
            Value::Str(_) => "s".into(),
            Value::Path(_) => "o".into(),
            Value::Signature(_) => "g".into(),
            Value::Array { elem, .. } => format!("a{elem}"),
            Value::Struct(fields) => format!("({})", fields.iter().map(Value::signature).collect::<String>()),
            Value::Variant(_) => "v".into(),
            Value::DictEntry(k, v) => format!("{{{}{}}}", k.signature(), v.signature()),
        }
    }

    /// The string of a `s`, `o` or `g` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Path(s) | Value::Signature(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_u32(&self) -> Option<u32> {
        match self {
            Value::U32(v) => Some(*v),
            _ => None,
        }
    }
}

/// A malformed message or a value the encoder cannot carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T> = std::result::Result<T, WireError>;

fn bad<T>(what: impl Into<String>) -> Result<T> {
    Err(WireError(what.into()))
}

/// Alignment of the first type in signature `sig`.
fn alignment(sig: u8) -> usize {
    match sig {
        b'y' | b'g' | b'v' => 1,
        b'n' | b'q' => 2,
        b'b' | b'i' | b'u' | b's' | b'o' | b'a' | b'h' => 4,
        _ => 8, // x t d ( {
    }
}

/// The length of the first complete type in `sig`.
fn single_type_len(sig: &[u8]) -> Result<usize> {
    match sig.first() {
        None => bad("empty signature"),
        Some(b'a') => Ok(1 + single_type_len(&sig[1..])?),
        Some(&open @ (b'(' | b'{')) => {
            let close = if open == b'(' { b')' } else { b'}' };
            let mut i = 1;
            while sig.get(i) != Some(&close) {
                if i >= sig.len() {
                    return bad(format!("unterminated `{}` in signature", open as char));
                }
                i += single_type_len(&sig[i..])?;
            }
            Ok(i + 1)
        }
        Some(c) if b"ybnqiuxtdsogvh".contains(c) => Ok(1),
        Some(c) => bad(format!("unknown type `{}` in signature", *c as char)),
    }
}

/// Split a signature into its complete types.
fn split_signature(sig: &str) -> Result<Vec<&str>> {
    let mut out = Vec::new();
    let mut rest = sig;
    while !rest.is_empty() {
        let n = single_type_len(rest.as_bytes())?;
        out.push(&rest[..n]);
        rest = &rest[n..];
    }
    Ok(out)
}

/// Writes values little-endian, aligned from the start of the buffer.
#[derive(Default)]
struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    fn pad(&mut self, align: usize) {
        while !self.buf.len().is_multiple_of(align) {
            self.buf.push(0);
        }
    }

    fn u32(&mut self, v: u32) {
        self.pad(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn string(&mut self, s: &str) -> Result<()> {
        let len = u32::try_from(s.len()).map_err(|_| WireError("string too long".into()))?;
        if s.contains('\0') {
            return bad("string contains NUL");
        }
        self.u32(len);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        Ok(())
    }

    fn signature(&mut self, s: &str) -> Result<()> {
        let len = u8::try_from(s.len()).map_err(|_| WireError("signature too long".into()))?;
        self.buf.push(len);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        Ok(())
    }

    fn value(&mut self, v: &Value) -> Result<()> {
        match v {
            Value::Byte(b) => self.buf.push(*b),
            Value::Bool(b) => self.u32(u32::from(*b)),
            Value::I32(i) => {
                self.pad(4);
                self.buf.extend_from_slice(&i.to_le_bytes());
            }
            Value::U32(u) => self.u32(*u),
            Value::I64(i) => {
                self.pad(8);
                self.buf.extend_from_slice(&i.to_le_bytes());
            }
            Value::U64(u) => {
                self.pad(8);
                self.buf.extend_from_slice(&u.to_le_bytes());
            }
            Value::Str(s) | Value::Path(s) => self.string(s)?,
            Value::Signature(s) => self.signature(s)?,
            Value::Array { elem, items } => {
                self.pad(4);
                let len_at = self.buf.len();
                self.buf.extend_from_slice(&[0; 4]);
                self.pad(alignment(*elem.as_bytes().first().unwrap_or(&b'y')));
                let start = self.buf.len();
                for item in items {
                    if item.signature() != *elem {
                        return bad(format!("array of `{elem}` holds a `{}`", item.signature()));
                    }
                    self.value(item)?;
                }
                let len = u32::try_from(self.buf.len() - start).map_err(|_| WireError("array too long".into()))?;
                self.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
            }
            Value::Struct(fields) => {
                self.pad(8);
                for f in fields {
                    self.value(f)?;
                }
            }
            Value::Variant(inner) => {
                self.signature(&inner.signature())?;
                self.value(inner)?;
            }
            Value::DictEntry(k, val) => {
                self.pad(8);
                self.value(k)?;
                self.value(val)?;
            }
        }
        Ok(())
    }
}

/// Reads values from a message, aligned from its start.
struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    big_endian: bool,
    depth: usize,
}

impl<'a> Decoder<'a> {
    fn pad(&mut self, align: usize) -> Result<()> {
        let to = self.pos.div_ceil(align) * align;
        if to > self.buf.len() {
            return bad("message truncated");
        }
        self.pos = to;
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let Some(end) = end else { return bad("message truncated") };
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.pad(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        if self.big_endian {
            a.reverse();
        }
        Ok(a)
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.fixed::<4>()?))
    }

    fn string(&mut self) -> Result<String> {
        let len = self.u32()? as usize;
        let bytes = self.take(len)?;
        if self.take(1)? != [0] {
            return bad("string not NUL-terminated");
        }
        String::from_utf8(bytes.to_vec()).map_err(|_| WireError("string is not UTF-8".into()))
    }

    fn signature(&mut self) -> Result<String> {
        let len = self.take(1)?[0] as usize;
        let bytes = self.take(len)?;
        if self.take(1)? != [0] {
            return bad("signature not NUL-terminated");
        }
        String::from_utf8(bytes.to_vec()).map_err(|_| WireError("signature is not UTF-8".into()))
    }

    /// One value of the single complete type `sig`.
    fn value(&mut self, sig: &str) -> Result<Value> {
        self.depth += 1;
        if self.depth > 64 {
            return bad("values nested too deeply");
        }
        let b = sig.as_bytes();
        let v = match b.first().copied() {
            Some(b'y') => Value::Byte(self.take(1)?[0]),
            Some(b'b') => match self.u32()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                n => return bad(format!("boolean {n}")),
            },
            Some(b'n') | Some(b'q') => Value::U32(u32::from(u16::from_le_bytes(self.fixed::<2>()?))),
            Some(b'i') => Value::I32(i32::from_le_bytes(self.fixed::<4>()?)),
            Some(b'u') | Some(b'h') => Value::U32(self.u32()?),
            Some(b'x') => Value::I64(i64::from_le_bytes(self.fixed::<8>()?)),
            Some(b't') | Some(b'd') => Value::U64(u64::from_le_bytes(self.fixed::<8>()?)),
            Some(b's') => Value::Str(self.string()?),
            Some(b'o') => Value::Path(self.string()?),
            Some(b'g') => Value::Signature(self.signature()?),
            Some(b'v') => {
                let inner = self.signature()?;
                if split_signature(&inner)?.len() != 1 {
                    return bad(format!("variant signature `{inner}` is not one type"));
                }
                Value::variant(self.value(&inner)?)
            }
            Some(b'a') => {
                let elem = &sig[1..];
                let len = self.u32()? as usize;
                self.pad(alignment(elem.as_bytes()[0]))?;
                let end = self.pos.checked_add(len).filter(|&e| e <= self.buf.len());
                let Some(end) = end else { return bad("array runs past the message") };
                let mut items = Vec::new();
                while self.pos < end {
                    items.push(self.value(elem)?);
                }
                if self.pos != end {
                    return bad("array length does not match its elements");
                }
                Value::array(elem, items)
            }
            Some(b'(') => {
                self.pad(8)?;
                let inner = &sig[1..sig.len() - 1];
                let fields = split_signature(inner)?.into_iter().map(|s| self.value(s)).collect::<Result<_>>()?;
                Value::Struct(fields)
            }
            Some(b'{') => {
                self.pad(8)?;
                let inner = split_signature(&sig[1..sig.len() - 1])?;
                if inner.len() != 2 {
                    return bad(format!("dict entry `{sig}` is not a key and a value"));
                }
                let k = self.value(inner[0])?;
                let v = self.value(inner[1])?;
                Value::DictEntry(Box::new(k), Box::new(v))
            }
            _ => return bad(format!("cannot decode type `{sig}`")),
        };
        self.depth -= 1;
        Ok(v)
    }
}

/// Encode `values` as a message body; returns the bytes and the signature.
pub fn encode_body(values: &[Value]) -> Result<(Vec<u8>, String)> {
    let mut e = Encoder::default();
    for v in values {
        e.value(v)?;
    }
    Ok((e.buf, values.iter().map(Value::signature).collect()))
}

/// Message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Call = 1,
    Return = 2,
    Error = 3,
    Signal = 4,
}

/// A message, with the header fields systemd's answers use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub kind: Kind,
    pub serial: u32,
    pub path: Option<String>,
    pub interface: Option<String>,
    pub member: Option<String>,
    pub error_name: Option<String>,
    pub reply_serial: Option<u32>,
    pub destination: Option<String>,
    pub sender: Option<String>,
    pub body: Vec<Value>,
}

impl Message {
    pub fn call(serial: u32, destination: Option<&str>, path: &str, interface: &str, member: &str) -> Message {
        Message {
            kind: Kind::Call,
            serial,
            path: Some(path.to_owned()),
            interface: Some(interface.to_owned()),
            member: Some(member.to_owned()),
            error_name: None,
            reply_serial: None,
            destination: destination.map(str::to_owned),
            sender: None,
            body: Vec::new(),
        }
    }

    /// The whole message as bytes.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let (body, sig) = encode_body(&self.body)?;
        let mut fields = Vec::new();
        let mut field = |code: u8, v: Value| {
            fields.push(Value::Struct(vec![Value::Byte(code), Value::variant(v)]));
        };
        if let Some(p) = &self.path {
            field(1, Value::Path(p.clone()));
        }
        if let Some(i) = &self.interface {
            field(2, Value::str(i.clone()));
        }
        if let Some(m) = &self.member {
            field(3, Value::str(m.clone()));
        }
        if let Some(n) = &self.error_name {
            field(4, Value::str(n.clone()));
        }
        if let Some(r) = self.reply_serial {
            field(5, Value::U32(r));
        }
        if let Some(d) = &self.destination {
            field(6, Value::str(d.clone()));
        }
        if !sig.is_empty() {
            field(8, Value::Signature(sig));
        }
        let mut e = Encoder::default();
        e.buf.extend_from_slice(&[b'l', self.kind as u8, 0, 1]);
        e.u32(u32::try_from(body.len()).map_err(|_| WireError("body too long".into()))?);
        e.u32(self.serial);
        e.value(&Value::array("(yv)", fields))?;
        e.pad(8);
        e.buf.extend_from_slice(&body);
        Ok(e.buf)
    }

    /// How many bytes the message starting with these 16 bytes has in all.
    pub fn total_len(head: &[u8; 16]) -> Result<usize> {
        let big = match head[0] {
            b'l' => false,
            b'B' => true,
            c => return bad(format!("unknown byte order `{}`", c as char)),
        };
        let word = |at: usize| {
            let mut a = [0u8; 4];
            a.copy_from_slice(&head[at..at + 4]);
            if big {
                u32::from_be_bytes(a)
            } else {
                u32::from_le_bytes(a)
            }
        };
        let (body, fields) = (word(4) as usize, word(12) as usize);
        let header = (16 + fields).div_ceil(8) * 8;
        match header.checked_add(body) {
            Some(n) if n <= 128 << 20 => Ok(n),
            _ => bad("message longer than 128 MiB"),
        }
    }

    /// Parse one whole message.
    pub fn decode(buf: &[u8]) -> Result<Message> {
        let head: &[u8; 16] = buf.get(..16).and_then(|h| h.try_into().ok()).ok_or(WireError("short header".into()))?;
        if Message::total_len(head)? != buf.len() {
            return bad("message length does not match its header");
        }
        let mut d = Decoder { buf, pos: 0, big_endian: buf[0] == b'B', depth: 0 };
        d.take(1)?;
        let kind = match d.take(1)?[0] {
            1 => Kind::Call,
            2 => Kind::Return,
            3 => Kind::Error,
            4 => Kind::Signal,
            t => return bad(format!("unknown message type {t}")),
        };
        d.take(2)?;
        let body_len = d.u32()? as usize;
        let serial = d.u32()?;
        let Value::Array { items, .. } = d.value("a(yv)")? else {
            return bad("header fields are not an array");
        };
        let mut m = Message {
            kind,
            serial,
            path: None,
            interface: None,
            member: None,
            error_name: None,
            reply_serial: None,
            destination: None,
            sender: None,
            body: Vec::new(),
        };
        let mut sig = String::new();
        for f in items {
            let Value::Struct(pair) = f else { continue };
            let (Some(Value::Byte(code)), Some(Value::Variant(v))) = (pair.first(), pair.get(1)) else { continue };
            let s = v.as_str().map(str::to_owned);
            match code {
                1 => m.path = s,
                2 => m.interface = s,
                3 => m.member = s,
                4 => m.error_name = s,
                5 => m.reply_serial = v.as_u32(),
                6 => m.destination = s,
                7 => m.sender = s,
                8 => sig = s.unwrap_or_default(),
                _ => {}
            }
        }
        d.pad(8)?;
        if buf.len() - d.pos != body_len {
            return bad("body length does not match its header");
        }
        for t in split_signature(&sig)? {
            m.body.push(d.value(t)?);
        }
        if d.pos != buf.len() {
            return bad("body longer than its signature");
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures() {
        let v = Value::array(
            "(sv)",
            vec![Value::Struct(vec![Value::str("PIDs"), Value::variant(Value::array("u", vec![Value::U32(7)]))])],
        );
        assert_eq!(v.signature(), "a(sv)");
        assert_eq!(split_signature("ssa(sv)a(sa(sv))").unwrap(), vec!["s", "s", "a(sv)", "a(sa(sv))"]);
        assert_eq!(split_signature("a{sv}uo").unwrap(), vec!["a{sv}", "u", "o"]);
        assert!(split_signature("a(s").is_err());
        assert!(split_signature("z").is_err());
    }

    #[test]
    fn body_alignment() {
        // s "ab" then t 1: the u64 is aligned to 8 after 4+2+1 bytes.
        let (b, sig) = encode_body(&[Value::str("ab"), Value::U64(1)]).unwrap();
        assert_eq!(sig, "st");
        assert_eq!(b, [2, 0, 0, 0, b'a', b'b', 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        // An empty array of structs still pads to the element alignment.
        let (b, _) = encode_body(&[Value::Byte(1), Value::array("(ss)", vec![])]).unwrap();
        assert_eq!(b, [1, 0, 0, 0, 0, 0, 0, 0]);
        assert!(encode_body(&[Value::array("u", vec![Value::str("x")])]).is_err());
    }

    /// The bus's Hello call (serial 1), laid out by hand from the specification.
    const HELLO: &[u8] = b"l\x01\x00\x01\x00\x00\x00\x00\x01\x00\x00\x00\x6d\x00\x00\x00\
\x01\x01o\x00\x15\x00\x00\x00/org/freedesktop/DBus\x00\x00\x00\
\x02\x01s\x00\x14\x00\x00\x00org.freedesktop.DBus\x00\x00\x00\x00\
\x03\x01s\x00\x05\x00\x00\x00Hello\x00\x00\x00\
\x06\x01s\x00\x14\x00\x00\x00org.freedesktop.DBus\x00\x00\x00\x00";

    #[test]
    fn encodes_hello() {
        let m =
            Message::call(1, Some("org.freedesktop.DBus"), "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello");
        assert_eq!(m.encode().unwrap(), HELLO);
        assert_eq!(Message::total_len(HELLO[..16].try_into().unwrap()).unwrap(), HELLO.len());
        assert_eq!(Message::decode(HELLO).unwrap(), m);
    }

    #[test]
    fn round_trips_a_transient_unit_call() {
        let mut m = Message::call(
            7,
            Some("org.freedesktop.systemd1"),
            "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager",
            "StartTransientUnit",
        );
        let prop = |n: &str, v: Value| Value::Struct(vec![Value::str(n), Value::variant(v)]);
        m.body = vec![
            Value::str("berth-x.scope"),
            Value::str("replace"),
            Value::array(
                "(sv)",
                vec![
                    prop("Delegate", Value::Bool(true)),
                    prop("PIDs", Value::array("u", vec![Value::U32(42)])),
                    prop("MemoryLimit", Value::U64(u64::MAX)),
                    prop("AllowedCPUs", Value::array("y", vec![Value::Byte(3)])),
                    prop(
                        "DeviceAllow",
                        Value::array("(ss)", vec![Value::Struct(vec![Value::str("/dev/char/1:3"), Value::str("rwm")])]),
                    ),
                ],
            ),
            Value::array("(sa(sv))", vec![]),
        ];
        let bytes = m.encode().unwrap();
        assert_eq!(Message::decode(&bytes).unwrap(), m);
    }

    #[test]
    fn decodes_a_job_removed_signal_and_rejects_garbage() {
        let mut m =
            Message::call(3, None, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "JobRemoved");
        m.kind = Kind::Signal;
        m.sender = None;
        m.body = vec![
            Value::U32(12),
            Value::Path("/org/freedesktop/systemd1/job/12".into()),
            Value::str("berth-x.scope"),
            Value::str("done"),
        ];
        let bytes = m.encode().unwrap();
        let back = Message::decode(&bytes).unwrap();
        assert_eq!(back.kind, Kind::Signal);
        assert_eq!(back.body[3].as_str(), Some("done"));
        for cut in [1, 17, bytes.len() - 1] {
            assert!(Message::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad_len = bytes.clone();
        bad_len[4] = 0xff;
        assert!(Message::decode(&bad_len).is_err());
    }

    #[test]
    fn decodes_big_endian() {
        // A return carrying u 5 from a big-endian peer.
        let mut b = vec![b'B', 2, 0, 1, 0, 0, 0, 4, 0, 0, 0, 9];
        let fields: Vec<u8> = vec![5, 1, b'u', 0, 0, 0, 0, 3, 8, 1, b'g', 0, 1, b'u', 0];
        b.extend_from_slice(&(fields.len() as u32).to_be_bytes());
        b.extend_from_slice(&fields);
        while b.len() % 8 != 0 {
            b.push(0);
        }
        b.extend_from_slice(&5u32.to_be_bytes());
        let m = Message::decode(&b).unwrap();
        assert_eq!((m.kind, m.serial, m.reply_serial), (Kind::Return, 9, Some(3)));
        assert_eq!(m.body, vec![Value::U32(5)]);
    }
}
