//! The CIB file: JSON on disk with a checksum, written atomically, with the previous
//! versions kept beside it (`PATH.1` newest … `PATH.N`). A damaged file (bad checksum,
//! truncated, not JSON) is reported and never used.
//!
//! File layout, one line:
//!
//! ```text
//! {"format":"hakit-cib","format_version":1,"fnv1a64":"<16 hex>","cib":{…}}
//! ```
//!
//! The checksum (64-bit FNV-1a) detects damage, not tampering: a CIB with a thousand resources
//! is checked in well under a millisecond, where SHA-256 without CPU support took several.
//! It covers exactly the bytes of the `cib` value as written, so adding fields to
//! the model later does not invalidate older files. A plain CIB JSON document (no envelope)
//! is also read, for files written by hand or by other tools.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::cib::Cib;
use crate::sys::fs::write_atomic;

const PREFIX: &str = "{\"format\":\"hakit-cib\",\"format_version\":1,\"fnv1a64\":\"";
const DIGEST_LEN: usize = 16;
const MIDDLE: &str = "\",\"cib\":";
const SUFFIX: &str = "}\n";

/// How many previous versions a commit keeps by default.
pub const DEFAULT_KEEP: usize = 5;

/// Why the CIB file could not be read or written.
#[derive(Debug)]
pub enum StoreError {
    /// Reading or writing failed; on write, the file is as it was.
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The file is damaged (checksum mismatch, truncated or not a CIB); it was not used.
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Someone else committed since this copy was read; nothing was written.
    Conflict {
        /// The file.
        path: PathBuf,
        /// Version this copy was based on.
        expected: (u64, u64, u64),
        /// Version on disk now.
        found: (u64, u64, u64),
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            StoreError::Damaged { path, reason } => {
                write!(f, "{}: damaged CIB file: {reason}", path.display())
            }
            StoreError::Conflict {
                path,
                expected,
                found,
            } => write!(
                f,
                "{}: changed by someone else since it was read (version {}.{}.{} is now {}.{}.{})",
                path.display(),
                expected.0,
                expected.1,
                expected.2,
                found.0,
                found.1,
                found.2
            ),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The file form of a CIB.
pub fn encode(cib: &Cib) -> Vec<u8> {
    let body = serde_json::to_string(cib).expect("a CIB always serialises");
    let digest = checksum(body.as_bytes());
    format!("{PREFIX}{digest}{MIDDLE}{body}{SUFFIX}").into_bytes()
}

/// Reads the file form (or a plain CIB JSON document). `Err` carries the reason it is damaged.
pub fn decode(bytes: &[u8]) -> Result<Cib, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    if let Some(rest) = text.strip_prefix(PREFIX) {
        let (digest, rest) = rest
            .split_at_checked(DIGEST_LEN)
            .ok_or("truncated checksum")?;
        let body = rest
            .strip_prefix(MIDDLE)
            .and_then(|r| r.strip_suffix(SUFFIX))
            .ok_or("truncated or altered envelope")?;
        let actual = checksum(body.as_bytes());
        if actual != digest {
            return Err(format!(
                "checksum mismatch (recorded {}…, content {}…)",
                &digest[..12],
                &actual[..12]
            ));
        }
        return serde_json::from_str(body).map_err(|e| format!("invalid CIB JSON: {e}"));
    }
    if text.trim_start().starts_with("{\"format\"") {
        return Err("unreadable envelope".into());
    }
    serde_json::from_str(text).map_err(|e| format!("not a CIB file: {e}"))
}

/// 64-bit FNV-1a of `bytes`, as 16 hex digits.
fn checksum(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The version counters of an encoded CIB, read without building the whole model (the
/// commit-time check that nobody else committed in between).
fn stored_version(bytes: &[u8]) -> Result<(u64, u64, u64), String> {
    #[derive(serde::Deserialize)]
    struct Counters {
        #[serde(default)]
        admin_epoch: u64,
        #[serde(default)]
        epoch: u64,
        #[serde(default)]
        num_updates: u64,
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    let body = match text.strip_prefix(PREFIX) {
        Some(rest) => rest
            .get(DIGEST_LEN..)
            .and_then(|r| r.strip_prefix(MIDDLE))
            .and_then(|r| r.strip_suffix(SUFFIX))
            .ok_or("truncated or altered envelope")?,
        None => text,
    };
    let c: Counters = serde_json::from_str(body).map_err(|e| format!("invalid CIB JSON: {e}"))?;
    Ok((c.admin_epoch, c.epoch, c.num_updates))
}

/// A CIB kept in a file, with backups and an advisory lock for read-modify-write.
#[derive(Debug, Clone)]
pub struct CibFile {
    path: PathBuf,
    keep: usize,
}

/// Holds the exclusive lock on a CIB file until dropped.
#[derive(Debug)]
pub struct Lock {
    _lock: nix::fcntl::Flock<File>,
}

impl CibFile {
    /// The CIB at `path`, keeping [`DEFAULT_KEEP`] previous versions.
    pub fn new(path: impl Into<PathBuf>) -> CibFile {
        CibFile {
            path: path.into(),
            keep: DEFAULT_KEEP,
        }
    }

    /// Keeps `keep` previous versions on commit.
    pub fn keeping(mut self, keep: usize) -> CibFile {
        self.keep = keep;
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Path of the `n`th previous version (1 = newest).
    pub fn backup_path(&self, n: usize) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn io(&self, source: io::Error) -> StoreError {
        StoreError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Takes the exclusive lock (`PATH.lock`), waiting for another writer to finish.
    pub fn lock(&self) -> Result<Lock, StoreError> {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(PathBuf::from(name))
            .map_err(|e| self.io(e))?;
        let lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, errno)| self.io(io::Error::from(errno)))?;
        Ok(Lock { _lock: lock })
    }

    /// The stored CIB; `None` when the file does not exist yet.
    pub fn load(&self) -> Result<Option<Cib>, StoreError> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
        decode(&bytes)
            .map(Some)
            .map_err(|reason| StoreError::Damaged {
                path: self.path.clone(),
                reason,
            })
    }

    /// The stored CIB, or an empty one when the file does not exist yet.
    pub fn load_or_empty(&self) -> Result<Cib, StoreError> {
        Ok(self.load()?.unwrap_or_default())
    }

    /// Writes `cib`, keeping the current file as `PATH.1` (older ones shift up, the oldest
    /// beyond `keep` is dropped). With `expected`, refuses when the stored version differs
    /// (someone else committed in between). Call with the lock held.
    pub fn store(&self, cib: &Cib, expected: Option<(u64, u64, u64)>) -> Result<(), StoreError> {
        if let Some(expected) = expected {
            let found = match fs::read(&self.path) {
                Ok(bytes) => stored_version(&bytes).map_err(|reason| StoreError::Damaged {
                    path: self.path.clone(),
                    reason,
                })?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => (0, 0, 0),
                Err(e) => return Err(self.io(e)),
            };
            if found != expected {
                return Err(StoreError::Conflict {
                    path: self.path.clone(),
                    expected,
                    found,
                });
            }
        }
        if self.keep > 0 && self.path.exists() {
            for n in (1..self.keep).rev() {
                let from = self.backup_path(n);
                if from.exists() {
                    fs::rename(&from, self.backup_path(n + 1)).map_err(|e| self.io(e))?;
                }
            }
            let newest = self.backup_path(1);
            let _ = fs::remove_file(&newest);
            fs::hard_link(&self.path, &newest).map_err(|e| self.io(e))?;
        }
        // write_atomic fsyncs the file and then the directory, so the backup links made above
        // and the rename are both durable when it returns.
        write_atomic(&self.path, &encode(cib), 0o600).map_err(|e| self.io(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(epoch: u64) -> Cib {
        let mut cib = Cib {
            epoch,
            ..Cib::default()
        };
        cib.configuration.properties.set("stonith-enabled", "false");
        cib
    }

    #[test]
    fn encoded_file_round_trips_and_detects_damage() {
        let bytes = encode(&sample(3));
        assert_eq!(decode(&bytes).unwrap(), sample(3));
        let text = String::from_utf8(bytes).unwrap();
        let flipped = text.replace("false", "fals3");
        assert!(
            decode(flipped.as_bytes())
                .unwrap_err()
                .contains("checksum mismatch")
        );
        let truncated = &text[..text.len() - 10];
        assert!(decode(truncated.as_bytes()).is_err());
    }

    #[test]
    fn plain_json_is_accepted() {
        let json = serde_json::to_string(&sample(1)).unwrap();
        assert_eq!(decode(json.as_bytes()).unwrap(), sample(1));
    }

    #[test]
    fn store_keeps_previous_versions() {
        let dir = tempfile::tempdir().unwrap();
        let file = CibFile::new(dir.path().join("cib.json")).keeping(2);
        assert_eq!(file.load().unwrap(), None);
        for epoch in 1..=4 {
            let _lock = file.lock().unwrap();
            file.store(&sample(epoch), None).unwrap();
        }
        assert_eq!(file.load().unwrap().unwrap().epoch, 4);
        let back1 = decode(&fs::read(file.backup_path(1)).unwrap()).unwrap();
        let back2 = decode(&fs::read(file.backup_path(2)).unwrap()).unwrap();
        assert_eq!((back1.epoch, back2.epoch), (3, 2));
        assert!(!file.backup_path(3).exists());
    }

    #[test]
    fn store_refuses_when_version_moved() {
        let dir = tempfile::tempdir().unwrap();
        let file = CibFile::new(dir.path().join("cib.json"));
        file.store(&sample(5), None).unwrap();
        let error = file.store(&sample(6), Some((0, 4, 0))).unwrap_err();
        assert!(matches!(error, StoreError::Conflict { .. }), "{error}");
        assert_eq!(file.load().unwrap().unwrap().epoch, 5);
    }

    #[test]
    fn damaged_file_is_reported_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let file = CibFile::new(dir.path().join("cib.json"));
        fs::write(file.path(), b"{\"format\":\"hakit-cib\",\"form").unwrap();
        let error = file.load().unwrap_err();
        assert!(error.to_string().contains("damaged CIB file"), "{error}");
    }
}
