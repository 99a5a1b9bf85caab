//! Running a piece of code inside a named network namespace (`ip netns add NAME` makes
//! `/run/netns/NAME`). Only the calling helper thread switches namespace: the process and its
//! other threads stay where they were.

use std::fs::File;
use std::io;
use std::path::PathBuf;

use nix::sched::{CloneFlags, setns};

/// Directory where `ip netns` keeps its namespace files.
pub const NETNS_DIR: &str = "/run/netns";

/// The file naming network namespace `name`.
pub fn netns_path(name: &str) -> PathBuf {
    PathBuf::from(NETNS_DIR).join(name)
}

/// Runs `body` on a fresh thread that first joins network namespace `name`; sockets it opens
/// live in that namespace. Fails if the namespace does not exist or cannot be entered.
pub fn run_in<T: Send + 'static>(
    name: &str,
    body: impl FnOnce() -> T + Send + 'static,
) -> io::Result<T> {
    let path = netns_path(name);
    let file = File::open(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let handle = std::thread::spawn(move || {
        setns(&file, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
        Ok(body())
    });
    handle
        .join()
        .map_err(|_| io::Error::other("namespace thread panicked"))?
}
