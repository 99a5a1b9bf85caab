//! The CIB file: JSON on disk with a checksum, written atomically, with the previous
//! versions kept beside it (`PATH.1` newest … `PATH.N`). A damaged file (bad checksum,
//! truncated, not JSON) is reported and never used.
//!
//! File layout, one line:
//!
//! ```text
//! {"format":"hakit-cib","format_version":2,"xxh64":"<16 hex>","cib":{…}}
//! ```
//!
//! The checksum (XXH64, seed 0) detects damage, not tampering: it reads a CIB with a thousand
//! resources in a few tens of microseconds, where byte-at-a-time FNV-1a (format version 1,
//! still read) took half a millisecond and SHA-256 more. It covers exactly the bytes of the
//! `cib` value as written, so adding fields to the model later does not invalidate older
//! files. A plain CIB JSON document (no envelope) is also read, for files written by hand or
//! by other tools.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::cib::Cib;
use crate::sys::fs::{overwrite_synced, sync_dir};

const PREFIX: &str = "{\"format\":\"hakit-cib\",\"format_version\":2,\"xxh64\":\"";
/// The envelope of format version 1, checksummed with 64-bit FNV-1a.
const PREFIX_V1: &str = "{\"format\":\"hakit-cib\",\"format_version\":1,\"fnv1a64\":\"";
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
    // One buffer, sized for a typical file, with the checksum filled in after the body is
    // written: a large CIB is neither copied nor regrown piecemeal.
    let mut out = Vec::with_capacity(64 * 1024);
    out.extend_from_slice(PREFIX.as_bytes());
    let digest_at = out.len();
    out.extend_from_slice(&[b'0'; DIGEST_LEN]);
    out.extend_from_slice(MIDDLE.as_bytes());
    let body_at = out.len();
    serde_json::to_writer(&mut out, cib).expect("a CIB always serialises");
    let digest = checksum(&out[body_at..]);
    out[digest_at..digest_at + DIGEST_LEN].copy_from_slice(digest.as_bytes());
    out.extend_from_slice(SUFFIX.as_bytes());
    out
}

