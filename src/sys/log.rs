//! A daemon's log lines, routed as ha.conf's `logging` section says: stderr, a log file
//! (appended), syslog (`/dev/log`, RFC 3164 lines, facility daemon), optional timestamps and
//! debug lines. A backgrounded daemon has no stderr, so without a log file or syslog its
//! lines are lost; `ha-ring` warns about that before it detaches.
//!
//! One process-wide logger: daemons are single-threaded and log from everywhere in their
//! loop. Before [`install`] lines go to stderr, as they always did. A failed write never
//! stops the daemon.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::conf::model::Logging;

/// The syslog socket of the local machine.
pub const SYSLOG_SOCKET: &str = "/dev/log";
/// syslog facility `daemon` (3), shifted as RFC 3164 wants it.
const FACILITY_DAEMON: u8 = 3 << 3;
const SEVERITY_INFO: u8 = 6;
const SEVERITY_DEBUG: u8 = 7;

/// Where a daemon's lines go.
pub struct Logger {
    tag: String,
    to_stderr: bool,
    file: Option<(PathBuf, File)>,
    syslog: Option<UnixDatagram>,
    debug: bool,
    timestamp: bool,
    detached: bool,
}

/// What [`Logger::open`] could not set up; the rest of the logger works.
#[derive(Debug)]
pub struct LogSetupError {
    /// What failed (`opening /var/log/ha.log`).
    pub what: String,
    /// Why.
    pub source: io::Error,
}

impl std::fmt::Display for LogSetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.source)
    }
}

impl std::error::Error for LogSetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl Logger {
    /// A logger writing to stderr only, every line, without timestamps.
    pub fn stderr(tag: &str) -> Logger {
        Logger {
            tag: tag.to_string(),
            to_stderr: true,
            file: None,
            syslog: None,
            debug: false,
            timestamp: false,
            detached: false,
        }
    }

    /// A logger for `tag` (`ha-ring`) following `logging`. The log file is opened for
    /// appending (created 0640); syslog is used when `/dev/log` accepts a connection.
    /// An unusable log file is an error (the operator asked for it); a missing syslog
    /// socket only turns syslog off.
    pub fn open(tag: &str, logging: &Logging) -> Result<Logger, LogSetupError> {
        Logger::open_with_syslog_at(tag, logging, Path::new(SYSLOG_SOCKET))
    }

    /// [`Logger::open`] with another syslog socket (tests).
    pub fn open_with_syslog_at(
        tag: &str,
        logging: &Logging,
        syslog_socket: &Path,
    ) -> Result<Logger, LogSetupError> {
        let file = match (&logging.to_logfile, &logging.logfile) {
            (true, Some(path)) => Some((path.clone(), open_append(path)?)),
            _ => None,
        };
        let syslog = if logging.to_syslog {
            connect_syslog(syslog_socket)
        } else {
            None
        };
        Ok(Logger {
            tag: tag.to_string(),
            to_stderr: logging.to_stderr,
            file,
            syslog,
            debug: logging.debug,
            timestamp: logging.timestamp,
            detached: false,
        })
    }

    /// Whether any destination survives detaching from the terminal.
    pub fn has_persistent_output(&self) -> bool {
        self.file.is_some() || self.syslog.is_some()
    }

    /// The log file, when one is written.
    pub fn logfile(&self) -> Option<&Path> {
        self.file.as_ref().map(|(path, _)| path.as_path())
    }

    /// Stops writing to stderr (it is closed once the daemon detaches), also after
    /// [`Logger::reconfigure`].
    pub fn detach_stderr(&mut self) {
        self.to_stderr = false;
        self.detached = true;
    }

    /// Follows a changed `logging` section (on reload). On error the logger is unchanged.
    pub fn reconfigure(&mut self, logging: &Logging) -> Result<(), LogSetupError> {
        let mut fresh = Logger::open(&self.tag, logging)?;
        if self.detached {
            fresh.detach_stderr();
        }
        *self = fresh;
        Ok(())
    }

    /// Whether debug lines are written.
    pub fn is_debug(&self) -> bool {
        self.debug
    }

    /// Writes one informational line everywhere configured.
    pub fn info(&mut self, line: &str) {
        self.write(SEVERITY_INFO, line);
    }

    /// Writes one debug line when `debug: on`.
    pub fn debug(&mut self, line: &str) {
        if self.debug {
            self.write(SEVERITY_DEBUG, line);
        }
    }

    fn write(&mut self, severity: u8, line: &str) {
        let pid = std::process::id();
        let stamp = if self.timestamp {
            format!("{} ", timestamp_now())
        } else {
            String::new()
        };
        let text = format!("{stamp}{}[{pid}]: {line}\n", self.tag);
        if self.to_stderr {
            let _ = io::stderr().lock().write_all(text.as_bytes());
        }
        if let Some((_, file)) = self.file.as_mut() {
            let _ = file.write_all(text.as_bytes());
        }
        if let Some(socket) = &self.syslog {
            // syslogd adds its own timestamp and host.
            let message = format!(
                "<{}>{}[{pid}]: {line}",
                FACILITY_DAEMON | severity,
                self.tag
            );
            let _ = socket.send(message.as_bytes());
        }
    }
}

