//! Caps on the uncompressed bytes an unpack may produce, per layer and per
//! image: a few megabytes of gzip (or far fewer of zstd) can expand into
//! terabytes, and without a cap the only limit is the disk. The layer
//! streams charge their uncompressed tar bytes here as they decode (what the
//! diff_id covers, so metadata and file data alike); layers unpacked in
//! parallel share the image's count.

use std::sync::atomic::{AtomicU64, Ordering};

use super::units::human;
use super::Error;

/// Default cap per layer (`--max-layer-size`).
pub const DEFAULT_LAYER_LIMIT: u64 = 16 << 30;
/// Default cap per image (`--max-image-size`).
pub const DEFAULT_IMAGE_LIMIT: u64 = 64 << 30;

/// The caps, in bytes; 0 means none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub layer: u64,
    pub image: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { layer: DEFAULT_LAYER_LIMIT, image: DEFAULT_IMAGE_LIMIT }
    }
}

/// The running count of one image's unpack against its [`Limits`].
#[derive(Debug)]
pub struct Budget {
    limits: Limits,
    image_used: AtomicU64,
}

impl Budget {
    pub fn new(limits: Limits) -> Self {
        Budget { limits, image_used: AtomicU64::new(0) }
    }

    /// No caps (tests, and callers that bound work otherwise).
    pub fn unlimited() -> Self {
        Budget::new(Limits { layer: 0, image: 0 })
    }

    /// Charge `n` more bytes to a layer that has now produced `layer_total`.
    pub fn charge(&self, layer_total: u64, n: u64) -> Result<(), Error> {
        if self.limits.layer > 0 && layer_total > self.limits.layer {
            return Err(Error::LayerTooLarge { limit: human(self.limits.layer) });
        }
        let image_total = self.image_used.fetch_add(n, Ordering::Relaxed).saturating_add(n);
        if self.limits.image > 0 && image_total > self.limits.image {
            return Err(Error::ImageTooLarge { limit: human(self.limits.image) });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_and_image_caps() {
        let b = Budget::new(Limits { layer: 100, image: 150 });
        assert!(b.charge(100, 100).is_ok());
        assert!(matches!(b.charge(101, 1), Err(Error::LayerTooLarge { .. })));
        // A second layer: within its own cap, but the image's is spent.
        assert!(b.charge(40, 40).is_ok());
        let e = b.charge(60, 20).unwrap_err();
        assert!(matches!(e, Error::ImageTooLarge { .. }), "{e:?}");
        assert!(e.to_string().contains("150 B"), "{e}");
        let u = Budget::unlimited();
        assert!(u.charge(u64::MAX, u64::MAX).is_ok() && u.charge(u64::MAX, u64::MAX).is_ok());
    }
}