/// Reads the file form (or a plain CIB JSON document). `Err` carries the reason it is damaged.
pub fn decode(bytes: &[u8]) -> Result<Cib, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    let envelope = match text.strip_prefix(PREFIX) {
        Some(rest) => Some((rest, checksum as fn(&[u8]) -> String)),
        None => text
            .strip_prefix(PREFIX_V1)
            .map(|rest| (rest, fnv1a64 as _)),
    };
    if let Some((rest, digest_of)) = envelope {
        let (digest, rest) = rest
            .split_at_checked(DIGEST_LEN)
            .ok_or("truncated checksum")?;
        let body = rest
            .strip_prefix(MIDDLE)
            .and_then(|r| r.strip_suffix(SUFFIX))
            .ok_or("truncated or altered envelope")?;
        let actual = digest_of(body.as_bytes());
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

/// XXH64 (seed 0) of `bytes`, as 16 hex digits.
fn checksum(bytes: &[u8]) -> String {
    format!("{:016x}", xxh64(bytes))
}

/// The 64-bit xxHash of `bytes` with seed 0, following the published XXH64 specification:
/// four accumulators over 32-byte stripes, then the tail in 8-, 4- and 1-byte steps, then
/// the final avalanche.
fn xxh64(bytes: &[u8]) -> u64 {
    const P1: u64 = 0x9e37_79b1_85eb_ca87;
    const P2: u64 = 0xc2b2_ae3d_27d4_eb4f;
    const P3: u64 = 0x1656_67b1_9e37_79f9;
    const P4: u64 = 0x85eb_ca77_c2b2_ae63;
    const P5: u64 = 0x27d4_eb2f_1656_67c5;
    fn round(acc: u64, lane: u64) -> u64 {
        acc.wrapping_add(lane.wrapping_mul(P2))
            .rotate_left(31)
            .wrapping_mul(P1)
    }
    fn merge(hash: u64, acc: u64) -> u64 {
        (hash ^ round(0, acc)).wrapping_mul(P1).wrapping_add(P4)
    }
    fn u64_at(chunk: &[u8]) -> u64 {
        u64::from_le_bytes(chunk[..8].try_into().expect("8 bytes"))
    }
    let stripes = bytes.chunks_exact(32);
    let tail = stripes.remainder();
    let mut hash = if bytes.len() >= 32 {
        let mut acc = [P1.wrapping_add(P2), P2, 0, 0u64.wrapping_sub(P1)];
        for stripe in stripes {
            for (lane, acc) in stripe.chunks_exact(8).zip(acc.iter_mut()) {
                *acc = round(*acc, u64_at(lane));
            }
        }
        let mut hash = acc[0]
            .rotate_left(1)
            .wrapping_add(acc[1].rotate_left(7))
            .wrapping_add(acc[2].rotate_left(12))
            .wrapping_add(acc[3].rotate_left(18));
        for acc in acc {
            hash = merge(hash, acc);
        }
        hash
    } else {
        P5
    };
    hash = hash.wrapping_add(bytes.len() as u64);
    let mut words = tail.chunks_exact(8);
    for word in &mut words {
        hash = (hash ^ round(0, u64_at(word)))
            .rotate_left(27)
            .wrapping_mul(P1)
            .wrapping_add(P4);
    }
    let mut rest = words.remainder();
    if rest.len() >= 4 {
        let half = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes"));
        hash = (hash ^ u64::from(half).wrapping_mul(P1))
            .rotate_left(23)
            .wrapping_mul(P2)
            .wrapping_add(P3);
        rest = &rest[4..];
    }
    for byte in rest {
        hash = (hash ^ u64::from(*byte).wrapping_mul(P5))
            .rotate_left(11)
            .wrapping_mul(P1);
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(P2);
    hash ^= hash >> 29;
    hash = hash.wrapping_mul(P3);
    hash ^ (hash >> 32)
}

/// 64-bit FNV-1a of `bytes`, as 16 hex digits (format version 1).
fn fnv1a64(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The version counters of an encoded CIB, read without building the whole model (the
/// commit-time check that nobody else committed in between). The counters are the first
/// fields of the body as this module writes it, so they are read from the start of the file;
/// anything else (a file written by hand) is parsed in full.
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
    if let Some(version) = leading_version(bytes) {
        return Ok(version);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    let body = match text
        .strip_prefix(PREFIX)
        .or_else(|| text.strip_prefix(PREFIX_V1))
    {
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

/// The counters from `PREFIX<digest>MIDDLE{"admin_epoch":A,"epoch":E,"num_updates":N,`, the
/// layout [`encode`] writes; `None` for any other shape.
fn leading_version(bytes: &[u8]) -> Option<(u64, u64, u64)> {
    let rest = bytes
        .strip_prefix(PREFIX.as_bytes())
        .or_else(|| bytes.strip_prefix(PREFIX_V1.as_bytes()))?;
    let rest = rest.get(DIGEST_LEN..)?.strip_prefix(MIDDLE.as_bytes())?;
    let (admin_epoch, rest) = counter(rest, b"{\"admin_epoch\":")?;
    let (epoch, rest) = counter(rest, b",\"epoch\":")?;
    let (num_updates, rest) = counter(rest, b",\"num_updates\":")?;
    rest.starts_with(b",")
        .then_some((admin_epoch, epoch, num_updates))
}

fn counter<'a>(bytes: &'a [u8], key: &[u8]) -> Option<(u64, &'a [u8])> {
    let rest = bytes.strip_prefix(key)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let value = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    Some((value, &rest[digits..]))
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

    /// The start of the file when it holds the counters in [`encode`]'s layout, else the
    /// whole file (for [`stored_version`]).
    fn read_version_prefix(&self) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let mut file = File::open(&self.path)?;
        let mut head = vec![0; 256];
        let mut filled = 0;
        while filled < head.len() {
            match file.read(&mut head[filled..])? {
                0 => break,
                n => filled += n,
            }
        }
        head.truncate(filled);
        if leading_version(&head).is_some() {
            return Ok(head);
        }
        file.read_to_end(&mut head)?;
        Ok(head)
    }

    /// Writes `cib`, keeping the current file as `PATH.1` (older ones shift up, the oldest
    /// beyond `keep` is dropped). With `expected`, refuses when the stored version differs
    /// (someone else committed in between). Call with the lock held.
    pub fn store(&self, cib: &Cib, expected: Option<(u64, u64, u64)>) -> Result<(), StoreError> {
        self.store_encoded(&encode(cib), expected)
    }

    /// [`CibFile::store`] for a CIB already in its file form ([`encode`]), for a caller that
    /// encodes while it does other work.
    pub fn store_encoded(
        &self,
        bytes: &[u8],
        expected: Option<(u64, u64, u64)>,
    ) -> Result<(), StoreError> {
        if let Some(expected) = expected {
            let found = match self.read_version_prefix() {
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
        let spare = self.hidden_path("spare");
        let retired = self.hidden_path("retired");
        // 1. The new version goes into the spare file (a version older than every backup,
        //    overwritten in place) and its data is synced before any name changes.
        overwrite_synced(&spare, bytes, 0o600).map_err(|e| self.io(e))?;
        // 2. The version that would now be dropped is set aside as the next spare instead of
        //    being deleted: freeing and then allocating a file's blocks on every commit costs
        //    more than writing them.
        let current_exists = self.path.exists();
        let mut has_retired = false;
        if current_exists {
            has_retired = match self.keep {
                0 => link_if_present(&self.path, &retired),
                keep => rename_if_present(&self.backup_path(keep), &retired),
            }
            .map_err(|e| self.io(e))?;
            if self.keep > 0 {
                self.rotate_backups()?;
            }
        }
        // 3. The new version takes the name atomically; the old one lives on as `PATH.1`.
        fs::rename(&spare, &self.path).map_err(|e| self.io(e))?;
        if has_retired {
            fs::rename(&retired, &spare).map_err(|e| self.io(e))?;
        }
        // 4. One directory sync makes every rename and link above durable. The backups need
        //    no sync of their own: their data was synced when each was written.
        sync_dir(&parent_dir(&self.path)).map_err(|e| self.io(e))
    }

    /// `.NAME.TAG` beside the file: the spare file a commit writes into, and the retired
    /// version on its way to becoming the next spare. Both are only touched with the lock
    /// held; the spare holds a complete old version (or, after a crash mid-write, garbage)
    /// and is never read.
    fn hidden_path(&self, tag: &str) -> PathBuf {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        parent_dir(&self.path).join(format!(".{name}.{tag}"))
    }

    /// Shifts `PATH.1` … `PATH.keep-1` up by one and links the current file as `PATH.1`.
    /// Only directory entries change, never file contents: a rename replaces its target
    /// atomically, so a crash leaves each name holding one complete earlier version.
    fn rotate_backups(&self) -> Result<(), StoreError> {
        for n in (1..self.keep).rev() {
            rename_if_present(&self.backup_path(n), &self.backup_path(n + 1))
                .map_err(|e| self.io(e))?;
        }
        link_if_present(&self.path, &self.backup_path(1)).map_err(|e| self.io(e))?;
        Ok(())
    }
}

/// Renames `from` to `to`; `Ok(false)` when `from` does not exist.
fn rename_if_present(from: &Path, to: &Path) -> io::Result<bool> {
    match fs::rename(from, to) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Makes `to` a second name of the file at `from`, replacing whatever `to` was; `Ok(false)`
/// when `from` does not exist.
fn link_if_present(from: &Path, to: &Path) -> io::Result<bool> {
    match fs::remove_file(to) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    match fs::hard_link(from, to) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
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
    fn xxh64_matches_the_reference_values() {
        let pattern: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        // From the reference implementation's `xxhsum -H64`.
        assert_eq!(xxh64(b""), 0xef46_db37_51d8_e999);
        assert_eq!(xxh64(b"abc"), 0x44bc_2cf5_ad77_0999);
        assert_eq!(xxh64(&pattern[..45]), 0x90be_fe4f_fd33_063b);
        assert_eq!(xxh64(&pattern), 0x023f_d2ed_1ff9_57d5);
    }

    #[test]
    fn version_1_files_are_still_read() {
        let body = serde_json::to_string(&sample(4)).unwrap();
        let v1 = format!(
            "{PREFIX_V1}{}{MIDDLE}{body}{SUFFIX}",
            fnv1a64(body.as_bytes())
        );
        assert_eq!(decode(v1.as_bytes()).unwrap(), sample(4));
        assert_eq!(stored_version(v1.as_bytes()).unwrap(), (0, 4, 0));
        let damaged = v1.replace("false", "fals3");
        assert!(decode(damaged.as_bytes()).is_err());
    }

    #[test]
    fn stored_version_reads_the_head_or_the_whole_file() {
        let mut cib = sample(7);
        cib.admin_epoch = 2;
        cib.num_updates = 11;
        let bytes = encode(&cib);
        assert_eq!(leading_version(&bytes[..200]), Some((2, 7, 11)));
        // A hand-written file with the counters elsewhere is parsed in full.
        let plain = r#"{"configuration":{},"status":{},"num_updates":1,"epoch":3,"admin_epoch":0}"#;
        assert_eq!(leading_version(plain.as_bytes()), None);
        assert_eq!(stored_version(plain.as_bytes()).unwrap(), (0, 3, 1));
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
        // The version dropped from the backups became the spare the next commit writes into.
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let mut names = names;
        names.sort();
        assert_eq!(
            names,
            [
                ".cib.json.spare",
                "cib.json",
                "cib.json.1",
                "cib.json.2",
                "cib.json.lock"
            ]
        );
        let _lock = file.lock().unwrap();
        file.store(&sample(5), None).unwrap();
        assert_eq!(file.load().unwrap().unwrap().epoch, 5);
        let back2 = decode(&fs::read(file.backup_path(2)).unwrap()).unwrap();
        assert_eq!(back2.epoch, 3);
    }

    #[test]
    fn leftovers_of_an_interrupted_commit_do_no_harm() {
        let dir = tempfile::tempdir().unwrap();
        let file = CibFile::new(dir.path().join("cib.json")).keeping(2);
        for epoch in 1..=3 {
            file.store(&sample(epoch), None).unwrap();
        }
        // As a crash between the last two renames leaves it: a retired version beside a
        // spare holding a half-written one.
        fs::write(dir.path().join(".cib.json.retired"), b"old").unwrap();
        fs::write(dir.path().join(".cib.json.spare"), b"{\"format\":\"hak").unwrap();
        file.store(&sample(4), None).unwrap();
        assert_eq!(file.load().unwrap().unwrap().epoch, 4);
        let back1 = decode(&fs::read(file.backup_path(1)).unwrap()).unwrap();
        let back2 = decode(&fs::read(file.backup_path(2)).unwrap()).unwrap();
        assert_eq!((back1.epoch, back2.epoch), (3, 2));
        assert!(!dir.path().join(".cib.json.retired").exists());
    }

    #[test]
    fn store_without_backups_still_recycles_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = CibFile::new(dir.path().join("cib.json")).keeping(0);
        for epoch in 1..=3 {
            file.store(&sample(epoch), None).unwrap();
        }
        assert_eq!(file.load().unwrap().unwrap().epoch, 3);
        assert!(!file.backup_path(1).exists());
        let spare = decode(&fs::read(dir.path().join(".cib.json.spare")).unwrap()).unwrap();
        assert_eq!(spare.epoch, 2);
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