fn open_append(path: &Path) -> Result<File, LogSetupError> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| LogSetupError {
            what: format!("creating {}", dir.display()),
            source,
        })?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
        .map_err(|source| LogSetupError {
            what: format!("opening log file {}", path.display()),
            source,
        })
}

fn connect_syslog(path: &Path) -> Option<UnixDatagram> {
    let socket = UnixDatagram::unbound().ok()?;
    socket.connect(path).ok()?;
    // A stuck syslogd must not stall the daemon: lines are dropped instead.
    socket.set_nonblocking(true).ok()?;
    Some(socket)
}

/// Now as RFC 3339 UTC with milliseconds (`2026-11-26T06:12:43.120Z`).
fn timestamp_now() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = crate::lab::state::rfc3339(since.as_secs());
    format!(
        "{}.{:03}Z",
        seconds.trim_end_matches('Z'),
        since.subsec_millis()
    )
}

static GLOBAL: Mutex<Option<Logger>> = Mutex::new(None);

/// Makes `logger` the process's logger.
pub fn install(logger: Logger) {
    *GLOBAL.lock().unwrap_or_else(|e| e.into_inner()) = Some(logger);
}

/// Runs `f` on the installed logger, if any.
pub fn with<T>(f: impl FnOnce(&mut Logger) -> T) -> Option<T> {
    GLOBAL
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_mut()
        .map(f)
}

/// Logs an informational line through the installed logger (stderr before [`install`]).
pub fn info(tag: &str, line: &str) {
    if with(|logger| logger.info(line)).is_none() {
        Logger::stderr(tag).info(line);
    }
}

/// Logs a debug line through the installed logger (nothing before [`install`]).
pub fn debug(line: &str) {
    with(|logger| logger.debug(line));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logging(file: &Path, debug: bool, timestamp: bool) -> Logging {
        Logging {
            to_stderr: false,
            to_logfile: true,
            logfile: Some(file.to_path_buf()),
            to_syslog: false,
            debug,
            timestamp,
        }
    }

    #[test]
    fn lines_are_appended_to_the_log_file_debug_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/ha.log");
        let mut logger = Logger::open("ha-test", &logging(&path, false, false)).unwrap();
        assert!(logger.has_persistent_output());
        logger.info("first");
        logger.debug("hidden");
        let mut logger = Logger::open("ha-test", &logging(&path, true, true)).unwrap();
        logger.debug("shown");
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("ha-test["), "{text}");
        assert!(lines[0].ends_with("]: first"), "{text}");
        // 2026-11-26T06:12:43.120Z ha-test[12]: shown
        let (stamp, rest) = lines[1].split_once(' ').unwrap();
        assert_eq!(stamp.len(), 24, "{stamp}");
        assert!(
            stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
            "{stamp}"
        );
        assert!(rest.ends_with("]: shown"), "{text}");
    }

    #[test]
    fn syslog_lines_carry_facility_daemon_and_the_severity() {
        let dir = tempfile::tempdir().unwrap();
        let socket_path = dir.path().join("log.sock");
        let syslogd = UnixDatagram::bind(&socket_path).unwrap();
        let settings = Logging {
            to_stderr: false,
            to_logfile: false,
            logfile: None,
            to_syslog: true,
            debug: true,
            timestamp: true,
        };
        let mut logger = Logger::open_with_syslog_at("ha-test", &settings, &socket_path).unwrap();
        assert!(logger.has_persistent_output());
        logger.info("ring formed");
        logger.debug("details");
        let pid = std::process::id();
        let mut buffer = [0u8; 256];
        let n = syslogd.recv(&mut buffer).unwrap();
        assert_eq!(
            std::str::from_utf8(&buffer[..n]).unwrap(),
            format!("<30>ha-test[{pid}]: ring formed")
        );
        let n = syslogd.recv(&mut buffer).unwrap();
        assert_eq!(
            std::str::from_utf8(&buffer[..n]).unwrap(),
            format!("<31>ha-test[{pid}]: details")
        );
        // No syslog socket: syslog is simply off.
        let gone = dir.path().join("none.sock");
        let logger = Logger::open_with_syslog_at("ha-test", &settings, &gone).unwrap();
        assert!(!logger.has_persistent_output());
    }

    #[test]
    fn an_unwritable_log_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: fails even for root.
        let path = dir.path().join("taken");
        std::fs::create_dir(&path).unwrap();
        let error = Logger::open("ha-test", &logging(&path, false, false))
            .err()
            .unwrap();
        assert!(error.to_string().contains("taken"), "{error}");
    }
}
