//! Semantic versions, their order, and what kind of bump separates two of
//! them.
//!
//! Versions follow [semver 2.0](https://semver.org): `MAJOR.MINOR.PATCH`,
//! an optional `-pre.release` and an optional `+build`, which does not take
//! part in the order. Below 1.0.0 the numbers shift one place, as cargo
//! reads them: in `0.MINOR.PATCH` the minor number is the major one and the
//! patch number the minor one, and every `0.0.PATCH` is a major bump of the
//! one before.

use std::cmp::Ordering;
use std::fmt;

/// A parsed semantic version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The major number.
    pub major: u64,
    /// The minor number.
    pub minor: u64,
    /// The patch number.
    pub patch: u64,
    /// The pre-release identifiers, empty for a release.
    pub pre: Vec<String>,
    /// The text as written.
    pub text: String,
}

impl Version {
    /// Parses `MAJOR.MINOR.PATCH[-PRE][+BUILD]`.
    pub fn parse(text: &str) -> Option<Version> {
        let without_build = match text.split_once('+') {
            Some((_, "")) => return None,
            Some((version, _)) => version,
            None => text,
        };
        let (core, pre) = match without_build.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (without_build, None),
        };
        let mut numbers = core.split('.').map(number);
        let (Some(Some(major)), Some(Some(minor)), Some(Some(patch)), None) = (
            numbers.next(),
            numbers.next(),
            numbers.next(),
            numbers.next(),
        ) else {
            return None;
        };
        let pre = match pre {
            None => Vec::new(),
            Some(pre) => {
                let ids: Vec<String> = pre.split('.').map(str::to_owned).collect();
                let valid = ids.iter().all(|id| {
                    !id.is_empty()
                        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                        && !(id.len() > 1
                            && id.starts_with('0')
                            && id.chars().all(|c| c.is_ascii_digit()))
                });
                if !valid {
                    return None;
                }
                ids
            }
        };
        Some(Version {
            major,
            minor,
            patch,
            pre,
            text: text.to_owned(),
        })
    }

    /// Whether this is a pre-release (`1.0.0-rc.1`).
    pub fn is_pre_release(&self) -> bool {
        !self.pre.is_empty()
    }

    fn triple(&self) -> (u64, u64, u64) {
        (self.major, self.minor, self.patch)
    }

    /// The first version that may break what this one promises.
    pub fn next_major(&self) -> String {
        match (self.major, self.minor) {
            (0, 0) => format!("0.0.{}", self.patch + 1),
            (0, minor) => format!("0.{}.0", minor + 1),
            (major, _) => format!("{}.0.0", major + 1),
        }
    }

    /// The first version that may add to what this one promises.
    pub fn next_minor(&self) -> String {
        match (self.major, self.minor) {
            (0, 0) => format!("0.0.{}", self.patch + 1),
            (0, minor) => format!("0.{minor}.{}", self.patch + 1),
            (major, minor) => format!("{major}.{}.0", minor + 1),
        }
    }
}

