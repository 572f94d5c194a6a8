//! A serde deserializer over a parsed JSON value that says where an error
//! is: `process.user.uid`, `mounts[2].destination`.
//!
//! serde_path_to_error does the same for any deserializer, by wrapping
//! every visitor serde-derive calls and every map and sequence it is handed;
//! over oci-spec's hundred-odd types, that wrapping made the config's
//! deserialization code about 75 KB bigger in the static berth (pages each
//! `run` maps). Owning the deserializer makes the wrapping unnecessary: the
//! map and sequence accessors below know the key or index of the value they
//! hand out, and the first one that sees an error come back (the innermost)
//! records its path. What values mean is serde_json's: a number goes to the
//! visitor as u64, i64 or f64 as serde_json's own `Value` deserializer sends
//! it, `null` is `None`, an enum is a string or a one-key object, so the
//! messages are serde's own (``invalid type: string "x", expected u32``,
//! ``missing field `destination` ``).

use std::fmt;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde_json::{Map, Value};

/// A failure: serde's message and the path of the value it is about
/// (empty for the document itself).
#[derive(Debug)]
pub struct Error {
    pub path: String,
    pub msg: String,
    /// Whether `path` was set (by the innermost accessor that saw it).
    placed: bool,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error { path: String::new(), msg: msg.to_string(), placed: false }
    }
}

/// Deserialize `T` from `value`; an error carries the path of the field it
/// is about.
pub fn from_value<'de, T: de::Deserialize<'de>>(value: &'de Value) -> Result<T, Error> {
    T::deserialize(De { value, at: &At::Root })
}

/// Where a value is: a chain of keys and indices up to the document, on
/// the stack (nothing is allocated unless an error needs the path).
enum At<'a> {
    Root,
    Key(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Root => Ok(()),
            At::Key(up, key) => {
                up.fmt(f)?;
                if !matches!(up, At::Root) {
                    f.write_str(".")?;
                }
                f.write_str(key)
            }
            At::Index(up, i) => {
                up.fmt(f)?;
                write!(f, "[{i}]")
            }
        }
    }
}

/// Give an error that has no place yet the place `at` (not generic, so
/// that it exists once).
#[inline(never)]
fn place(mut e: Error, at: &At<'_>) -> Error {
    if !e.placed {
        e.path = at.to_string();
        e.placed = true;
    }
    e
}

/// What `v` is, for serde's "invalid type" message.
fn unexpected(v: &Value) -> de::Unexpected<'_> {
    match v {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => de::Unexpected::Unsigned(u),
            (None, Some(i)) => de::Unexpected::Signed(i),
            (None, None) => de::Unexpected::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

/// The "invalid type" error (through `dyn`, so it exists once).
#[inline(never)]
fn invalid_type(v: &Value, expected: &dyn de::Expected) -> Error {
    de::Error::invalid_type(unexpected(v), expected)
}

struct De<'a, 'de> {
    value: &'de Value,
    at: &'a At<'a>,
}

// Each method calls only the visitor methods its type can take, as
// serde_json's own `Value` deserializer does (forwarding everything to
// `deserialize_any` would make every visitor's every method: more code for
// the same result).
impl<'de> De<'_, 'de> {
    fn number<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            other => Err(invalid_type(other, &visitor)),
        }
    }

    fn seq<V: Visitor<'de>>(self, items: &'de [Value], visitor: V) -> Result<V::Value, Error> {
        let mut seq = Seq { items: items.iter(), at: self.at, index: 0 };
        let v = visitor.visit_seq(&mut seq)?;
        if seq.items.len() == 0 {
            Ok(v)
        } else {
            Err(de::Error::invalid_length(items.len(), &"fewer elements in array"))
        }
    }

    fn map<V: Visitor<'de>>(self, map: &'de Map<String, Value>, visitor: V) -> Result<V::Value, Error> {
        let mut access = MapAccess { entries: map.iter(), value: None, at: self.at };
        let v = visitor.visit_map(&mut access)?;
        if access.entries.len() == 0 {
            Ok(v)
        } else {
            Err(de::Error::invalid_length(map.len(), &"fewer elements in map"))
        }
    }
}

macro_rules! numbers {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.number(visitor)
        })*
    };
}

macro_rules! strings {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.value {
                Value::String(s) => visitor.visit_borrowed_str(s),
                other => Err(invalid_type(other, &visitor)),
            }
        })*
    };
}

