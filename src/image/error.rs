//! The one error type of the `image` module: each variant names the operation
//! that failed and the object it failed on, crun style.

use std::io;
use std::path::PathBuf;

/// Errors from reading images, applying layers and managing bundles.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("parse image reference `{reference}`: {reason}")]
    Reference { reference: String, reason: String },
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
    #[error("hardlink `{entry}` has no target")]
    NoLinkTarget { entry: String },
    #[error("resolve user `{0}` in the image's /etc/passwd: not found")]
    UserNotFound(String),
    #[error("resolve group `{0}` in the image's /etc/group: not found")]
    GroupNotFound(String),
    #[error("use bundle `{0}`: it exists and is not empty")]
    BundleExists(PathBuf),
    #[error("remove bundle `{0}`: not an imgtool bundle (no .imgtool.json)")]
    NotBundle(PathBuf),
    #[error("remove bundle `{0}`: `rootfs` is still a mount point")]
    StillMounted(PathBuf),
    #[error("build config.json: {0}")]
    Spec(String),
    #[error("store layer `{layer}`: {reason}")]
    Store { layer: String, reason: String },
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
