//! Where `ha-crm` commands read and change the CIB: a CIB file (the [`super::store`], for
//! `--cib-file`) or the live cluster through the controller's socket ([`super::client`]).
//! Sequential request/answer work; the edits themselves are plain functions handed in.
//!
//! A change is made against the version it was read at: a file is locked for the whole
//! read-edit-write, and the controller refuses a commit whose base epoch moved (`conflict`).
//! [`CibAccess::modify`] reads again and re-applies the edit once on such a refusal, as a
//! one-shot command may; an interactive session should rather show the user the new state.

use std::fmt;
use std::path::{Path, PathBuf};

use super::cib::Cib;
use super::client::CrmClient;
use super::controller::StatusSnapshot;
use super::store::{CibFile, StoreError};
use crate::ipc;

/// Why the CIB could not be read or changed. Every variant leaves the CIB as it was.
#[derive(Debug)]
pub enum AccessError {
    /// Nothing answers on the controller's socket (the cluster stack is not running).
    Unreachable {
        /// The socket tried.
        socket: PathBuf,
        /// The connection error.
        source: ipc::Error,
    },
    /// The controller has no synchronised partition (no DC): nothing can be committed now.
    Unavailable(String),
    /// The CIB changed since it was read (after the retry, when one was allowed).
    Conflict(String),
    /// The controller refused the request for another reason (`code: message`).
    Refused(ipc::ErrorBody),
    /// Talking to the controller failed after connecting (timeout, closed, bad reply).
    Ipc(ipc::Error),
    /// The CIB file could not be read or written.
    Store(StoreError),
    /// The operation needs the live cluster and the CIB is a file.
    NeedsCluster(String),
}

impl AccessError {
    /// True when the controller could not be reached or has no DC: exit 3 for commands.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            AccessError::Unreachable { .. } | AccessError::Unavailable(_)
        )
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccessError::Unreachable { socket, source } => {
                let reason = match source {
                    ipc::Error::Connect { source, .. } => match source.kind() {
                        std::io::ErrorKind::NotFound => "no such socket".to_string(),
                        std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                        _ => source.to_string(),
                    },
                    other => other.to_string(),
                };
                write!(
                    f,
                    "cannot reach the controller at {}: {reason}",
                    socket.display()
                )
            }
            AccessError::Unavailable(message) => {
                write!(f, "the cluster cannot take changes now: {message}")
            }
            AccessError::Conflict(message) => write!(f, "the CIB changed meanwhile: {message}"),
            AccessError::Refused(body) => write!(f, "the controller refused: {}", body.message),
            AccessError::Ipc(error) => write!(f, "controller request failed: {error}"),
            AccessError::Store(error) => write!(f, "{error}"),
            AccessError::NeedsCluster(what) => write!(
                f,
                "{what} needs a running cluster; a CIB file has no live state to act on"
            ),
        }
    }
}

impl std::error::Error for AccessError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AccessError::Unreachable { source, .. } | AccessError::Ipc(source) => Some(source),
            AccessError::Store(error) => Some(error),
            _ => None,
        }
    }
}

impl From<StoreError> for AccessError {
    fn from(error: StoreError) -> AccessError {
        AccessError::Store(error)
    }
}

/// Either the edit refused (its own error) or the CIB could not be read or written.
#[derive(Debug)]
pub enum ModifyError<E> {
    /// The edit refused; nothing was written.
    Edit(E),
    /// Reading or committing failed; nothing was written.
    Access(AccessError),
}

impl<E> From<AccessError> for ModifyError<E> {
    fn from(error: AccessError) -> ModifyError<E> {
        ModifyError::Access(error)
    }
}

/// The CIB a command works on.
#[derive(Debug, Clone)]
pub enum CibAccess {
    /// A CIB file (created on first commit).
    File(CibFile),
    /// The controller listening on this socket.
    Live(PathBuf),
}

impl CibAccess {
    /// True for a CIB file.
    pub fn is_file(&self) -> bool {
        matches!(self, CibAccess::File(_))
    }

    /// A connection to the controller (live mode only).
    pub fn client(&self) -> Result<CrmClient, AccessError> {
        match self {
            CibAccess::Live(socket) => connect(socket),
            CibAccess::File(_) => Err(AccessError::NeedsCluster("this".into())),
        }
    }

    /// The current CIB (an empty one for a file that does not exist yet).
    pub fn load(&self) -> Result<Cib, AccessError> {
        match self {
            CibAccess::File(file) => Ok(file.load_or_empty()?),
            CibAccess::Live(socket) => connect(socket)?.cib().map_err(remote),
        }
    }

    /// The controller's view of the cluster (live mode only).
    pub fn status(&self) -> Result<StatusSnapshot, AccessError> {
        match self {
            CibAccess::Live(socket) => connect(socket)?.status().map_err(remote),
            CibAccess::File(_) => Err(AccessError::NeedsCluster("cluster status".into())),
        }
    }

    /// Writes `next`, made from `base`. A file takes the whole CIB (status included, version
    /// raised: `epoch` when the configuration changed, else `num_updates`) and refuses when
    /// its stored version is no longer `base`'s; the controller takes the configuration and
    /// answers once every member stored it. Returns the new epoch.
    pub fn commit(&self, base: &Cib, next: &Cib) -> Result<u64, AccessError> {
        match self {
            CibAccess::File(file) => {
                let _lock = file.lock()?;
                store_locked(file, base, next)
            }
            CibAccess::Live(socket) => connect(socket)?
                .commit(base.epoch, &next.configuration)
                .map_err(remote),
        }
    }

