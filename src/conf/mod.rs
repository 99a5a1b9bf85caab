//! The cluster configuration file `ha.conf`, in corosync.conf's syntax, and the authkey.
//!
//! - [`syntax`]: the generic `section { key: value }` tree with line and column per key.
//! - [`model`]: the typed, validated [`HaConf`] with defaults filled in.
//! - [`identity`]: which node of the configuration this machine is.
//! - [`authkey`]: loading and checking the shared key file.
//!
//! Everything but [`load`] and [`authkey::AuthKey::load`] is pure.

pub mod authkey;
pub mod diag;
pub mod identity;
pub mod model;
pub mod syntax;

use std::fmt;
use std::path::{Path, PathBuf};

pub use diag::Diagnostic;
pub use model::{HaConf, Loaded, Rejected};

/// Largest configuration file read, so a wrong path (a log, a device) fails fast.
pub const MAX_CONF_BYTES: u64 = 1024 * 1024;

/// Why a configuration could not be used. Nothing is changed by loading.
#[derive(Debug, thiserror::Error)]
pub enum ConfError {
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_CONF_BYTES`] or not UTF-8.
    #[error("{}: {what}", path.display())]
    NotText {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    /// The file was read but has errors.
    #[error("{}", Summary(.0))]
    Invalid(Rejected),
}

struct Summary<'a>(&'a Rejected);

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = &self.0.errors;
        match errors.first() {
            Some(first) if errors.len() == 1 => write!(f, "{first}"),
            Some(first) => write!(f, "{first} (and {} more errors)", errors.len() - 1),
            None => write!(f, "invalid configuration"),
        }
    }
}

/// Parses and validates configuration text; `file` names it in diagnostics.
pub fn parse_str(text: &str, file: &str) -> Result<Loaded, Rejected> {
    let tree = syntax::parse(text).map_err(|e| Rejected {
        errors: vec![Diagnostic::new(file, e.pos, &e.what, e.message)],
        warnings: Vec::new(),
    })?;
    model::build(&tree, file)
}

/// Reads, parses and validates a configuration file.
pub fn load(path: &Path) -> Result<Loaded, ConfError> {
    let text = read_text(path)?;
    parse_str(&text, &path.display().to_string()).map_err(ConfError::Invalid)
}

/// Reads a configuration file as text, bounded by [`MAX_CONF_BYTES`].
pub fn read_text(path: &Path) -> Result<String, ConfError> {
    use std::io::Read;
    let read_err = |source| ConfError::Read {
        path: path.into(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_CONF_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_CONF_BYTES {
        return Err(ConfError::NotText {
            path: path.into(),
            what: format!("larger than {MAX_CONF_BYTES} bytes; not a configuration file"),
        });
    }
    String::from_utf8(bytes).map_err(|_| ConfError::NotText {
        path: path.into(),
        what: "not UTF-8 text".into(),
    })
}
