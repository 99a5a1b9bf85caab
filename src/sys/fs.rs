//! Atomic file writes and key-file permission checks.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` so that readers see either the old file or the complete new one,
/// never a partial write: temp file beside the target (created with `mode`, so a key is never
/// world-readable even for an instant), fsync, rename over the target, fsync the directory.
/// On error the target is untouched and the temp file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let (dir, temp) = temp_beside(path, "tmp")?;
    let result = write_temp(&temp, bytes, mode).and_then(|()| fs::rename(&temp, path));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result?;
    sync_dir(&dir)
}

/// Like [`write_atomic`], but fails with `AlreadyExists` instead of replacing an existing
/// file, decided atomically by the kernel (a hard link, not a check-then-rename), so two
/// writers racing for the same path cannot both win.
pub fn create_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let (dir, temp) = temp_beside(path, "new")?;
    let result = write_temp(&temp, bytes, mode).and_then(|()| fs::hard_link(&temp, path));
    let _ = fs::remove_file(&temp);
    result?;
    sync_dir(&dir)
}

/// The target's directory and a per-process temp name in it.
fn temp_beside(path: &Path, tag: &str) -> io::Result<(PathBuf, PathBuf)> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let temp = dir.join(format!(
        ".{}.{tag}.{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    Ok((dir, temp))
}

/// Creates `temp` exclusively with `mode` (never wider, whatever the umask allows later),
/// writes and fsyncs it. A leftover from a killed process with the same pid is replaced.
fn write_temp(temp: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let _ = fs::remove_file(temp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(temp)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Flushes a directory entry change (a rename) to disk.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn write_atomic_replaces_content_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomic(&path, b"one", 0o600).unwrap();
        write_atomic(&path, b"two", 0o400).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o400
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left behind"
        );
    }

    #[test]
    fn create_atomic_never_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        create_atomic(&path, b"first", 0o400).unwrap();
        let err = create_atomic(&path, b"second", 0o400).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"first");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o400
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn write_atomic_into_missing_dir_fails_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("f");
        assert!(write_atomic(&path, b"x", 0o600).is_err());
        assert!(!path.exists());
    }
}
