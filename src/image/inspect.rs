//! What `imgtool list` and `inspect` show: stored images, layers with sizes
//! and the bundles using them; an image's manifest, config and layers.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{json, Value};

use super::store::Store;
use super::{Image, Result};

/// The store's contents as JSON.
pub fn list_json(store: &Store) -> Result<Value> {
    let layers = store.layers()?;
    let (bundles, _) = store.bundles()?;
    let mut users: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for b in &bundles {
        for l in &b.layers {
            users.entry(l.as_str()).or_default().push(b.bundle.display().to_string());
        }
    }
    let images: Vec<Value> = store
        .images()?
        .iter()
        .map(|i| {
            let size: u64 = i.layers.iter().filter_map(|l| layers.get(l)).map(|l| l.size).sum();
            json!({"config": i.config_digest, "names": i.names, "layers": i.layers, "size": size,
                   "complete": i.layers.iter().all(|l| layers.contains_key(l))})
        })
        .collect();
    let lv: Vec<Value> = layers
        .iter()
        .map(|(hex, info)| json!({"chainId": info.chain_id, "diffId": info.diff_id, "size": info.size, "entries": info.entries, "usedBy": users.get(hex.as_str()).cloned().unwrap_or_default(), "id": hex}))
        .collect();
    let bv: Vec<Value> = bundles
        .iter()
        .map(|b| json!({"bundle": b.bundle, "image": b.image, "config": b.config_digest, "layers": b.layers}))
        .collect();
    Ok(json!({"store": store.root, "images": images, "layers": lv, "bundles": bv}))
}

fn short(s: &str) -> String {
    s.rsplit(':').next().unwrap_or(s).chars().take(12).collect()
}

/// The store's contents as text tables.
pub fn list_text(store: &Store) -> Result<String> {
    let v = list_json(store)?;
    let mut out = String::new();
    let empty = Vec::new();
    let arr = |k: &str| v[k].as_array().unwrap_or(&empty).clone();
    let _ = writeln!(out, "IMAGE         SIZE        LAYERS  NAMES");
    for i in arr("images") {
        let names: Vec<String> =
            i["names"].as_array().unwrap_or(&empty).iter().filter_map(|n| n.as_str().map(str::to_string)).collect();
        let _ = writeln!(
            out,
            "{:<13} {:<11} {:<7} {}",
            short(i["config"].as_str().unwrap_or("")),
            i["size"].as_u64().unwrap_or(0),
            i["layers"].as_array().map_or(0, Vec::len),
            names.join(", ")
        );
    }
    let _ = writeln!(out, "\nLAYER         SIZE        ENTRIES  USED BY");
    for l in arr("layers") {
        let used: Vec<String> =
            l["usedBy"].as_array().unwrap_or(&empty).iter().filter_map(|n| n.as_str().map(str::to_string)).collect();
        let _ = writeln!(
            out,
            "{:<13} {:<11} {:<8} {}",
            short(l["id"].as_str().unwrap_or("")),
            l["size"].as_u64().unwrap_or(0),
            l["entries"].as_u64().unwrap_or(0),
            used.join(", ")
        );
    }
    let _ = writeln!(out, "\nBUNDLE                                    IMAGE");
    for b in arr("bundles") {
        let _ = writeln!(out, "{:<41} {}", b["bundle"].as_str().unwrap_or(""), b["image"].as_str().unwrap_or(""));
    }
    Ok(out)
}

/// One image as JSON; `stored` per layer when a store is given.
pub fn inspect_json(img: &Image, store: Option<&Store>) -> Value {
    let layers: Vec<Value> = img
        .layers
        .iter()
        .map(|l| {
            json!({"mediaType": l.media_type, "digest": l.digest.as_ref().map(ToString::to_string), "size": l.size,
                   "diffId": l.diff_id.to_string(), "chainId": l.chain_id.to_string(),
                   "stored": store.is_some_and(|s| s.has_layer(l.chain_id.as_ref()))})
        })
        .collect();
    json!({
        "name": img.name,
        "manifest": img.manifest_digest.as_ref().map(ToString::to_string),
        "config": img.config_digest.to_string(),
        "platform": format!("{}/{}{}", img.config.os(), img.config.architecture(), img.config.variant().as_ref().map(|v| format!("/{v}")).unwrap_or_default()),
        "layers": layers,
        "imageConfig": serde_json::to_value(&img.config).unwrap_or(Value::Null),
    })
}
