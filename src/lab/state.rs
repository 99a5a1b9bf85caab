//! The lab's state file, `<lab dir>/state.json`: every namespace and process the lab made, so
//! `ha-lab down` (or a later `ha-lab` of any other verb) acts on exactly those, even after the
//! process that built the lab has died. Written atomically after each change.

use std::io;
use std::path::Path;

use crate::sys::fs::write_atomic;
use crate::sys::proc::ProcessId;

/// Version of the state file's layout.
pub const STATE_VERSION: u32 = 1;

/// One process the lab started.
///
/// ```json
/// {"member":"node1","role":"holder","process":{"pid":4242,"start_ticks":98765}}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProcessRecord {
    /// Member it belongs to (`node1`, `client`).
    pub member: String,
    /// `holder` (the `unshare` process that owns the node's pid namespace) or `init` (pid 1
    /// inside it, which starts and reaps the node's daemons).
    pub role: String,
    /// Pid and start time.
    pub process: ProcessId,
}

/// A daemon the lab meant to start but could not, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NotStarted {
    /// Member it was meant for.
    pub member: String,
    /// Program name, e.g. `ha-ring`.
    pub program: String,
    /// Why: the program's own last words, or what is missing.
    pub reason: String,
}

/// Everything `ha-lab` made for one lab.
///
/// ```json
/// {"version":1,"name":"hakit","nodes":2,"subnet":[192,168,2],"created_at":"2026-01-01T00:00:00Z",
///  "namespaces":["hakit-sw","hakit-node1","hakit-node2","hakit-client"],"processes":[],
///  "cut":[],"partition":[],"extra_bridges":0,"not_started":[],"notes":[],"daemons":["ha-ring -f"]}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LabState {
    /// Layout version ([`STATE_VERSION`]).
    pub version: u32,
    /// Lab name.
    pub name: String,
    /// Number of nodes.
    pub nodes: u8,
    /// First three octets of the lab's /24.
    pub subnet: [u8; 3],
    /// When the lab was created (RFC 3339 UTC).
    pub created_at: String,
    /// Namespaces, recorded *before* each is created so a failed `up` is still cleaned up.
    pub namespaces: Vec<String>,
    /// Processes started, with start times.
    pub processes: Vec<ProcessRecord>,
    /// Members whose link is cut.
    pub cut: Vec<String>,
    /// Nodes crashed and not started since (their port is down until they boot).
    #[serde(default)]
    pub crashed: Vec<String>,
    /// Current partition groups (empty when the switch is whole).
    pub partition: Vec<Vec<String>>,
    /// Partition bridges (`br1`..) currently in the switch namespace.
    pub extra_bridges: usize,
    /// Daemons that were not started, with the reason.
    pub not_started: Vec<NotStarted>,
    /// Other steps skipped or worth knowing (e.g. "ha-keygen not implemented yet").
    pub notes: Vec<String>,
    /// Daemon command lines each node's init starts.
    #[serde(default)]
    pub daemons: Vec<String>,
}

impl LabState {
    /// Reads a state file. Errors are `InvalidData` for a file that does not parse.
    pub fn load(path: &Path) -> io::Result<LabState> {
        let text = std::fs::read(path)?;
        serde_json::from_slice(&text).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })
    }

    /// Writes the state file atomically (readers see the old or the new file, never a mix).
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("state always serialises");
        bytes.push(b'\n');
        write_atomic(path, &bytes, 0o644)
    }

    /// Records for one member.
    pub fn processes_of<'a>(&'a self, member: &'a str) -> impl Iterator<Item = &'a ProcessRecord> {
        self.processes.iter().filter(move |p| p.member == member)
    }
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC (`2026-11-26T06:12:43Z`).
pub fn rfc3339(unix_seconds: u64) -> String {
    let days = unix_seconds / 86_400;
    let secs = unix_seconds % 86_400;
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_673_563), "2026-11-26T06:12:43Z");
    }

    #[test]
    fn state_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let state = LabState {
            version: STATE_VERSION,
            name: "t".into(),
            nodes: 2,
            subnet: [192, 168, 2],
            created_at: rfc3339(0),
            namespaces: vec!["t-sw".into()],
            processes: vec![ProcessRecord {
                member: "node1".into(),
                role: "holder".into(),
                process: ProcessId {
                    pid: 7,
                    start_ticks: 9,
                },
            }],
            cut: vec!["node2".into()],
            crashed: vec![],
            partition: vec![],
            extra_bridges: 0,
            not_started: vec![],
            notes: vec![],
            daemons: vec!["ha-ring -f".into()],
        };
        state.save(&path).unwrap();
        assert_eq!(LabState::load(&path).unwrap(), state);
        std::fs::write(&path, b"{").unwrap();
        assert_eq!(
            LabState::load(&path).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }
}
