//! `ocf:heartbeat:Dummy`: "running" means its state file exists.

use std::path::PathBuf;

use super::{AgentEnv, Outcome, render_meta_data};
use crate::lrmd::agent::rc;

pub(super) fn meta_data() -> String {
    render_meta_data(
        "Dummy",
        "Test agent that only keeps a state file",
        "Does nothing but remember whether it is running, in a state file. Useful for testing \
         the cluster and as the simplest example of an agent.",
        &[
            (
                "state",
                false,
                true,
                "string",
                Some("/run/resource-agents/Dummy-RESOURCE_ID.state"),
                "Path of the state file",
            ),
            (
                "fake",
                false,
                false,
                "string",
                Some("dummy"),
                "Parameter with no effect",
            ),
        ],
        &[
            ("start", "20s", None),
            ("stop", "20s", None),
            ("monitor", "20s", Some("10s")),
            ("reload", "20s", None),
            ("meta-data", "5s", None),
            ("validate-all", "20s", None),
        ],
    )
}

fn state_file(env: &AgentEnv) -> PathBuf {
    env.param("state").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(&env.rsc_tmp).join(format!("Dummy-{}.state", env.instance))
    })
}

pub(super) fn run(action: &str, env: &AgentEnv) -> Outcome {
    let state = state_file(env);
    match action {
        "start" => {
            if let Some(dir) = state.parent()
                && let Err(e) = std::fs::create_dir_all(dir)
            {
                return Outcome::failed(rc::ERR_PERM, format!("{}: {e}", dir.display()));
            }
            match std::fs::write(&state, b"") {
                Ok(()) => Outcome::code(rc::OK),
                Err(e) => Outcome::failed(rc::ERR_GENERIC, format!("{}: {e}", state.display())),
            }
        }
        "stop" => match std::fs::remove_file(&state) {
            Ok(()) => Outcome::code(rc::OK),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Outcome::code(rc::OK),
            Err(e) => Outcome::failed(rc::ERR_GENERIC, format!("{}: {e}", state.display())),
        },
        "monitor" | "status" => Outcome::code(if state.exists() {
            rc::OK
        } else {
            rc::NOT_RUNNING
        }),
        "validate-all" | "reload" => Outcome::code(rc::OK),
        other => Outcome::failed(rc::UNIMPLEMENTED, format!("action {other} not supported")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dummy_start_monitor_stop_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let mut env = AgentEnv::default();
        env.params
            .insert("state".into(), dir.path().join("s").display().to_string());
        assert_eq!(run("monitor", &env).rc, rc::NOT_RUNNING);
        assert_eq!(run("start", &env).rc, rc::OK);
        assert_eq!(run("start", &env).rc, rc::OK);
        assert_eq!(run("monitor", &env).rc, rc::OK);
        assert_eq!(run("stop", &env).rc, rc::OK);
        assert_eq!(run("stop", &env).rc, rc::OK);
        assert_eq!(run("monitor", &env).rc, rc::NOT_RUNNING);
        assert_eq!(run("promote", &env).rc, rc::UNIMPLEMENTED);
    }
}
