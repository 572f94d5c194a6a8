//! imgtool: OCI images (layouts, oci-archive, docker-archive) to runtime
//! bundles, flat (`unpack`) or as an overlay over a shared layer store
//! (`create`). Parses the command line, runs it, reports an error once.

use std::path::PathBuf;
use std::process::ExitCode;

use berth::image::bundle::ConfigOptions;
use berth::image::container::{create_bundle, remove_bundle, unpack_bundle};
use berth::image::inspect;
use berth::image::progress::Progress;
use berth::image::store::{Store, DEFAULT_STORE};
use berth::image::{open_image, Image, ImageRef, Platform, Result};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "imgtool", version, about = "OCI images to runtime bundles")]
pub(crate) struct Cli {
    /// Layer store directory.
    #[arg(long, global = true, env = "IMGTOOL_STORE", default_value = DEFAULT_STORE)]
    store: PathBuf,
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
    /// Bundle directory (created; must be absent or empty).
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
    /// Unmount and delete bundles made by imgtool.
    Remove {
        /// Detach a busy rootfs mount lazily.
        #[arg(long)]
        force: bool,
        #[arg(required = true)]
        bundles: Vec<PathBuf>,
    },
    /// Delete stored layers no bundle uses.
    Gc,
    /// Show stored images, layers, sizes and the bundles using them.
    List {
        #[arg(long)]
        json: bool,
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

fn progress_for(img: &Image, store: Option<&Store>) -> Progress {
    let layers = img
        .layers
        .iter()
        .map(|l| {
            let short = l.digest.as_ref().map_or_else(|| l.path.clone(), |d| d.digest().chars().take(12).collect());
            let size = if store.is_some_and(|s| s.has_layer(l.chain_id.as_ref())) { Some(0) } else { l.size };
            (short, size)
        })
        .collect();
    Progress::new(layers)
}

fn options(b: &BundleArgs) -> ConfigOptions {
    ConfigOptions {
        terminal: b.terminal,
        args: (!b.args.is_empty()).then(|| b.args.clone()),
        entrypoint: b.entrypoint.clone().map(|e| vec![e]),
        env: b.env.clone(),
        user: b.user.clone(),
    }
}

/// Print to stdout; a closed pipe (`| head`) is not an error.
fn out(s: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(s.as_bytes());
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Unpack(b) => {
            let img = open(&b.image)?;
            let progress = progress_for(&img, None);
            unpack_bundle(&img, &b.bundle, &options(&b), &progress)
        }
        Command::Create(b) => {
            let img = open(&b.image)?;
            let store = Store::open(&cli.store)?;
            let progress = progress_for(&img, Some(&store));
            create_bundle(&store, &img, &b.bundle, &options(&b), &progress).map(drop)
        }
        Command::Remove { force, bundles } => bundles.iter().try_for_each(|b| remove_bundle(b, force)),
        Command::Gc => {
            let report = Store::open(&cli.store)?.gc()?;
            let mib = report.bytes as f64 / (1u64 << 20) as f64;
            out(&format!(
                "removed {} layers ({mib:.1} MiB), {} stale bundle records\n",
                report.layers.len(),
                report.stale_bundles.len()
            ));
            Ok(())
        }
        Command::List { json } => {
            let store = Store::open(&cli.store)?;
            if json {
                out(&format!("{:#}\n", inspect::list_json(&store)?));
            } else {
                out(&inspect::list_text(&store)?);
            }
            Ok(())
        }
        Command::Inspect(a) => {
            let img = open(&a)?;
            let store = cli.store.is_dir().then(|| Store { root: cli.store.clone() });
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
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg.push_str(": ");
                msg.push_str(&s.to_string());
                src = s.source();
            }
            eprintln!("imgtool: {msg}");
            ExitCode::FAILURE
        }
    }
}
