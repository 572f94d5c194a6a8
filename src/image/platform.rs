//! Platform selection from an image index, per image-spec `image-index.md`:
//! the first manifest whose platform matches wins; variants are normalised
//! (`arm64` means `arm64/v8`, `arm` means `arm/v7`, `amd64` means
//! `amd64/v1`) and an older variant of the same architecture is accepted when
//! no exact match exists (an `arm/v6` image runs on `arm/v7`).

use std::fmt;

use super::{Error, Result};

/// An `os/arch[/variant]` triple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub arch: String,
    pub variant: Option<String>,
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        match &self.variant {
            Some(v) => write!(f, "/{v}"),
            None => Ok(()),
        }
    }
}

fn go_arch(arch: &str) -> &str {
    match arch {
        "x86_64" | "x86-64" => "amd64",
        "aarch64" => "arm64",
        "x86" | "i386" | "i686" => "386",
        "powerpc64" => "ppc64le",
        "loongarch64" => "loong64",
        other => other,
    }
}

impl Platform {
    /// Parse `os/arch[/variant]`.
    pub fn parse(s: &str) -> Result<Self> {
        let parts: Vec<&str> = s.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(Error::PlatformSpec(s.to_string()));
        }
        match parts.as_slice() {
            [os, arch] => Ok(Platform { os: os.to_string(), arch: go_arch(arch).to_string(), variant: None }),
            [os, arch, v] => {
                Ok(Platform { os: os.to_string(), arch: go_arch(arch).to_string(), variant: Some(v.to_string()) })
            }
            _ => Err(Error::PlatformSpec(s.to_string())),
        }
    }

    /// The platform this binary runs on.
    pub fn host() -> Self {
        Platform {
            os: std::env::consts::OS.to_string(),
            arch: go_arch(std::env::consts::ARCH).to_string(),
            variant: None,
        }
    }

    /// The platform an image config names.
    pub fn of_config(c: &oci_spec::image::ImageConfiguration) -> Self {
        Platform { os: c.os().to_string(), arch: c.architecture().to_string(), variant: c.variant().clone() }
    }

    /// From an OCI descriptor's platform.
    pub fn from_oci(p: &oci_spec::image::Platform) -> Self {
        Platform {
            os: p.os().to_string(),
            arch: go_arch(&p.architecture().to_string()).to_string(),
            variant: p.variant().clone().filter(|v| !v.is_empty()),
        }
    }

    /// With the architecture's default variant filled in.
    pub fn normalized(&self) -> Self {
        let default = match self.arch.as_str() {
            "arm64" => Some("v8"),
            "arm" => Some("v7"),
            "amd64" => Some("v1"),
            _ => None,
        };
        let variant = self.variant.clone().or_else(|| default.map(str::to_string));
        Platform { os: self.os.clone(), arch: self.arch.clone(), variant }
    }
}

fn variant_level(v: Option<&str>) -> Option<u32> {
    v?.strip_prefix('v')?.split('.').next()?.parse().ok()
}

/// Index of the candidate to use for `want`, or None. `None` candidates
/// (descriptors without a platform) are only taken when nothing matches.
pub fn select(candidates: &[Option<Platform>], want: &Platform) -> Option<usize> {
    let want = want.normalized();
    let norm: Vec<Option<Platform>> = candidates.iter().map(|c| c.as_ref().map(Platform::normalized)).collect();
    if let Some(i) = norm.iter().position(|c| c.as_ref() == Some(&want)) {
        return Some(i);
    }
    // An older variant of the same architecture: the newest one that fits.
    let wanted_level = variant_level(want.variant.as_deref());
    let mut best: Option<(u32, usize)> = None;
    for (i, c) in norm.iter().enumerate() {
        let Some(c) = c else { continue };
        if c.os != want.os || c.arch != want.arch {
            continue;
        }
        if let (Some(have), Some(wanted)) = (variant_level(c.variant.as_deref()), wanted_level) {
            if have <= wanted && best.is_none_or(|(b, _)| have > b) {
                best = Some((have, i));
            }
        }
    }
    if let Some((_, i)) = best {
        return Some(i);
    }
    norm.iter().position(Option::is_none)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<Platform> {
        Some(Platform::parse(s).unwrap())
    }

    #[test]
    fn parses_and_normalises() {
        assert_eq!(Platform::parse("linux/x86_64").unwrap().to_string(), "linux/amd64");
        assert!(Platform::parse("linux").is_err());
        assert!(Platform::parse("linux//v7").is_err());
        assert_eq!(Platform::parse("linux/arm64").unwrap().normalized().to_string(), "linux/arm64/v8");
    }

    #[test]
    fn first_exact_match_wins() {
        let c = [p("linux/arm64"), p("linux/amd64"), p("linux/amd64")];
        assert_eq!(select(&c, &Platform::parse("linux/amd64").unwrap()), Some(1));
        assert_eq!(select(&c, &Platform::parse("linux/arm64/v8").unwrap()), Some(0));
        assert_eq!(select(&c, &Platform::parse("linux/s390x").unwrap()), None);
    }

    #[test]
    fn older_variant_is_a_fallback() {
        let c = [p("linux/arm/v5"), p("linux/arm/v6"), p("linux/arm/v8")];
        assert_eq!(select(&c, &Platform::parse("linux/arm/v7").unwrap()), Some(1));
        assert_eq!(select(&c, &Platform::parse("linux/arm").unwrap()), Some(1));
        assert_eq!(select(&[p("linux/amd64/v3")], &Platform::parse("linux/amd64").unwrap()), None);
    }

    #[test]
    fn missing_platform_is_last_resort() {
        let c = [None, p("linux/amd64")];
        assert_eq!(select(&c, &Platform::parse("linux/amd64").unwrap()), Some(1));
        assert_eq!(select(&c, &Platform::parse("linux/arm64").unwrap()), Some(0));
    }
}
