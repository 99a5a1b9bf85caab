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

/// Writes `bytes` into the file at `path` and syncs its data: the first half of a
/// replacement whose caller then renames `path` over the target and syncs the directory
/// (see `crm::store`, which recycles its oldest backup this way). An existing regular file
/// with one link, owned by this user, is overwritten in place (its blocks are reused, so
/// the filesystem neither frees nor allocates them; on a busy disk that is most of the cost
/// of a small commit) and gets `mode`; anything else at `path` is removed and a new file is
/// created with `mode`. The caller must own `path` exclusively (hold a lock): its content is
/// undefined until this returns `Ok`.
pub fn overwrite_synced(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
    let existing = OpenOptions::new()
        .write(true)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(path);
    let reusable = match existing {
        Ok(file) => {
            let meta = file.metadata()?;
            let ours = meta.is_file()
                && meta.nlink() == 1
                && meta.uid() == nix::unistd::geteuid().as_raw();
            ours.then_some((file, meta))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        // A symlink (O_NOFOLLOW) or something unwritable: replaced below.
        Err(_) => None,
    };
    let file = match reusable {
        Some((file, meta)) => {
            if meta.permissions().mode() & 0o7777 != mode {
                file.set_permissions(fs::Permissions::from_mode(mode))?;
            }
            file.write_all_at(bytes, 0)?;
            if meta.len() != bytes.len() as u64 {
                file.set_len(bytes.len() as u64)?;
            }
            file
        }
        None => {
            match fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(path)?;
            file.write_all(bytes)?;
            file
        }
    };
    // Data and size: the caller's rename and directory sync make the name durable.
    file.sync_data()
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
    fn overwrite_synced_reuses_a_private_file_and_replaces_anything_else() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spare");
        overwrite_synced(&path, b"a long first version", 0o600).unwrap();
        let inode = fs::metadata(&path).unwrap().ino();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        overwrite_synced(&path, b"short", 0o600).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"short");
        assert_eq!(meta.ino(), inode, "the file was reused");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        // A second link means the content is someone else's too: never written through.
        let other = dir.path().join("other");
        fs::hard_link(&path, &other).unwrap();
        overwrite_synced(&path, b"third", 0o600).unwrap();
        assert_eq!(fs::read(&other).unwrap(), b"short");
        assert_eq!(fs::read(&path).unwrap(), b"third");
        // Nor through a symlink.
        let target = dir.path().join("target");
        fs::write(&target, b"keep").unwrap();
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        overwrite_synced(&path, b"fourth", 0o600).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"keep");
        assert!(fs::symlink_metadata(&path).unwrap().is_file());
        assert_eq!(fs::read(&path).unwrap(), b"fourth");
    }

    #[test]
    fn write_atomic_into_missing_dir_fails_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("f");
        assert!(write_atomic(&path, b"x", 0o600).is_err());
        assert!(!path.exists());
    }
}
