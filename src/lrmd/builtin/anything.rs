//! `ocf:heartbeat:anything`: runs any command as a daemon and tracks it by a pid file.

use std::path::PathBuf;

use super::{AgentEnv, Outcome, render_meta_data};
use crate::lrmd::agent::rc;
use crate::lrmd::spawn::{self, DaemonSpec};

pub(super) fn meta_data() -> String {
    render_meta_data(
        "anything",
        "Runs any command as a daemon",
        "Starts binfile with cmdline_options in the background, records its pid in pidfile, \
         and reports it running while that process lives. Stop sends SIGTERM and, if the \
         process lingers, SIGKILL.",
        &[
            ("binfile", true, true, "string", None, "Program to run"),
            (
                "cmdline_options",
                false,
                false,
                "string",
                Some(""),
                "Its arguments (shell words)",
            ),
            (
                "pidfile",
                false,
                false,
                "string",
                Some("/run/resource-agents/anything_RESOURCE_ID.pid"),
                "Pid file to keep",
            ),
            (
                "logfile",
                false,
                false,
                "string",
                Some("/dev/null"),
                "Where its stdout goes",
            ),
            (
                "errlogfile",
                false,
                false,
                "string",
                Some("/dev/null"),
                "Where its stderr goes",
            ),
            (
                "workdir",
                false,
                false,
                "string",
                Some("/"),
                "Directory to run in",
            ),
        ],
        &[
            ("start", "20s", None),
            ("stop", "20s", None),
            ("monitor", "20s", Some("10s")),
            ("meta-data", "5s", None),
            ("validate-all", "5s", None),
        ],
    )
}

fn pid_file(env: &AgentEnv) -> PathBuf {
    env.param("pidfile").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(&env.rsc_tmp).join(format!("anything_{}.pid", env.instance))
    })
}

/// The pid in the pid file, if that process is alive.
fn running_pid(env: &AgentEnv) -> Option<i32> {
    let text = std::fs::read_to_string(pid_file(env)).ok()?;
    let pid: i32 = text.trim().parse().ok()?;
    spawn::is_alive(pid).then_some(pid)
}

pub(super) fn run(action: &str, env: &AgentEnv) -> Outcome {
    let Some(binfile) = env.param("binfile") else {
        return Outcome::failed(rc::NOT_CONFIGURED, "binfile is mandatory");
    };
    match action {
        "monitor" | "status" => Outcome::code(match running_pid(env) {
            Some(_) => rc::OK,
            None => rc::NOT_RUNNING,
        }),
        "validate-all" => validate(binfile),
        "start" => {
            if running_pid(env).is_some() {
                return Outcome::code(rc::OK);
            }
            let checked = validate(binfile);
            if checked.rc != rc::OK {
                return checked;
            }
            start(binfile, env)
        }
        "stop" => {
            let Some(pid) = running_pid(env) else {
                let _ = std::fs::remove_file(pid_file(env));
                return Outcome::code(rc::OK);
            };
            if spawn::terminate(pid, std::time::Duration::from_secs(10)) {
                let _ = std::fs::remove_file(pid_file(env));
                Outcome::code(rc::OK)
            } else {
                Outcome::failed(rc::ERR_GENERIC, format!("process {pid} did not stop"))
            }
        }
        other => Outcome::failed(rc::UNIMPLEMENTED, format!("action {other} not supported")),
    }
}

fn validate(binfile: &str) -> Outcome {
    use std::os::unix::fs::PermissionsExt;
    let path = if binfile.contains('/') {
        Some(PathBuf::from(binfile))
    } else {
        crate::lrmd::agent::AGENT_PATH
            .split(':')
            .map(|dir| PathBuf::from(dir).join(binfile))
            .find(|p| p.exists())
    };
    match path.and_then(|p| std::fs::metadata(p).ok()) {
        Some(meta) if meta.is_file() && meta.permissions().mode() & 0o111 != 0 => {
            Outcome::code(rc::OK)
        }
        _ => Outcome::failed(
            rc::NOT_INSTALLED,
            format!("binfile {binfile} is not an executable"),
        ),
    }
}

fn start(binfile: &str, env: &AgentEnv) -> Outcome {
    let pid_path = pid_file(env);
    if let Some(dir) = pid_path.parent()
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        return Outcome::failed(rc::ERR_PERM, format!("{}: {e}", dir.display()));
    }
    let spec = DaemonSpec {
        command_line: format!(
            "exec {} {}",
            binfile,
            env.param("cmdline_options").unwrap_or_default()
        ),
        stdout: env.param("logfile").unwrap_or("/dev/null").into(),
        stderr: env.param("errlogfile").unwrap_or("/dev/null").into(),
        workdir: env.param("workdir").unwrap_or("/").into(),
    };
    let pid = match spawn::start_daemon(&spec) {
        Ok(pid) => pid,
        Err(e) => return Outcome::failed(rc::ERR_GENERIC, format!("cannot start {binfile}: {e}")),
    };
    if let Err(e) = crate::sys::fs::write_atomic(&pid_path, format!("{pid}\n").as_bytes(), 0o644) {
        spawn::terminate(pid, std::time::Duration::from_secs(2));
        return Outcome::failed(rc::ERR_GENERIC, format!("{}: {e}", pid_path.display()));
    }
    if !spawn::is_alive(pid) {
        return Outcome::failed(rc::ERR_GENERIC, format!("{binfile} exited at once"));
    }
    Outcome::code(rc::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anything_runs_and_stops_a_daemon() {
        let dir = tempfile::tempdir().unwrap();
        let mut env = AgentEnv::default();
        env.params.insert("binfile".into(), "/bin/sleep".into());
        env.params.insert("cmdline_options".into(), "30".into());
        env.params
            .insert("pidfile".into(), dir.path().join("p").display().to_string());
        assert_eq!(run("monitor", &env).rc, rc::NOT_RUNNING);
        assert_eq!(run("start", &env).rc, rc::OK);
        let pid = running_pid(&env).expect("daemon runs");
        assert_eq!(run("start", &env).rc, rc::OK);
        assert_eq!(
            running_pid(&env),
            Some(pid),
            "second start keeps the same daemon"
        );
        assert_eq!(run("stop", &env).rc, rc::OK);
        assert!(!spawn::is_alive(pid));
        assert_eq!(run("monitor", &env).rc, rc::NOT_RUNNING);
        assert_eq!(run("stop", &env).rc, rc::OK);
    }

    #[test]
    fn missing_program_is_not_installed() {
        let mut env = AgentEnv::default();
        env.params
            .insert("binfile".into(), "/nonexistent/prog".into());
        assert_eq!(run("start", &env).rc, rc::NOT_INSTALLED);
        assert_eq!(run("monitor", &AgentEnv::default()).rc, rc::NOT_CONFIGURED);
    }
}