impl<'de> de::Deserializer<'de> for De<'_, 'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(_) => self.number(visitor),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => self.seq(items, visitor),
            Value::Object(map) => self.map(map, visitor),
        }
    }

    numbers! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
    }

    strings! { deserialize_char deserialize_str deserialize_string deserialize_identifier }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Bool(b) => visitor.visit_bool(*b),
            other => Err(invalid_type(other, &visitor)),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => self.seq(items, visitor),
            other => Err(invalid_type(other, &visitor)),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            other => Err(invalid_type(other, &visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Array(items) => self.seq(items, visitor),
            other => Err(invalid_type(other, &visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Object(map) => self.map(map, visitor),
            other => Err(invalid_type(other, &visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Value::Object(map) => self.map(map, visitor),
            Value::Array(items) => self.seq(items, visitor),
            other => Err(invalid_type(other, &visitor)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Value::Object(map) if map.len() == 1 => visitor.visit_enum(Enum { map, at: self.at }),
            other => Err(invalid_type(other, &"a string or an object with one key")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

struct Seq<'a, 'de> {
    items: std::slice::Iter<'de, Value>,
    at: &'a At<'a>,
    index: usize,
}

impl<'de> de::SeqAccess<'de> for Seq<'_, 'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        let Some(value) = self.items.next() else { return Ok(None) };
        let at = At::Index(self.at, self.index);
        self.index += 1;
        seed.deserialize(De { value, at: &at }).map(Some).map_err(|e| place(e, &at))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapAccess<'a, 'de> {
    entries: serde_json::map::Iter<'de>,
    value: Option<(&'de str, &'de Value)>,
    at: &'a At<'a>,
}

impl<'de> de::MapAccess<'de> for MapAccess<'_, 'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.entries.next() else { return Ok(None) };
        self.value = Some((key, value));
        let at = At::Key(self.at, key);
        seed.deserialize(BorrowedStrDeserializer::new(key)).map(Some).map_err(|e| place(e, &at))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let Some((key, value)) = self.value.take() else {
            return Err(de::Error::custom("a map value asked for before its key"));
        };
        let at = At::Key(self.at, key);
        seed.deserialize(De { value, at: &at }).map_err(|e| place(e, &at))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An enum written as `{"Variant": content}`.
struct Enum<'a, 'de> {
    map: &'de Map<String, Value>,
    at: &'a At<'a>,
}

impl<'a, 'de> de::EnumAccess<'de> for Enum<'a, 'de> {
    type Error = Error;
    type Variant = Variant<'a, 'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Variant<'a, 'de>), Error> {
        let Some((key, value)) = self.map.iter().next() else {
            return Err(de::Error::invalid_length(0, &"an object with one key"));
        };
        let variant = seed.deserialize(BorrowedStrDeserializer::new(key))?;
        Ok((variant, Variant { key, value, at: self.at }))
    }
}

struct Variant<'a, 'de> {
    key: &'de str,
    value: &'de Value,
    at: &'a At<'a>,
}

impl<'de> Variant<'_, 'de> {
    fn content<T>(self, f: impl FnOnce(De<'_, 'de>) -> Result<T, Error>) -> Result<T, Error> {
        let at = At::Key(self.at, self.key);
        f(De { value: self.value, at: &at }).map_err(|e| place(e, &at))
    }
}

impl<'de> de::VariantAccess<'de> for Variant<'_, 'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        self.content(|d| de::Deserialize::deserialize(d))
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        self.content(|d| seed.deserialize(d))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.content(|d| de::Deserializer::deserialize_any(d, visitor))
    }

    fn struct_variant<V: Visitor<'de>>(self, _fields: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        self.content(|d| de::Deserializer::deserialize_any(d, visitor))
    }
}

#[cfg(test)]
mod tests {
    use oci_spec::runtime::Spec;

    use super::*;

    fn err(json: &str) -> (String, String) {
        let v: Value = serde_json::from_str(json).unwrap();
        let e = from_value::<Spec>(&v).unwrap_err();
        (e.path, e.msg)
    }

    #[test]
    fn errors_name_the_field_with_serdes_message() {
        let (path, msg) = err(r#"{"ociVersion":"1.0.2","process":{"cwd":"/","user":{"uid":"x","gid":0}}}"#);
        assert_eq!(path, "process.user.uid");
        assert_eq!(msg, r#"invalid type: string "x", expected u32"#);
        let (path, msg) = err(r#"{"ociVersion":"1.0.2","process":{"cwd":"/","user":{"uid":-1,"gid":0}}}"#);
        assert_eq!(path, "process.user.uid");
        assert_eq!(msg, "invalid value: integer `-1`, expected u32");
        let (path, msg) = err(r#"{"ociVersion":"1.0.2","linux":{"namespaces":[{"type":"pid"},{"type":"bogus"}]}}"#);
        assert_eq!(path, "linux.namespaces[1].type");
        assert!(msg.starts_with("unknown variant `bogus`, expected one of"), "{msg}");
        let (path, msg) = err(r#"{"ociVersion":"1.0.2","mounts":[{"type":"tmpfs"}]}"#);
        assert_eq!(path, "mounts[0]");
        assert_eq!(msg, "missing field `destination`");
        let (path, msg) = err(r#"{"ociVersion":"1.0.2","process":{"cwd":"/","user":{"uid":0,"gid":0},"args":"sh"}}"#);
        assert_eq!(path, "process.args");
        assert_eq!(msg, r#"invalid type: string "sh", expected a sequence"#);
        let (path, msg) = err(r#"{"ociVersion":"1.0.2","annotations":{"a":1}}"#);
        assert_eq!(path, "annotations.a");
        assert_eq!(msg, "invalid type: integer `1`, expected a string");
        let (path, msg) = err(r#"{"ociVersion":"1.0.2","root":{"path":"r","readonly":1.5}}"#);
        assert_eq!(path, "root.readonly");
        assert_eq!(msg, "invalid type: floating point `1.5`, expected a boolean");
        let (path, msg) = err(r#""x""#);
        assert_eq!(path, "");
        assert_eq!(msg, r#"invalid type: string "x", expected struct Spec"#);
    }

    /// A config with every kind of value parses to what serde_json's own
    /// `Value` deserializer makes of it.
    #[test]
    fn same_result_as_serde_json() {
        let json = r#"{
            "ociVersion": "1.2.0",
            "hostname": "h",
            "annotations": {"a": "b"},
            "root": {"path": "rootfs", "readonly": true},
            "mounts": [{"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid"]}],
            "process": {
                "terminal": false, "cwd": "/", "args": ["sh", "-c", "true"], "env": ["A=b"],
                "user": {"uid": 1, "gid": 2, "additionalGids": [3], "umask": 18},
                "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"]},
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
                "noNewPrivileges": true, "oomScoreAdj": -500,
                "scheduler": {"policy": "SCHED_OTHER", "nice": -2},
                "execCPUAffinity": {"initial": "0-1,3", "final": "0"}
            },
            "linux": {
                "namespaces": [{"type": "pid"}, {"type": "mount", "path": "/proc/1/ns/mnt"}],
                "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 65536}],
                "sysctl": {"net.ipv4.ip_forward": "1"},
                "resources": {
                    "memory": {"limit": 67108864, "swap": -1},
                    "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1"},
                    "devices": [{"allow": false, "access": "rwm"}],
                    "unified": {"memory.high": "max"}
                },
                "seccomp": {
                    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
                    "architectures": ["SCMP_ARCH_X86_64"],
                    "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                  "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]
                },
                "maskedPaths": ["/proc/kcore"],
                "rootfsPropagation": "private",
                "cgroupsPath": "/x"
            },
            "hooks": {"prestart": [{"path": "/bin/true", "args": ["true"], "timeout": 5}]},
            "unknown": {"nested": [1, null, 2.5]}
        }"#;
        let v: Value = serde_json::from_str(json).unwrap();
        let ours: Spec = from_value(&v).unwrap();
        let theirs: Spec = serde_json::from_value(v).unwrap();
        assert_eq!(serde_json::to_value(&ours).unwrap(), serde_json::to_value(&theirs).unwrap());
    }

    #[test]
    fn a_bad_exec_cpu_affinity_is_placed() {
        let (path, msg) = err(
            r#"{"ociVersion":"1.0.2","process":{"cwd":"/","user":{"uid":0,"gid":0},"execCPUAffinity":{"initial":"a"}}}"#,
        );
        assert_eq!(path, "process.execCPUAffinity.initial");
        assert!(msg.contains("execCPUAffinity"), "{msg}");
    }
}
