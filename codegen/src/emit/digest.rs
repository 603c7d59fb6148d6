//! What a service's published files were rendered from, kept next to them
//! so that a run whose inputs did not change renders nothing.
//!
//! The digest covers everything that shapes the files: the descriptor, the
//! crate and trait named on the page, the version of accord, the OpenAPI
//! version, the client languages, the AsyncAPI options and the text of
//! every template (built-in or override). [`DIGEST_FILE`] records it, with
//! each file written and its size. A later run skips a service only when
//! the recorded digest and accord version are its own and every recorded
//! file is still there with its recorded size; anything else (a changed
//! contract or option, other templates, another accord, a file deleted or
//! edited by hand) renders the service again. The file is removed before
//! a service is rewritten and written after its last file, so a run that
//! stops half-way is never taken as up to date.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

use accord::spec::AsyncApiOptions;

use super::OpenApiVersion;
use crate::export::ExportedService;
use crate::lang::Language;
use crate::templates::Templates;

/// The file, in each service folder, recording what its files were
/// rendered from.
pub const DIGEST_FILE: &str = ".accord-digest";

/// The version of accord, as recorded in [`DIGEST_FILE`].
const GENERATOR: &str = concat!("accord ", env!("CARGO_PKG_VERSION"));

/// The inputs that shape every service's files alike.
#[derive(Debug, Clone)]
pub struct Settings {
    text: String,
}

impl Settings {
    /// The settings of one run.
    pub fn new(
        openapi_version: OpenApiVersion,
        languages: &[&dyn Language],
        templates: &Templates,
        asyncapi: &AsyncApiOptions,
    ) -> Self {
        let names: Vec<&str> = languages.iter().map(|l| l.name()).collect();
        Settings {
            text: format!(
                "{GENERATOR}\nopenapi {openapi_version:?}\nlanguages {}\nasyncapi {asyncapi:?}\n\
                 templates {:016x}\n",
                names.join(","),
                templates.digest()
            ),
        }
    }
}

/// The digest of `service`'s files under `settings`, as 16 hex digits.
pub fn of(service: &ExportedService, settings: &Settings) -> String {
    let mut hasher = Fnv1a::default();
    hasher.add(settings.text.as_bytes());
    hasher.add(service.package.as_bytes());
    hasher.add(b"\n");
    hasher.add(service.rust_path.as_bytes());
    hasher.add(b"\n");
    serde_json::to_writer(&mut hasher, &service.descriptor).expect("descriptors always serialize");
    format!("{:016x}", hasher.0)
}

/// The contents of [`DIGEST_FILE`] for a service whose files are `files`
/// (path below the folder -> contents).
pub fn record(digest: &str, files: &BTreeMap<String, String>) -> String {
    let mut text = format!(
        "# Written by `accord generate`: what the files of this folder were rendered from.\n\
         # Delete it to have them rendered again.\n\
         generator {GENERATOR}\ndigest {digest}\n"
    );
    for (path, contents) in files {
        let _ = writeln!(text, "file {} {path}", contents.len());
    }
    text
}

/// The files recorded in `folder`'s [`DIGEST_FILE`] (path -> size), when it
/// records `digest` by this version of accord and every file is still
/// there with its size: the folder is up to date.
pub fn up_to_date(folder: &Path, digest: &str) -> Option<Vec<String>> {
    let recorded = std::fs::read_to_string(folder.join(DIGEST_FILE)).ok()?;
    let mut lines = recorded.lines().filter(|l| !l.starts_with('#'));
    if lines.next()?.strip_prefix("generator ")? != GENERATOR
        || lines.next()?.strip_prefix("digest ")? != digest
    {
        return None;
    }
    let mut files = Vec::new();
    for line in lines {
        let (size, path) = line.strip_prefix("file ")?.split_once(' ')?;
        let size: u64 = size.parse().ok()?;
        let metadata = std::fs::metadata(folder.join(path)).ok()?;
        if !metadata.is_file() || metadata.len() != size {
            return None;
        }
        files.push(path.to_owned());
    }
    (!files.is_empty()).then_some(files)
}

/// 64-bit FNV-1a, fed through [`io::Write`] so values hash as they
/// serialize. Stable across Rust releases, unlike std's hasher.
pub(crate) struct Fnv1a(pub(crate) u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    pub(crate) fn add(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl io::Write for Fnv1a {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.add(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
