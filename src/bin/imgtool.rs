//! imgtool: OCI images (layouts, oci-archive, docker-archive) to runtime
//! bundles, flat (`unpack`) or as an overlay over a shared layer store
//! (`create`), and the bundles' life after that (`mount`, `remove`, `gc`,
//! `list`). Parses the command line, runs it, reports an error once.

use std::path::PathBuf;
use std::process::ExitCode;

use berth::image::budget::{Budget, Limits};
use berth::image::bundle::{command, ConfigOptions};
use berth::image::container::{create_bundle, unpack_bundle};
use berth::image::inspect::{self, short};
use berth::image::lifecycle::{mount_bundle, remove_bundle, Mounted};
use berth::image::progress::Progress;
use berth::image::rootless::{is_rootless, mappings};
use berth::image::store::{default_store, BundleRecord, Store};
use berth::image::units::{human, parse_size};
use berth::image::{open_image, tags, Error, Image, ImageRef, Platform, Result};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "imgtool", version, about = "OCI images to runtime bundles")]
pub(crate) struct Cli {
    /// Layer store directory [default: /var/lib/berth/imgtool, rootless:
    /// $XDG_DATA_HOME/berth/imgtool]
    #[arg(long, global = true, env = "IMGTOOL_STORE")]
    store: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct ImageArgs {
    /// Image: [oci:|oci-archive:|docker-archive:]PATH[:TAG] or PATH@DIGEST.
    #[arg(long)]
    image: String,
    /// Platform os/arch[/variant] to pick from an index (default: this host).
    #[arg(long)]
    platform: Option<String>,
}

fn size(s: &str) -> std::result::Result<u64, String> {
    parse_size(s).map_err(|e| e.to_string())
}

#[derive(Args)]
struct BundleArgs {
    #[command(flatten)]
    image: ImageArgs,
    /// Give the container a terminal (process.terminal).
    #[arg(long)]
    terminal: bool,
    /// KEY=VALUE added to (or replacing in) the image's Env.
    #[arg(long, short = 'e')]
    env: Vec<String>,
    /// user[:group], by name (resolved in the image) or number.
    #[arg(long, short = 'u')]
    user: Option<String>,
    /// Replace the image's Entrypoint.
    #[arg(long)]
    entrypoint: Option<String>,
    /// Rootless: CONTAINER:HOST:SIZE uid mapping for the config's user
    /// namespace (repeatable; default: container root is the caller).
    #[arg(long = "uid-map", value_name = "MAP")]
    uid_map: Vec<String>,
    /// Rootless: CONTAINER:HOST:SIZE gid mapping (repeatable).
    #[arg(long = "gid-map", value_name = "MAP")]
    gid_map: Vec<String>,
    /// Most uncompressed bytes one layer may expand to (K, M, G, T
    /// suffixes; 0: no limit).
    #[arg(long, env = "IMGTOOL_MAX_LAYER_SIZE", default_value = "16G", value_parser = size)]
    max_layer_size: u64,
    /// Most uncompressed bytes all layers of the image may expand to.
    #[arg(long, env = "IMGTOOL_MAX_IMAGE_SIZE", default_value = "64G", value_parser = size)]
    max_image_size: u64,
    /// Bundle directory (created 0700; an existing one must be empty and
    /// private).
    bundle: PathBuf,
    /// Replace the image's Cmd (after `--`).
    #[arg(last = true)]
    args: Vec<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Unpack the image into a flat bundle (rootfs/ + config.json).
    Unpack(BundleArgs),
    /// Make a bundle whose rootfs is an overlay of stored layers.
    Create(BundleArgs),
    /// Mount overlay bundles' rootfs again (after a reboot or an unmount).
    Mount {
        #[arg(required = true)]
        bundles: Vec<PathBuf>,
    },
    /// Unmount and delete bundles made by imgtool, unless a container uses
    /// them.
    Remove {
        /// Remove even a bundle a container uses (its rootfs is detached).
        #[arg(long)]
        force: bool,
        #[arg(required = true)]
        bundles: Vec<PathBuf>,
    },
    /// Delete stored layers that no bundle and no running container uses.
    Gc {
        /// Delete also layers that a running container's overlay still reads.
        #[arg(long)]
        force: bool,
    },
    /// Show stored images, layers, sizes and the bundles using them.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show the tags and platforms of a layout or archive (like `umoci ls`).
    Tags {
        #[arg(long)]
        json: bool,
        /// [oci:|oci-archive:|docker-archive:]PATH
        image: String,
    },
    /// Show an image's manifest, config and layers.
    Inspect(ImageArgs),
}

fn open(a: &ImageArgs) -> Result<Image> {
    let r = ImageRef::parse(&a.image)?;
    let (platform, explicit) = match &a.platform {
        Some(p) => (Platform::parse(p)?, true),
        None => (Platform::host(), false),
    };
    open_image(&r, &platform, explicit)
}

/// Progress per layer, named as `list` names layers; stored layers cost nothing.
fn progress_for(img: &Image, store: Option<&Store>) -> Progress {
    let layers = img
        .layers
        .iter()
        .map(|l| {
            let size = if store.is_some_and(|s| s.has_layer(l.chain_id.as_ref())) { Some(0) } else { l.size };
            (short(l.chain_id.as_ref()), size)
        })
        .collect();
    Progress::new(layers)
}

fn options(b: &BundleArgs) -> Result<ConfigOptions> {
    let userns = if is_rootless() {
        let uid = mappings(&b.uid_map, nix::unistd::geteuid().as_raw())?;
        let gid = mappings(&b.gid_map, nix::unistd::getegid().as_raw())?;
        Some((uid, gid))
    } else if !b.uid_map.is_empty() || !b.gid_map.is_empty() {
        return Err(Error::MapsNeedRootless);
    } else {
        None
    };
    Ok(ConfigOptions {
        terminal: b.terminal,
        args: (!b.args.is_empty()).then(|| b.args.clone()),
        entrypoint: b.entrypoint.clone().map(|e| vec![e]),
        env: b.env.clone(),
        user: b.user.clone(),
        userns,
    })
}

fn budget(b: &BundleArgs) -> Budget {
    Budget::new(Limits { layer: b.max_layer_size, image: b.max_image_size })
}

/// Print to stdout; a closed pipe (`| head`) is not an error.
fn out(s: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(s.as_bytes());
}

fn warn(s: &str) {
    eprintln!("imgtool: warning: {s}");
}

/// The warnings a new bundle may deserve.
fn report(img: &Image, b: &BundleArgs, opts: &ConfigOptions, rec: &BundleRecord, created: bool) {
    if command(&img.config, opts).is_empty() {
        warn(&format!(
            "the image sets neither Entrypoint nor Cmd: set process.args in `{}`, or give the command after `--`",
            rec.bundle.join("config.json").display()
        ));
    }
    if created && rec.flat {
        warn(&format!(
            "this user may not mount here (rootless outside a user namespace with its own mount namespace): `{}` is a flat copy, not an overlay",
            b.bundle.join("rootfs").display()
        ));
    }
}

fn run(cli: Cli) -> Result<()> {
    let store_dir = || cli.store.clone().unwrap_or_else(default_store);
    match &cli.command {
        Command::Unpack(b) => {
            let opts = options(b)?;
            let img = open(&b.image)?;
            let rec = unpack_bundle(&img, &b.bundle, &opts, &progress_for(&img, None), &budget(b))?;
            report(&img, b, &opts, &rec, false);
            Ok(())
        }
        Command::Create(b) => {
            let opts = options(b)?;
            let img = open(&b.image)?;
            let store = Store::open(&store_dir())?;
            let rec = create_bundle(&store, &img, &b.bundle, &opts, &progress_for(&img, Some(&store)), &budget(b))?;
            report(&img, b, &opts, &rec, true);
            Ok(())
        }
        Command::Mount { bundles } => bundles.iter().try_for_each(|b| {
            if mount_bundle(b)? == Mounted::Flat {
                warn(&format!("`{}` is a flat bundle: its rootfs is a directory, nothing to mount", b.display()));
            }
            Ok(())
        }),
        Command::Remove { force, bundles } => bundles.iter().try_for_each(|b| remove_bundle(b, *force)),
        Command::Gc { force } => {
            let report = Store::open(&store_dir())?.gc(*force)?;
            for (layer, by) in &report.kept {
                eprintln!("imgtool: gc: kept layer {}: in use by {by}", short(layer));
            }
            out(&format!(
                "removed {} layers ({}), {} stale bundle records\n",
                report.layers.len(),
                human(report.bytes),
                report.stale_bundles.len()
            ));
            Ok(())
        }
        Command::List { json } => {
            let store = Store::open(&store_dir())?;
            if *json {
                out(&format!("{:#}\n", inspect::list_json(&store)?));
            } else {
                out(&inspect::list_text(&store)?);
            }
            Ok(())
        }
        Command::Tags { json, image } => {
            let t = tags::list_tags(&ImageRef::parse(image)?)?;
            if *json {
                out(&format!("{:#}\n", serde_json::to_value(&t).unwrap_or_default()));
            } else {
                out(&tags::render(&t));
            }
            Ok(())
        }
        Command::Inspect(a) => {
            let img = open(a)?;
            let dir = store_dir();
            let store = dir.is_dir().then(|| Store::existing(&dir)).transpose()?;
            out(&format!("{:#}\n", inspect::inspect_json(&img, store.as_ref())));
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imgtool: {}", berth::error::report(&e));
            ExitCode::FAILURE
        }
    }
}
