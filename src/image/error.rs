//! The one error type of the `image` module: each variant names the operation
//! that failed and the object it failed on, crun style.

use std::io;
use std::path::PathBuf;

/// Errors from reading images, applying layers and managing bundles.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("parse image reference `{reference}`: {reason}")]
    Reference { reference: String, reason: String },
    #[error("open image `{reference}`: imgtool reads local OCI layouts and oci-archive/docker-archive files, not `{transport}` images; copy it first: skopeo copy {reference} oci:DIR:TAG, then --image DIR:TAG")]
    Transport { reference: String, transport: String },
    #[error("parse platform `{0}`: expected os/arch[/variant]")]
    PlatformSpec(String),
    #[error("{op} `{path}`")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{op} `{path}`")]
    Sys {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("parse {what}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("parse {what}")]
    Oci {
        what: String,
        #[source]
        source: oci_spec::OciSpecError,
    },
    #[error("invalid digest `{0}`")]
    Digest(String),
    #[error("blob `{0}` is missing")]
    MissingBlob(String),
    #[error("verify blob `{digest}`: {reason}")]
    Verify { digest: String, reason: String },
    #[error("verify layer `{layer}`: uncompressed content is `{found}`, config expects diff_id `{expected}`")]
    DiffId { layer: String, expected: String, found: String },
    #[error("blob `{0}` is too large for a manifest, index or config")]
    TooLarge(String),
    #[error("find tag `{tag}` in `{path}` (available: {available})")]
    TagNotFound { tag: String, path: String, available: String },
    #[error("pick an image in `{path}`: it holds several, name one with :TAG (available: {available})")]
    Ambiguous { path: String, available: String },
    #[error("find an image for platform `{wanted}` in `{path}` (available: {available})")]
    NoPlatform { wanted: String, path: String, available: String },
    #[error("unsupported media type `{0}`")]
    MediaType(String),
    #[error("image `{path}` has {layers} layers but {diff_ids} diff_ids in its config")]
    LayerCount { path: String, layers: usize, diff_ids: usize },
    #[error("image index nesting deeper than {0} levels")]
    TooDeep(usize),
    #[error("walk image index: its nested indexes list more than {0} descriptors")]
    TooManyDescriptors(usize),
    #[error("apply layer `{layer}`")]
    Layer {
        layer: String,
        #[source]
        source: Box<Error>,
    },
    #[error("apply tar entry `{entry}`")]
    Entry {
        entry: String,
        #[source]
        source: Box<Error>,
    },
    #[error("read layer tar stream")]
    Tar(#[source] io::Error),
    #[error("unsupported tar entry type {kind:?} for `{entry}`")]
    EntryType { entry: String, kind: u8 },
    #[error("refuse sparse file `{entry}`: sparse tar entries are not supported (their holes would be written out in full); rebuild the layer without --sparse")]
    Sparse { entry: String },
    #[error("hardlink `{entry}` has no target")]
    NoLinkTarget { entry: String },
    #[error("resolve user `{0}` in the image's /etc/passwd: not found")]
    UserNotFound(String),
    #[error("resolve group `{0}` in the image's /etc/group: not found")]
    GroupNotFound(String),
    #[error("use bundle `{0}`: it exists and is not empty")]
    BundleExists(PathBuf),
    #[error("use bundle `{bundle}`: other users can reach it (mode {mode:04o}), and through it the image's setuid files; make it private (chmod 700) or give a new path")]
    BundleShared { bundle: PathBuf, mode: u32 },
    #[error("use bundle `{bundle}`: it belongs to uid {owner}, not to the caller")]
    BundleNotOwned { bundle: PathBuf, owner: u32 },
    #[error("remove bundle `{0}`: not an imgtool bundle (no .imgtool.json)")]
    NotBundle(PathBuf),
    #[error("remove bundle `{0}`: `rootfs` is still a mount point")]
    StillMounted(PathBuf),
    #[error("build config.json: {0}")]
    Spec(String),
    #[error("use store `{store}`: it was made by root (trusted.overlay xattrs), which a rootless caller cannot write or mount; give another --store")]
    StoreKind { store: PathBuf },
    #[error("{op} `{path}`: in use by {by}; stop the container first, or use --force")]
    InUse { op: &'static str, path: PathBuf, by: String },
    #[error("mount bundle `{bundle}`: this user may not mount here; a rootless overlay bundle is mounted from a user namespace that owns its mount namespace (as with `unshare --user --map-root-user --mount`)")]
    MountDenied { bundle: PathBuf },
    #[error("mount bundle `{bundle}`: layer `{layer}` is no longer in store `{store}`; remove the bundle and create it again")]
    LayerMissing { bundle: PathBuf, layer: String, store: PathBuf },
    #[error("store layer `{layer}`: {reason}")]
    Store { layer: String, reason: String },
    #[error("parse size `{0}`: expected a number of bytes with an optional K, M, G or T suffix")]
    Size(String),
    #[error("parse id mapping `{0}`: expected CONTAINER:HOST:SIZE with a size of at least 1")]
    IdMap(String),
    #[error("its uncompressed content exceeds the {limit} limit per layer (raise it with --max-layer-size)")]
    LayerTooLarge { limit: String },
    #[error("the image's uncompressed layers exceed the {limit} limit per image (raise it with --max-image-size)")]
    ImageTooLarge { limit: String },
    #[error("--uid-map and --gid-map are for rootless use: run as root, imgtool gives files the image's owners")]
    MapsNeedRootless,
    #[error("layer thread panicked")]
    Thread,
}

/// `Result` with the image [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        // A verification failure surfaces through `Read` as an io::Error;
        // give it back its own variant so the message says what went wrong.
        if let Some(v) = source.get_ref().and_then(|e| e.downcast_ref::<crate::image::blob::VerifyError>()) {
            return v.to_error();
        }
        Error::Io { op, path: path.into(), source }
    }

    pub(crate) fn sys(op: &'static str, path: impl Into<PathBuf>, source: nix::Error) -> Self {
        Error::Sys { op, path: path.into(), source }
    }

    pub(crate) fn tar(source: io::Error) -> Self {
        if let Some(v) = source.get_ref().and_then(|e| e.downcast_ref::<crate::image::blob::VerifyError>()) {
            return v.to_error();
        }
        Error::Tar(source)
    }
}
