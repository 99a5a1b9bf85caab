//! The cluster authkey: a random secret shared by every node, from which the ring derives
//! its HMAC and encryption keys.
//!
//! Loading refuses a key file that anyone but its owner can read or write (mode bits
//! `0o077`): a readable key lets any local user forge ring traffic, so this is an error,
//! not a warning. `ha-keygen` always writes mode 0400.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Smallest accepted key, in bytes.
pub const MIN_KEY_BYTES: usize = 128;
/// Largest accepted key, in bytes.
pub const MAX_KEY_BYTES: usize = 4096;
/// Size `ha-keygen` writes by default.
pub const DEFAULT_KEY_BYTES: usize = 256;
/// The only mode `ha-keygen` writes: owner read-only.
pub const KEY_FILE_MODE: u32 = 0o400;

/// Why a key could not be used. Nothing is changed by loading or checking.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be opened or read.
    #[error("cannot read key {}", path.display())]
    Read {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The key's size is outside [`MIN_KEY_BYTES`]..=[`MAX_KEY_BYTES`].
    #[error("key is {bytes} bytes; expected {MIN_KEY_BYTES} to {MAX_KEY_BYTES}")]
    BadSize {
        /// The size found (or [`MAX_KEY_BYTES`] + 1 when it was longer).
        bytes: usize,
    },
    /// The key file is readable or writable by group or others.
    #[error(
        "key {} has mode {mode:04o}; expected no group or other access (0400 or 0600)",
        path.display()
    )]
    LoosePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file is not a regular file.
    #[error("key {} is not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
}

/// The shared secret. `Debug` shows only the fingerprint.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthKey {
    bytes: Vec<u8>,
}

impl AuthKey {
    /// A key from raw bytes, checking the size.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<AuthKey, KeyError> {
        if !(MIN_KEY_BYTES..=MAX_KEY_BYTES).contains(&bytes.len()) {
            return Err(KeyError::BadSize { bytes: bytes.len() });
        }
        Ok(AuthKey { bytes })
    }

    /// Reads a key from any reader, at most [`MAX_KEY_BYTES`] + 1 bytes, checking the size.
    pub fn read_from(reader: impl Read, what: &Path) -> Result<AuthKey, KeyError> {
        let mut bytes = Vec::with_capacity(DEFAULT_KEY_BYTES);
        reader
            .take(MAX_KEY_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| KeyError::Read {
                path: what.into(),
                source,
            })?;
        AuthKey::from_bytes(bytes)
    }

    /// Loads a key file: a regular file, no group or other permissions, valid size.
    pub fn load(path: &Path) -> Result<AuthKey, KeyError> {
        let read_err = |source| KeyError::Read {
            path: path.into(),
            source,
        };
        let file = File::open(path).map_err(read_err)?;
        let meta = file.metadata().map_err(read_err)?;
        if !meta.is_file() {
            return Err(KeyError::NotAFile { path: path.into() });
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyError::LoosePermissions {
                path: path.into(),
                mode,
            });
        }
        AuthKey::read_from(file, path)
    }

    /// The raw secret.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Never true: a valid key has at least [`MIN_KEY_BYTES`].
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// `SHA256:` and the 64 lowercase hex digits of the key's SHA-256: equal keys, equal
    /// fingerprints, so two nodes can be compared without showing the key.
    pub fn fingerprint(&self) -> String {
        format!("SHA256:{}", hex(&Sha256::digest(&self.bytes)))
    }
}

impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthKey({} bytes, {})", self.len(), self.fingerprint())
    }
}

impl Drop for AuthKey {
    fn drop(&mut self) {
        // Best effort: do not leave the secret in freed memory.
        self.bytes.iter_mut().for_each(|b| *b = 0);
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Bytes from lowercase or uppercase hex; `None` on odd length or a non-hex digit.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn sizes_outside_the_range_are_refused() {
        assert!(matches!(
            AuthKey::from_bytes(vec![1; 127]),
            Err(KeyError::BadSize { bytes: 127 })
        ));
        assert!(AuthKey::from_bytes(vec![1; 128]).is_ok());
        assert!(AuthKey::from_bytes(vec![1; 4096]).is_ok());
        assert!(AuthKey::from_bytes(vec![1; 4097]).is_err());
    }

    #[test]
    fn fingerprint_is_sha256_of_the_bytes() {
        let key = AuthKey::from_bytes(vec![0; 128]).unwrap();
        // sha256 of 128 zero bytes
        assert_eq!(
            key.fingerprint(),
            "SHA256:38723a2e5e8a17aa7950dc008209944e898f69a7bd10a23c839d341e935fd5ca"
        );
        assert_eq!(key.fingerprint(), key.clone().fingerprint());
        assert!(!format!("{key:?}").contains("0, 0"));
    }

    #[test]
    fn load_refuses_group_or_world_access() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("authkey");
        std::fs::write(&path, [7u8; 256]).unwrap();
        for mode in [0o440, 0o404, 0o600 | 0o020] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            assert!(
                matches!(AuthKey::load(&path), Err(KeyError::LoosePermissions { .. })),
                "mode {mode:o}"
            );
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(AuthKey::load(&path).unwrap().len(), 256);
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0, 171, 255]), "00abff");
        assert_eq!(unhex("00ABff"), Some(vec![0, 171, 255]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
    }
}
