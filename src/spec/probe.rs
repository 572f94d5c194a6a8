//! Test-only: every JSON path a serde type can deserialize, found by
//! feeding it a deserializer that answers each question serde-derive asks
//! (a struct's field list, an enum's variants, a map's value type) and
//! records where it was asked. Nothing but serde's own description of the
//! type is used, so a field added to oci-spec shows up here unbidden.

use std::cell::RefCell;
use std::collections::BTreeSet;

use serde::de::value::{Error, StrDeserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

/// The leaf paths (dots between keys, `[]` for array elements, `*` for
/// map keys) of `T`, e.g. `process.args[]`, `linux.sysctl.*`.
pub fn leaf_paths<T: de::DeserializeOwned>() -> BTreeSet<String> {
    let out = RefCell::new(Nodes::default());
    T::deserialize(Probe { path: String::new(), out: &out }).expect("probe the type");
    let n = out.into_inner();
    n.all.iter().filter(|p| !n.all.iter().any(|q| is_below(q, p))).cloned().collect()
}

/// Every node path (leaves and the objects above them).
pub fn node_paths<T: de::DeserializeOwned>() -> BTreeSet<String> {
    let out = RefCell::new(Nodes::default());
    T::deserialize(Probe { path: String::new(), out: &out }).expect("probe the type");
    out.into_inner().all
}

fn is_below(q: &str, p: &str) -> bool {
    q.len() > p.len() && q.starts_with(p) && (q[p.len()..].starts_with('.') || q[p.len()..].starts_with("[]"))
}

#[derive(Default)]
struct Nodes {
    all: BTreeSet<String>,
}

struct Probe<'a> {
    path: String,
    out: &'a RefCell<Nodes>,
}

impl<'a> Probe<'a> {
    fn child(&self, key: &str) -> Probe<'a> {
        let path = match (key, self.path.is_empty()) {
            ("[]", _) => format!("{}[]", self.path),
            (k, true) => k.to_string(),
            (k, false) => format!("{}.{k}", self.path),
        };
        self.out.borrow_mut().all.insert(path.clone());
        Probe { path, out: self.out }
    }
    /// A string the field accepts: CPU lists are validated by oci-spec,
    /// capability names by their own parser.
    fn text(&self) -> &'static str {
        if self.path.ends_with("initial") || self.path.ends_with("final") {
            "0"
        } else {
            "CAP_KILL"
        }
    }
}

macro_rules! numbers {
    ($($m:ident $v:ident $t:ty),*) => {$(
        fn $m<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> { v.$v(<$t>::default()) }
    )*};
}

impl<'de> de::Deserializer<'de> for Probe<'_> {
    type Error = Error;

    /// A self-describing value (`serde_json::Value`): a leaf.
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_unit()
    }
    numbers!(deserialize_bool visit_bool bool, deserialize_i8 visit_i8 i8, deserialize_i16 visit_i16 i16,
        deserialize_i32 visit_i32 i32, deserialize_i64 visit_i64 i64, deserialize_u8 visit_u8 u8,
        deserialize_u16 visit_u16 u16, deserialize_u32 visit_u32 u32, deserialize_u64 visit_u64 u64,
        deserialize_f32 visit_f32 f32, deserialize_f64 visit_f64 f64, deserialize_char visit_char char);
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_str(self.text())
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_str(self.text())
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_bytes(b"")
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_bytes(b"")
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_some(self)
    }
    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, v: V) -> Result<V::Value, Error> {
        v.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, v: V) -> Result<V::Value, Error> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_seq(Seq { item: Some(self.child("[]")) })
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, Error> {
        self.deserialize_seq(v)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(self, _: &'static str, _: usize, v: V) -> Result<V::Value, Error> {
        self.deserialize_seq(v)
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_map(Map { keys: vec![("*", self.child("*"))] })
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_map(Map { keys: fields.iter().map(|f| (*f, self.child(f))).collect() })
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_enum(Enum { variant: variants[0] })
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_str(v)
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_unit()
    }
}

struct Seq<'a> {
    item: Option<Probe<'a>>,
}

impl<'de> de::SeqAccess<'de> for Seq<'_> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        self.item.take().map(|p| seed.deserialize(p)).transpose()
    }
}

struct Map<'a> {
    keys: Vec<(&'static str, Probe<'a>)>,
}

impl<'de> de::MapAccess<'de> for Map<'_> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        match self.keys.first() {
            Some((k, _)) => {
                let d: StrDeserializer<'_, Error> = k.into_deserializer();
                seed.deserialize(d).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        let (_, p) = self.keys.remove(0);
        seed.deserialize(p)
    }
}

struct Enum {
    variant: &'static str,
}

impl<'de> de::EnumAccess<'de> for Enum {
    type Error = Error;
    type Variant = Unit;
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Unit), Error> {
        let d: StrDeserializer<'_, Error> = self.variant.into_deserializer();
        Ok((seed.deserialize(d)?, Unit))
    }
}

struct Unit;

impl<'de> de::VariantAccess<'de> for Unit {
    type Error = Error;
    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _: T) -> Result<T::Value, Error> {
        Err(de::Error::custom("newtype variants are not probed"))
    }
    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Error> {
        Err(de::Error::custom("tuple variants are not probed"))
    }
    fn struct_variant<V: Visitor<'de>>(self, _: &'static [&'static str], _: V) -> Result<V::Value, Error> {
        Err(de::Error::custom("struct variants are not probed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_fields_map_keys_and_array_elements() {
        let leaves = leaf_paths::<oci_spec::runtime::Spec>();
        for p in ["ociVersion", "process.args[]", "linux.sysctl.*", "linux.netDevices.*.name", "mounts[].options[]"] {
            assert!(leaves.contains(p), "{p}");
        }
        let nodes = node_paths::<oci_spec::runtime::Spec>();
        assert!(nodes.contains("linux.resources") && !leaves.contains("linux.resources"));
    }
}
