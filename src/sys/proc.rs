//! Processes seen through `/proc`: start times that make a recorded pid safe to signal, liveness,
//! parent links and network-namespace membership. Used by tools that must clean up exactly the
//! processes they started, never by name.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;

/// A process identified by pid *and* start time, so a recycled pid is never mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProcessId {
    /// Process id in the root pid namespace.
    pub pid: i32,
    /// Start time in clock ticks since boot (`/proc/PID/stat` field 22).
    pub start_ticks: u64,
}

/// The fields of `/proc/PID/stat` this module needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// One-letter state: `R`, `S`, `D`, `Z` (zombie), `X` (dead), ...
    pub state: char,
    /// Parent pid.
    pub ppid: i32,
    /// Start time in clock ticks since boot.
    pub start_ticks: u64,
}

/// Parses the content of `/proc/PID/stat`. The command name may hold spaces and parentheses,
/// so fields are counted after the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3 of the man page, ppid 4, starttime 22.
    Some(Stat {
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        start_ticks: fields.get(19)?.parse().ok()?,
    })
}

/// Reads `/proc/PID/stat`.
pub fn stat(pid: i32) -> io::Result<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unreadable /proc/{pid}/stat"),
        )
    })
}

impl ProcessId {
    /// Identifies a running process by its pid (reads its start time now).
    pub fn of(pid: i32) -> io::Result<ProcessId> {
        Ok(ProcessId {
            pid,
            start_ticks: stat(pid)?.start_ticks,
        })
    }

    /// True while this very process runs (same start time, not a zombie).
    pub fn is_alive(&self) -> bool {
        match stat(self.pid) {
            Ok(s) => s.start_ticks == self.start_ticks && s.state != 'Z' && s.state != 'X',
            Err(_) => false,
        }
    }

    /// Sends `signal` if, and only if, the pid still names this process. Returns whether it was
    /// sent. The check and the kill are not atomic, but a pid is only reused after the old
    /// process was reaped, and a start-time match within that window is what pidfd-less
    /// tools can do.
    pub fn signal_if_alive(&self, signal: Signal) -> bool {
        self.is_alive() && signal::kill(Pid::from_raw(self.pid), signal).is_ok()
    }
}

/// Every pid currently listed in `/proc`.
pub fn all_pids() -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// Direct children of `parent` (by scanning `/proc`).
pub fn children_of(parent: i32) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|&pid| stat(pid).is_ok_and(|s| s.ppid == parent))
        .collect()
}

/// The short command name (`/proc/PID/comm`), empty when gone.
pub fn command_name(pid: i32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim_end().to_string())
        .unwrap_or_default()
}

/// Identity (device, inode) of a namespace file such as `/run/netns/NAME` or `/proc/PID/ns/net`.
pub fn namespace_identity(path: &Path) -> io::Result<(u64, u64)> {
    let meta = fs::metadata(path)?;
    Ok((meta.dev(), meta.ino()))
}

/// Live (non-zombie) processes whose network namespace is the one at `netns_path`.
pub fn processes_in_netns(netns_path: &Path) -> Vec<ProcessId> {
    let Ok(target) = namespace_identity(netns_path) else {
        return Vec::new();
    };
    let me = std::process::id() as i32;
    all_pids()
        .into_iter()
        .filter(|&pid| pid != me)
        .filter(|&pid| {
            namespace_identity(Path::new(&format!("/proc/{pid}/ns/net")))
                .is_ok_and(|id| id == target)
        })
        .filter_map(|pid| ProcessId::of(pid).ok())
        .filter(ProcessId::is_alive)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_last_parenthesis() {
        let line = "4242 (odd) name) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 \
                    1000 200 18446744073709551615";
        let stat = parse_stat(line).unwrap();
        assert_eq!(stat.state, 'S');
        assert_eq!(stat.ppid, 17);
        assert_eq!(stat.start_ticks, 987654);
    }

    #[test]
    fn truncated_stat_is_rejected() {
        assert_eq!(parse_stat("12 (x) S 1"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn own_process_is_alive_and_a_changed_start_time_is_not() {
        let me = ProcessId::of(std::process::id() as i32).unwrap();
        assert!(me.is_alive());
        let impostor = ProcessId {
            start_ticks: me.start_ticks + 1,
            ..me
        };
        assert!(!impostor.is_alive());
        assert!(!impostor.signal_if_alive(Signal::SIGKILL));
    }
}