    /// Reads the CIB, applies `edit` and commits the result, retrying once (read again, edit
    /// again) when the controller says the CIB changed meanwhile. A file stays locked from
    /// read to write, so it never conflicts. When `edit` changes nothing, nothing is written.
    /// Returns the edit's answer and the CIB as committed.
    pub fn modify<T, E>(
        &self,
        mut edit: impl FnMut(&mut Cib) -> Result<T, E>,
    ) -> Result<(T, Cib), ModifyError<E>> {
        match self {
            CibAccess::File(file) => {
                let _lock = file.lock().map_err(AccessError::from)?;
                let base = file.load_or_empty().map_err(AccessError::from)?;
                let mut next = base.clone();
                let answer = edit(&mut next).map_err(ModifyError::Edit)?;
                if next != base {
                    store_locked(file, &base, &next)?;
                    next = file.load_or_empty().map_err(AccessError::from)?;
                }
                Ok((answer, next))
            }
            CibAccess::Live(socket) => {
                let mut client = connect(socket)?;
                let mut attempts = 0;
                loop {
                    attempts += 1;
                    let base = client.cib().map_err(remote)?;
                    let mut next = base.clone();
                    let answer = edit(&mut next).map_err(ModifyError::Edit)?;
                    if next.configuration == base.configuration {
                        return Ok((answer, next));
                    }
                    match client
                        .commit(base.epoch, &next.configuration)
                        .map_err(remote)
                    {
                        Ok(epoch) => {
                            next.epoch = epoch;
                            next.num_updates = 0;
                            return Ok((answer, next));
                        }
                        Err(AccessError::Conflict(_)) if attempts < 2 => continue,
                        Err(error) => return Err(error.into()),
                    }
                }
            }
        }
    }
}

fn store_locked(file: &CibFile, base: &Cib, next: &Cib) -> Result<u64, AccessError> {
    let mut next = next.clone();
    next.admin_epoch = base.admin_epoch;
    next.epoch = base.epoch;
    next.num_updates = base.num_updates;
    if next.configuration != base.configuration {
        next.bump_epoch();
    } else {
        next.bump_num_updates();
    }
    // A file that does not exist yet has nothing to conflict with.
    let expected = file.load()?.map(|_| base.version());
    file.store(&next, expected)?;
    Ok(next.epoch)
}

fn connect(socket: &Path) -> Result<CrmClient, AccessError> {
    CrmClient::connect(socket).map_err(|source| AccessError::Unreachable {
        socket: socket.to_path_buf(),
        source,
    })
}

/// Sorts a controller error into the kinds commands act on.
fn remote(error: ipc::Error) -> AccessError {
    match error {
        ipc::Error::Remote(body) if body.code == "conflict" => AccessError::Conflict(body.message),
        ipc::Error::Remote(body) if body.code == "unavailable" || body.code == "not_ready" => {
            AccessError::Unavailable(body.message)
        }
        ipc::Error::Remote(body) => AccessError::Refused(body),
        other => AccessError::Ipc(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::cib::Node;

    fn add_node(cib: &mut Cib, name: &str) -> Result<(), String> {
        if cib.configuration.find_node(name).is_some() {
            return Err(format!("{name} exists"));
        }
        cib.configuration.nodes.push(Node {
            id: name.into(),
            uname: name.into(),
            ..Node::default()
        });
        Ok(())
    }

    #[test]
    fn file_modify_writes_once_and_raises_the_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let access = CibAccess::File(CibFile::new(dir.path().join("cib.json")));
        let ((), cib) = access.modify(|cib| add_node(cib, "node1")).unwrap();
        assert_eq!(cib.version(), (0, 1, 0));
        let ((), cib) = access.modify(|cib| add_node(cib, "node2")).unwrap();
        assert_eq!(cib.version(), (0, 2, 0));
        assert_eq!(access.load().unwrap().configuration.nodes.len(), 2);
    }

    #[test]
    fn refused_edit_leaves_the_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let file = CibFile::new(dir.path().join("cib.json"));
        let access = CibAccess::File(file.clone());
        access.modify(|cib| add_node(cib, "node1")).unwrap();
        let before = std::fs::read(file.path()).unwrap();
        let error = access.modify(|cib| add_node(cib, "node1")).unwrap_err();
        assert!(matches!(error, ModifyError::Edit(ref m) if m == "node1 exists"));
        assert_eq!(std::fs::read(file.path()).unwrap(), before);
    }

    #[test]
    fn status_only_change_raises_num_updates() {
        let dir = tempfile::tempdir().unwrap();
        let access = CibAccess::File(CibFile::new(dir.path().join("cib.json")));
        access.modify(|cib| add_node(cib, "node1")).unwrap();
        let ((), cib) = access
            .modify(|cib| {
                cib.status.have_quorum = Some(true);
                Ok::<(), String>(())
            })
            .unwrap();
        assert_eq!(cib.version(), (0, 1, 1));
    }

    #[test]
    fn live_mode_without_controller_is_unreachable() {
        let dir = tempfile::tempdir().unwrap();
        let access = CibAccess::Live(dir.path().join("crm.sock"));
        let error = access.load().unwrap_err();
        assert!(error.is_unreachable(), "{error}");
        assert!(error.to_string().contains("no such socket"), "{error}");
        let error = access
            .modify(|cib| add_node(cib, "node1"))
            .map(|_| ())
            .unwrap_err();
        assert!(matches!(error, ModifyError::Access(ref e) if e.is_unreachable()));
    }
}
