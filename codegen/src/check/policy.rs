//! The semver policy: which changes a version step allows.
//!
//! - A breaking (or possibly breaking) change needs a major version; with
//!   the same major version it is an error.
//! - A compatible change needs a minor version; with the same minor version
//!   it is a warning.
//! - A published version never changes: a contract whose version is
//!   published with different content is an error.
//!
//! Below 1.0.0 the minor number is the major one (see [`super::version`]).

use serde::Serialize;

use super::rules::{Breaking, Change};
use super::version::{Bump, Version};

/// How a check ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Nothing to object to.
    Ok,
    /// Allowed, but the version does not say what changed.
    Warning,
    /// Fails the check.
    Error,
}

impl Level {
    /// `ok`, `warning`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// The policy's judgement of one contract against one published version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// How the version steps from the published one.
    pub bump: Bump,
    /// The outcome.
    pub level: Level,
    /// Why, in sentences; empty when there is nothing to say.
    pub reasons: Vec<String>,
}

/// Judges `changes` from `published` to `current`; `identical` says whether
/// the two descriptors are the same, documentation and order included.
pub fn judge(
    published: &Version,
    current: &Version,
    changes: &[Change],
    identical: bool,
) -> Verdict {
    let bump = Bump::between(published, current);
    let breaking = changes
        .iter()
        .filter(|c| c.breaking != Breaking::No)
        .count();
    let compatible = changes.len() - breaking;
    let mut verdict = Verdict {
        bump,
        level: Level::Ok,
        reasons: Vec::new(),
    };
    match bump {
        Bump::Older => {
            verdict.level = Level::Error;
            verdict.reasons.push(format!(
                "the contract's version {current} is older than the published {published}; \
                 compare it with an older version with --against-version"
            ));
        }
        Bump::Same if !identical => {
            let (what, next) = if breaking > 0 {
                (count(breaking, "breaking change"), published.next_major())
            } else if compatible > 0 {
                (
                    count(compatible, "compatible change"),
                    published.next_minor(),
                )
            } else {
                (
                    "no change a rule reports (documentation or declaration order differs)"
                        .to_owned(),
                    next_patch(published),
                )
            };
            verdict.level = Level::Error;
            verdict.reasons.push(format!(
                "version {published} is already published with a different contract ({what}); \
                 a published version must not change: give the contract version {next}"
            ));
        }
        Bump::Same => {}
        Bump::Patch | Bump::Minor | Bump::Major => {
            if breaking > 0 && bump < Bump::Major {
                verdict.level = Level::Error;
                verdict.reasons.push(format!(
                    "{} with the same major version as {published}: make it {} (or undo {})",
                    count(breaking, "breaking change"),
                    published.next_major(),
                    if breaking == 1 { "it" } else { "them" }
                ));
            } else if compatible > 0 && bump < Bump::Minor {
                verdict.level = Level::Warning;
                verdict.reasons.push(format!(
                    "{} with the same minor version as {published}: make it {}",
                    count(compatible, "compatible change"),
                    published.next_minor()
                ));
            }
        }
    }
    verdict
}

fn next_patch(version: &Version) -> String {
    format!("{}.{}.{}", version.major, version.minor, version.patch + 1)
}

/// `1 change`, `2 changes`.
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::rules::{Party, Rule};

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    fn change(rule: Rule) -> Change {
        Change::new(rule, "op", &[Party::Clients], String::new())
    }

    #[test]
    fn breaking_changes_need_a_major_version() {
        let breaking = [change(Rule::OperationRemoved)];
        let verdict = judge(&v("1.2.0"), &v("1.3.0"), &breaking, false);
        assert_eq!((verdict.bump, verdict.level), (Bump::Minor, Level::Error));
        assert!(
            verdict.reasons[0].contains("make it 2.0.0"),
            "{:?}",
            verdict.reasons
        );
        assert_eq!(
            judge(&v("1.2.0"), &v("2.0.0"), &breaking, false).level,
            Level::Ok
        );
        // 0.x: the minor number is the major one.
        assert_eq!(
            judge(&v("0.3.0"), &v("0.3.1"), &breaking, false).level,
            Level::Error
        );
        assert_eq!(
            judge(&v("0.3.0"), &v("0.4.0"), &breaking, false).level,
            Level::Ok
        );
        // A possibly breaking change counts as breaking.
        let possibly = [change(Rule::EventKeyChanged)];
        assert_eq!(
            judge(&v("1.0.0"), &v("1.1.0"), &possibly, false).level,
            Level::Error
        );
    }

    #[test]
    fn compatible_changes_want_a_minor_version() {
        let compatible = [change(Rule::OperationAdded)];
        let verdict = judge(&v("1.2.0"), &v("1.2.1"), &compatible, false);
        assert_eq!((verdict.bump, verdict.level), (Bump::Patch, Level::Warning));
        assert!(verdict.reasons[0].contains("make it 1.3.0"));
        assert_eq!(
            judge(&v("1.2.0"), &v("1.3.0"), &compatible, false).level,
            Level::Ok
        );
        assert_eq!(
            judge(&v("0.3.0"), &v("0.3.1"), &compatible, false).level,
            Level::Ok
        );
        assert_eq!(judge(&v("1.2.0"), &v("1.2.1"), &[], false).level, Level::Ok);
    }

    #[test]
    fn a_published_version_must_not_change() {
        let same = judge(&v("1.2.0"), &v("1.2.0"), &[], true);
        assert_eq!((same.bump, same.level), (Bump::Same, Level::Ok));
        let docs = judge(&v("1.2.0"), &v("1.2.0"), &[], false);
        assert_eq!(docs.level, Level::Error);
        assert!(
            docs.reasons[0].contains("version 1.2.1"),
            "{:?}",
            docs.reasons
        );
        let breaking = judge(
            &v("1.2.0"),
            &v("1.2.0"),
            &[change(Rule::PathChanged)],
            false,
        );
        assert!(breaking.reasons[0].contains("version 2.0.0"));
        let older = judge(&v("1.2.0"), &v("1.1.0"), &[], false);
        assert_eq!((older.bump, older.level), (Bump::Older, Level::Error));
    }
}
