//! What `imgtool list` and `inspect` show: stored images, layers with sizes
//! and the bundles using them, each bundle mounted or not and who uses it;
//! an image's manifest, config and layers. Layers are named by the first 12
//! hex digits of their chain ID everywhere (the store key; the progress
//! line uses the same names), sizes in [`human`] units.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{json, Value};

use super::lifecycle::statuses;
use super::store::Store;
use super::units::human;
use super::usage::{Usage, User};
use super::{Image, Result};

/// The store's contents as JSON.
pub fn list_json(store: &Store) -> Result<Value> {
    let layers = store.layers()?;
    let (bundles, _) = store.bundles()?;
    let usage = Usage::scan();
    let statuses = statuses(bundles.clone(), &usage)?;
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
        .map(|(hex, info)| {
            // Containers reading the layer (the host's own mounts are the bundles above).
            let procs: Vec<String> = usage
                .layer_users(&store.layer_dir(hex).join("diff"))
                .iter()
                .filter(|u| matches!(u, User::Process(_)))
                .map(ToString::to_string)
                .collect();
            json!({"chainId": info.chain_id, "diffId": info.diff_id, "size": info.size, "entries": info.entries,
                   "usedBy": users.get(hex.as_str()).cloned().unwrap_or_default(), "inUse": procs, "id": hex})
        })
        .collect();
    let bv: Vec<Value> = statuses
        .iter()
        .map(|s| {
            let b = &s.record;
            let users: Vec<String> = s.users.iter().map(ToString::to_string).collect();
            json!({"bundle": b.bundle, "image": b.image, "config": b.config_digest, "layers": b.layers,
                   "flat": !b.is_overlay(), "mounted": s.mounted, "inUse": users})
        })
        .collect();
    Ok(json!({"store": store.root, "images": images, "layers": lv, "bundles": bv}))
}

/// The name of a layer in `list` and in the progress line.
pub fn short(s: &str) -> String {
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
            human(i["size"].as_u64().unwrap_or(0)),
            i["layers"].as_array().map_or(0, Vec::len),
            names.join(", ")
        );
    }
    let _ = writeln!(out, "\nLAYER         SIZE        ENTRIES  USED BY");
    for l in arr("layers") {
        let used: Vec<String> = ["usedBy", "inUse"]
            .iter()
            .flat_map(|k| l[*k].as_array().unwrap_or(&empty).iter().filter_map(|n| n.as_str().map(str::to_string)))
            .collect();
        let _ = writeln!(
            out,
            "{:<13} {:<11} {:<8} {}",
            short(l["id"].as_str().unwrap_or("")),
            human(l["size"].as_u64().unwrap_or(0)),
            l["entries"].as_u64().unwrap_or(0),
            used.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "\nBUNDLE                                    ROOTFS                IMAGE                IN USE BY"
    );
    for b in arr("bundles") {
        let rootfs = match (b["flat"].as_bool(), b["mounted"].as_bool()) {
            (Some(true), _) => "flat copy",
            (_, Some(true)) => "overlay, mounted",
            _ => "NOT MOUNTED (mount)",
        };
        let users: Vec<&str> = b["inUse"].as_array().unwrap_or(&empty).iter().filter_map(Value::as_str).collect();
        let users = if users.is_empty() { "-".to_string() } else { users.join(", ") };
        let _ = writeln!(
            out,
            "{:<41} {:<21} {:<20} {}",
            b["bundle"].as_str().unwrap_or(""),
            rootfs,
            b["image"].as_str().unwrap_or(""),
            users
        );
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