/// A number without leading zeros.
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    if !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl Ord for Version {
    /// Semver precedence; versions equal in precedence (differing only in
    /// build metadata) are ordered by their text, so the order is total.
    fn cmp(&self, other: &Self) -> Ordering {
        self.precedence(other)
            .then_with(|| self.text.cmp(&other.text))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Version {
    /// Semver precedence: build metadata is ignored, a pre-release comes
    /// before its release, pre-release identifiers compare numerically when
    /// both are numbers, and numbers come before words.
    pub fn precedence(&self, other: &Self) -> Ordering {
        self.triple().cmp(&other.triple()).then_with(|| {
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (a, b) in self.pre.iter().zip(&other.pre) {
                        let order = match (a.parse::<u64>(), b.parse::<u64>()) {
                            (Ok(a), Ok(b)) => a.cmp(&b),
                            (Ok(_), Err(_)) => Ordering::Less,
                            (Err(_), Ok(_)) => Ordering::Greater,
                            (Err(_), Err(_)) => a.cmp(b),
                        };
                        if order != Ordering::Equal {
                            return order;
                        }
                    }
                    self.pre.len().cmp(&other.pre.len())
                }
            }
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What kind of step leads from a published version to the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bump {
    /// The current version is older than the published one.
    Older,
    /// The same version (build metadata aside).
    Same,
    /// A patch bump: neither additions nor breaking changes are expected.
    Patch,
    /// A minor bump: additions, nothing breaking.
    Minor,
    /// A major bump (or a step away from a pre-release): anything goes.
    Major,
}

impl Bump {
    /// From `published` to `current`.
    pub fn between(published: &Version, current: &Version) -> Bump {
        match current.precedence(published) {
            Ordering::Less => return Bump::Older,
            Ordering::Equal => return Bump::Same,
            Ordering::Greater => {}
        }
        // A pre-release promises nothing, not even to the release it leads to.
        if published.is_pre_release() && published.triple() == current.triple() {
            return Bump::Major;
        }
        let (p, c) = (published, current);
        if p.major != c.major {
            return Bump::Major;
        }
        if c.major == 0 {
            // 0.MINOR.PATCH: the minor number is the major one, and in
            // 0.0.PATCH every patch is.
            if p.minor != c.minor || c.minor == 0 {
                return Bump::Major;
            }
            return Bump::Minor;
        }
        if p.minor != c.minor {
            return Bump::Minor;
        }
        Bump::Patch
    }

    /// `older`, `same`, `patch`, `minor` or `major`.
    pub fn as_str(self) -> &'static str {
        match self {
            Bump::Older => "older",
            Bump::Same => "same",
            Bump::Patch => "patch",
            Bump::Minor => "minor",
            Bump::Major => "major",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap_or_else(|| panic!("{text} should parse"))
    }

    #[test]
    fn parses_semver_and_refuses_the_rest() {
        let version = v("1.2.3-rc.1+build.5");
        assert_eq!((version.major, version.minor, version.patch), (1, 2, 3));
        assert_eq!(version.pre, ["rc", "1"]);
        for bad in [
            "1.2",
            "1.2.3.4",
            "v1.2.3",
            "01.2.3",
            "1.2.3-",
            "1.2.3-a..b",
            "1.2.3-01",
            "1.2.3+",
            "latest",
            "",
        ] {
            assert!(Version::parse(bad).is_none(), "{bad} should not parse");
        }
    }

    #[test]
    fn orders_by_precedence() {
        let mut versions: Vec<Version> = [
            "1.0.0",
            "1.0.0-rc.1",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta.11",
            "1.0.0-beta.2",
            "1.0.0-beta",
            "0.9.10",
            "0.9.9",
            "10.0.0",
            "2.0.0",
        ]
        .iter()
        .map(|t| v(t))
        .collect();
        versions.sort();
        let sorted: Vec<&str> = versions.iter().map(|v| v.text.as_str()).collect();
        assert_eq!(
            sorted,
            [
                "0.9.9",
                "0.9.10",
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
                "2.0.0",
                "10.0.0",
            ]
        );
        assert_eq!(v("1.0.0+a").precedence(&v("1.0.0+b")), Ordering::Equal);
    }

    #[test]
    fn bumps_follow_semver_with_0x_shifted() {
        let bump = |from: &str, to: &str| Bump::between(&v(from), &v(to));
        assert_eq!(bump("1.2.3", "2.0.0"), Bump::Major);
        assert_eq!(bump("1.2.3", "1.3.0"), Bump::Minor);
        assert_eq!(bump("1.2.3", "1.2.4"), Bump::Patch);
        assert_eq!(bump("1.2.3", "1.2.3"), Bump::Same);
        assert_eq!(bump("1.2.3", "1.2.3+other"), Bump::Same);
        assert_eq!(bump("1.2.3", "1.2.2"), Bump::Older);
        assert_eq!(bump("1.2.3", "2.0.0-rc.1"), Bump::Major);
        assert_eq!(bump("2.0.0-rc.1", "2.0.0-rc.2"), Bump::Major);
        assert_eq!(bump("2.0.0-rc.2", "2.0.0"), Bump::Major);
        assert_eq!(bump("0.3.0", "0.4.0"), Bump::Major);
        assert_eq!(bump("0.3.0", "0.3.1"), Bump::Minor);
        assert_eq!(bump("0.0.3", "0.0.4"), Bump::Major);
        assert_eq!(bump("0.9.0", "1.0.0"), Bump::Major);
    }

    #[test]
    fn suggests_the_next_versions() {
        assert_eq!(v("1.2.3").next_major(), "2.0.0");
        assert_eq!(v("1.2.3").next_minor(), "1.3.0");
        assert_eq!(v("0.3.1").next_major(), "0.4.0");
        assert_eq!(v("0.3.1").next_minor(), "0.3.2");
        assert_eq!(v("0.0.3").next_major(), "0.0.4");
        assert_eq!(v("0.0.3").next_minor(), "0.0.4");
    }
}
