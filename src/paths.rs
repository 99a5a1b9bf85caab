//! Where hakit keeps its files: config (`/etc/ha`), state (`/var/lib/ha`) and run (`/run/ha`)
//! directories, each overridable by `HA_CONF_DIR`, `HA_STATE_DIR` and `HA_RUN_DIR` so several
//! nodes can share one machine in tests and labs.

use std::path::PathBuf;

/// Default configuration directory (`ha.conf`, `authkey`).
pub const DEFAULT_CONF_DIR: &str = "/etc/ha";
/// Default state directory (CIB copies, executor state).
pub const DEFAULT_STATE_DIR: &str = "/var/lib/ha";
/// Default run directory (sockets, pid files).
pub const DEFAULT_RUN_DIR: &str = "/run/ha";

/// Environment variable overriding the configuration directory.
pub const ENV_CONF_DIR: &str = "HA_CONF_DIR";
/// Environment variable overriding the state directory.
pub const ENV_STATE_DIR: &str = "HA_STATE_DIR";
/// Environment variable overriding the run directory.
pub const ENV_RUN_DIR: &str = "HA_RUN_DIR";
/// Environment variable naming the local node where several share a machine.
pub const ENV_NODE_ID: &str = "HA_NODE_ID";

/// The three directories one node uses. Built once by a binary and passed down, so library
/// code never reads the environment itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Paths {
    /// Configuration directory.
    pub conf_dir: PathBuf,
    /// State directory.
    pub state_dir: PathBuf,
    /// Run directory.
    pub run_dir: PathBuf,
}

impl Paths {
    /// Paths from the given lookup (normally `std::env::var_os`), defaults where unset or empty.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<std::ffi::OsString>) -> Paths {
        let pick = |var: &str, default: &str| {
            lookup(var)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or(default.into())
        };
        Paths {
            conf_dir: pick(ENV_CONF_DIR, DEFAULT_CONF_DIR),
            state_dir: pick(ENV_STATE_DIR, DEFAULT_STATE_DIR),
            run_dir: pick(ENV_RUN_DIR, DEFAULT_RUN_DIR),
        }
    }

    /// Paths from the process environment.
    pub fn from_env() -> Paths {
        Paths::from_lookup(|var| std::env::var_os(var))
    }

    /// `ha.conf` in the configuration directory.
    pub fn conf_file(&self) -> PathBuf {
        self.conf_dir.join("ha.conf")
    }

    /// `authkey` in the configuration directory.
    pub fn authkey_file(&self) -> PathBuf {
        self.conf_dir.join("authkey")
    }

    /// The ring daemon's control socket.
    pub fn ring_socket(&self) -> PathBuf {
        self.run_dir.join("ring.sock")
    }

    /// The executor daemon's control socket.
    pub fn lrmd_socket(&self) -> PathBuf {
        self.run_dir.join("lrmd.sock")
    }

    /// The controller's control socket.
    pub fn crm_socket(&self) -> PathBuf {
        self.run_dir.join("crm.sock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_variables_are_unset_or_empty() {
        let paths = Paths::from_lookup(|var| (var == ENV_RUN_DIR).then(|| "".into()));
        assert_eq!(paths.conf_dir, PathBuf::from("/etc/ha"));
        assert_eq!(paths.run_dir, PathBuf::from("/run/ha"));
    }

    #[test]
    fn variables_override_each_directory() {
        let paths = Paths::from_lookup(|var| Some(format!("/tmp/{var}").into()));
        assert_eq!(paths.conf_file(), PathBuf::from("/tmp/HA_CONF_DIR/ha.conf"));
        assert_eq!(
            paths.ring_socket(),
            PathBuf::from("/tmp/HA_RUN_DIR/ring.sock")
        );
        assert_eq!(paths.state_dir, PathBuf::from("/tmp/HA_STATE_DIR"));
    }
}
