//! The image config -> runtime `config.json`, per image-spec `conversion.md`,
//! on top of the default spec `berth spec` writes. [`plan_spec`] is pure (the
//! image's passwd/group contents come in as strings); [`write_config`] reads
//! those files from the rootfs (resolved inside it) and writes the file
//! atomically.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oci_spec::image::ImageConfiguration;
use oci_spec::runtime::{LinuxIdMapping, Mount, Spec};

use super::fsops::read_in_root;
use super::user;
use super::{Error, Result};

const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the user overrides on the command line.
#[derive(Debug, Clone, Default)]
pub struct ConfigOptions {
    /// `process.terminal` (false unless asked).
    pub terminal: bool,
    /// Replace the image's `Cmd` (like `docker run IMAGE ARGS...`).
    pub args: Option<Vec<String>>,
    /// Replace the image's `Entrypoint` (drops `Cmd` unless `args` given).
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=VALUE` entries added to or replacing the image's `Env`.
    pub env: Vec<String>,
    /// `user[:group]` replacing the image's `User`.
    pub user: Option<String>,
    /// Rootless: a user namespace with these uid and gid mappings (and the
    /// rest of `berth spec --rootless`).
    pub userns: Option<(Vec<LinuxIdMapping>, Vec<LinuxIdMapping>)>,
}

/// `process.args` of a bundle whose image has neither Entrypoint nor Cmd
/// (valid, and umoci unpacks it): a path no image has, so that running the
/// bundle unedited fails with this text in the runtime's exec error.
pub const NO_COMMAND: &str = "/imgtool: the image sets neither Entrypoint nor Cmd; set process.args in config.json";

/// The container's command: Entrypoint then Cmd, each replaceable (a new
/// Entrypoint drops the image's Cmd, like `docker run --entrypoint`).
/// Empty when neither the image nor the options give one.
pub fn command(cfg: &ImageConfiguration, opts: &ConfigOptions) -> Vec<String> {
    let c = cfg.config().clone().unwrap_or_default();
    let entrypoint = opts.entrypoint.clone().or_else(|| c.entrypoint().clone()).unwrap_or_default();
    let cmd = match (&opts.args, &opts.entrypoint) {
        (Some(a), _) => a.clone(),
        (None, Some(_)) => Vec::new(),
        (None, None) => c.cmd().clone().unwrap_or_default(),
    };
    entrypoint.into_iter().chain(cmd).collect()
}

/// Host directory backing each image `Volumes` entry, inside the bundle.
pub fn volume_source(bundle: &Path, index: usize, dest: &str) -> PathBuf {
    let tag: String = dest.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    bundle.join(".volumes").join(format!("{index}{tag}"))
}

fn set_env(env: &mut Vec<String>, kv: &str) {
    let key = kv.split_once('=').map_or(kv, |(k, _)| k);
    match env.iter_mut().find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key) {
        Some(e) => *e = kv.to_string(),
        None => env.push(kv.to_string()),
    }
}

/// The annotations conversion.md derives from the config; Labels win.
fn annotations(cfg: &ImageConfiguration) -> HashMap<String, String> {
    let mut a = HashMap::new();
    let k = |s: &str| format!("org.opencontainers.image.{s}");
    a.insert(k("os"), cfg.os().to_string());
    a.insert(k("architecture"), cfg.architecture().to_string());
    if let Some(v) = cfg.variant() {
        a.insert(k("variant"), v.clone());
    }
    if let Some(v) = cfg.os_version() {
        a.insert(k("os.version"), v.clone());
    }
    if let Some(v) = cfg.os_features() {
        a.insert(k("os.features"), v.join(","));
    }
    if let Some(v) = cfg.author() {
        a.insert(k("author"), v.clone());
    }
    if let Some(v) = cfg.created() {
        a.insert(k("created"), v.clone());
    }
    if let Some(c) = cfg.config() {
        if let Some(v) = c.stop_signal() {
            a.insert(k("stopSignal"), v.clone());
        }
        if let Some(v) = c.exposed_ports() {
            a.insert(k("exposedPorts"), v.join(","));
        }
        if let Some(labels) = c.labels() {
            a.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    a
}

/// Build the runtime spec for `cfg` from the default template.
pub fn plan_spec(
    cfg: &ImageConfiguration,
    passwd: Option<&str>,
    group: Option<&str>,
    bundle: &Path,
    opts: &ConfigOptions,
) -> Result<Spec> {
    let mut spec =
        crate::spec::template::default_spec(opts.userns.is_some()).map_err(|e| Error::Spec(e.to_string()))?;
    if let (Some((uids, gids)), Some(linux)) = (&opts.userns, spec.linux_mut()) {
        linux.set_uid_mappings(Some(uids.clone()));
        linux.set_gid_mappings(Some(gids.clone()));
    }
    let c = cfg.config().clone().unwrap_or_default();
    let mut process = spec.process().clone().ok_or_else(|| Error::Spec("default spec has no process".into()))?;

    let args = command(cfg, opts);
    process.set_args(Some(if args.is_empty() { vec![NO_COMMAND.to_string()] } else { args }));

    let mut env = c.env().clone().unwrap_or_default();
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(0, DEFAULT_PATH.to_string());
    }
    if opts.terminal && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    for kv in &opts.env {
        set_env(&mut env, kv);
    }

    let user_spec = opts.user.clone().or_else(|| c.user().clone()).unwrap_or_default();
    let u = user::resolve(&user_spec, passwd, group)?;
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", u.home.clone().unwrap_or_else(|| "/".into())));
    }
    process.set_env(Some(env));
    let pu = process.user_mut();
    pu.set_uid(u.uid);
    pu.set_gid(u.gid);
    pu.set_additional_gids(u.additional_gids);

    process.set_cwd(PathBuf::from(c.working_dir().clone().filter(|w| !w.is_empty()).unwrap_or_else(|| "/".into())));
    process.set_terminal(Some(opts.terminal));
    spec.set_process(Some(process));

    if let Some(root) = spec.root_mut() {
        root.set_path(PathBuf::from("rootfs"));
        root.set_readonly(Some(false));
    }
    spec.set_annotations(Some(annotations(cfg)));

    let mut mounts = spec.mounts().clone().unwrap_or_default();
    for (i, vol) in c.volumes().clone().unwrap_or_default().iter().enumerate() {
        let mut m = Mount::default();
        m.set_destination(PathBuf::from(vol));
        m.set_typ(Some("bind".into()));
        m.set_source(Some(volume_source(bundle, i, vol)));
        m.set_options(Some(vec!["rbind".into(), "rw".into()]));
        mounts.push(m);
    }
    spec.set_mounts(Some(mounts));
    Ok(spec)
}

/// Plan the spec reading users from `rootfs`, create volume directories and
/// write `bundle/config.json` (temp file + rename).
pub fn write_config(cfg: &ImageConfiguration, bundle: &Path, rootfs: &Path, opts: &ConfigOptions) -> Result<Spec> {
    let passwd = read_in_root(rootfs, "etc/passwd")?;
    let group = read_in_root(rootfs, "etc/group")?;
    let spec = plan_spec(cfg, passwd.as_deref(), group.as_deref(), bundle, opts)?;
    for m in spec.mounts().iter().flatten() {
        if let Some(src) = m.source().as_ref().filter(|s| s.starts_with(bundle.join(".volumes"))) {
            std::fs::create_dir_all(src).map_err(|e| Error::io("create volume directory", src, e))?;
        }
    }
    let json = serde_json::to_vec_pretty(&spec).map_err(|source| Error::Json { what: "config.json".into(), source })?;
    let dst = bundle.join("config.json");
    crate::atomic_file::write(&dst, &json, 0o644).map_err(|e| Error::io("write", &dst, e))?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg(config: serde_json::Value) -> ImageConfiguration {
        let v = json!({"architecture": "amd64", "os": "linux", "config": config, "rootfs": {"type": "layers", "diff_ids": []},
            "author": "me", "created": "2024-01-01T00:00:00Z"});
        serde_json::from_value(v).unwrap()
    }

    const PW: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:100:101:app:/home/app:/bin/sh\n";
    const GR: &str = "root:x:0:\napp:x:101:\nextra:x:200:app\n";

    #[test]
    fn converts_the_image_config() {
        let c =
            cfg(json!({"Entrypoint": ["/bin/ep"], "Cmd": ["a", "b"], "Env": ["PATH=/x", "A=1"], "WorkingDir": "/w",
            "User": "app", "StopSignal": "SIGINT", "Labels": {"l": "v", "org.opencontainers.image.author": "label"},
            "ExposedPorts": {"80/tcp": {}}, "Volumes": {"/data": {}}}));
        let s = plan_spec(&c, Some(PW), Some(GR), Path::new("/b"), &ConfigOptions::default()).unwrap();
        let p = s.process().as_ref().unwrap();
        assert_eq!(p.args().as_ref().unwrap(), &["/bin/ep", "a", "b"]);
        assert_eq!(p.env().as_ref().unwrap(), &["PATH=/x", "A=1", "HOME=/home/app"]);
        assert_eq!(p.cwd(), Path::new("/w"));
        assert_eq!((p.user().uid(), p.user().gid()), (100, 101));
        assert_eq!(p.user().additional_gids().as_ref().unwrap(), &[200]);
        assert_eq!(p.terminal(), Some(false));
        let a = s.annotations().as_ref().unwrap();
        assert_eq!(a["org.opencontainers.image.stopSignal"], "SIGINT");
        assert_eq!(a["org.opencontainers.image.author"], "label");
        assert_eq!(a["org.opencontainers.image.exposedPorts"], "80/tcp");
        assert_eq!(a["l"], "v");
        let m = s.mounts().as_ref().unwrap().last().unwrap();
        assert_eq!(m.destination(), Path::new("/data"));
        assert!(m.source().as_ref().unwrap().starts_with("/b/.volumes"));
        assert_eq!(s.root().as_ref().unwrap().readonly(), Some(false));
    }

    #[test]
    fn overrides_and_errors() {
        let c = cfg(json!({"Entrypoint": ["/ep"], "Cmd": ["x"], "User": "ghost"}));
        let e = plan_spec(&c, Some(PW), Some(GR), Path::new("/b"), &ConfigOptions::default()).unwrap_err();
        assert!(matches!(e, Error::UserNotFound(_)));
        let opts = ConfigOptions {
            terminal: true,
            args: Some(vec!["y".into()]),
            user: Some("0:0".into()),
            env: vec!["PATH=/p".into(), "B=2".into()],
            ..Default::default()
        };
        let s = plan_spec(&c, None, None, Path::new("/b"), &opts).unwrap();
        let p = s.process().as_ref().unwrap();
        assert_eq!(p.args().as_ref().unwrap(), &["/ep", "y"]);
        assert_eq!(p.env().as_ref().unwrap(), &["PATH=/p", "TERM=xterm", "B=2", "HOME=/"]);
        let opts = ConfigOptions { entrypoint: Some(vec!["/sh".into()]), user: Some("0".into()), ..Default::default() };
        let s = plan_spec(&c, None, None, Path::new("/b"), &opts).unwrap();
        assert_eq!(s.process().as_ref().unwrap().args().as_ref().unwrap(), &["/sh"]);
    }

    #[test]
    fn rootless_configs_get_a_user_namespace_with_the_mappings() {
        let c = cfg(json!({"Cmd": ["sh"]}));
        let maps = crate::image::rootless::mappings(&[], 1234).unwrap();
        let opts = ConfigOptions { userns: Some((maps.clone(), maps)), ..Default::default() };
        let s = plan_spec(&c, None, None, Path::new("/b"), &opts).unwrap();
        let linux = s.linux().as_ref().unwrap();
        let types: Vec<String> = linux.namespaces().iter().flatten().map(|n| n.typ().to_string()).collect();
        assert!(types.contains(&"user".to_string()), "{types:?}");
        assert!(!types.contains(&"network".to_string()), "{types:?}");
        assert_eq!(linux.uid_mappings().as_ref().unwrap()[0].host_id(), 1234);
        let plain = plan_spec(&c, None, None, Path::new("/b"), &ConfigOptions::default()).unwrap();
        assert!(plain.linux().as_ref().unwrap().uid_mappings().is_none());
    }

    #[test]
    fn an_image_without_a_command_gets_a_placeholder_that_says_what_to_set() {
        let none = cfg(json!({"Env": ["A=1"]}));
        assert!(command(&none, &ConfigOptions::default()).is_empty());
        let s = plan_spec(&none, None, None, Path::new("/b"), &ConfigOptions::default()).unwrap();
        assert_eq!(s.process().as_ref().unwrap().args().as_ref().unwrap(), &[NO_COMMAND]);
        assert!(NO_COMMAND.contains("process.args"));
        let opts = ConfigOptions { args: Some(vec!["/bin/sh".into()]), ..Default::default() };
        let s = plan_spec(&none, None, None, Path::new("/b"), &opts).unwrap();
        assert_eq!(s.process().as_ref().unwrap().args().as_ref().unwrap(), &["/bin/sh"]);
    }
}
