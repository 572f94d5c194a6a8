//! Resolving a reference to one [`Image`]: find its files ([`open_source`])
//! and hand them to the reader of their format, the OCI layout reader
//! (`layout.rs`) or the docker archive reader (`docker.rs`). A third format
//! is a third reader and one more arm here.

use std::sync::Arc;

use super::model::Image;
use super::platform::Platform;
use super::reference::{ImageRef, Transport};
use super::source::open_source;
use super::{docker, layout, Result};

/// Resolve `r` for platform `want`. `explicit` says the user asked for the
/// platform, so a single-manifest image of another platform is an error.
pub fn open_image(r: &ImageRef, want: &Platform, explicit: bool) -> Result<Image> {
    let (source, transport) = open_source(r)?;
    let source = Arc::new(source);
    let name = r.to_string();
    match transport {
        Transport::DockerArchive => docker::open(source, &r.selector, &name),
        _ => layout::open(source, &r.selector, &name, want, explicit),
    }
}
