//! From a resolved agent, an action and parameters to the [`ActionSpec`] the executor runs.
//!
//! Pure: the agent was found and inspected before; nothing here touches the system.

use std::collections::BTreeMap;

use super::agent::{self, AgentDirs, Class, Implementation, MonitorMethod, OpMeta, ResolvedAgent};
use super::executor::{ActionSpec, Program};

/// Everything needed to plan one action.
#[derive(Debug, Clone)]
pub struct ActionRequest<'a> {
    /// The agent.
    pub agent: &'a ResolvedAgent,
    /// Lookup directories (the OCF root goes into the environment).
    pub dirs: &'a AgentDirs,
    /// Resource id (`OCF_RESOURCE_INSTANCE`).
    pub resource: &'a str,
    /// Action name as the caller says it (`monitor` works for every class).
    pub action: &'a str,
    /// Agent parameters.
    pub params: &'a BTreeMap<String, String>,
    /// Op attributes.
    pub meta: &'a OpMeta,
    /// How monitor/status is carried out.
    pub monitor: MonitorMethod,
}

/// The action name the agent itself understands: LSB and systemd say `status` for `monitor`.
pub fn native_action(class: Class, action: &str) -> &str {
    match (class, action) {
        (Class::Lsb | Class::Systemd, "monitor") => "status",
        (_, other) => other,
    }
}

/// Plans `request` into an [`ActionSpec`].
pub fn action_spec(request: &ActionRequest<'_>) -> ActionSpec {
    let agent = request.agent;
    let action = native_action(agent.name.class, request.action);
    let convention = agent.convention(action);
    let is_status = matches!(action, "status" | "monitor");
    if is_status && request.monitor == MonitorMethod::TrackedProcesses {
        return ActionSpec {
            program: Program::TrackedProcesses,
            env: Vec::new(),
            convention: agent::Convention::Ocf,
        };
    }
    let ocf_env = || {
        agent::ocf_environment(
            &agent.name,
            request.dirs,
            request.resource,
            request.action,
            request.params,
            request.meta,
        )
    };
    match &agent.implementation {
        Implementation::Script { path } if agent.name.class == Class::Lsb => ActionSpec {
            program: Program::HiddenScript {
                path: path.clone(),
                args: vec![action.to_string()],
            },
            env: agent::plain_environment(),
            convention,
        },
        Implementation::Script { path } => ActionSpec {
            program: Program::Exec {
                path: path.clone(),
                args: vec![action.to_string()],
            },
            env: ocf_env(),
            convention,
        },
        Implementation::Builtin { exe, .. } => ActionSpec {
            program: Program::Exec {
                path: exe.clone(),
                args: vec!["builtin".into(), agent.name.to_string(), action.to_string()],
            },
            env: ocf_env(),
            convention,
        },
        Implementation::Systemd { unit } => {
            let args = match action {
                "status" => vec!["is-active".into(), "--quiet".into(), unit.clone()],
                other => vec![other.to_string(), unit.clone()],
            };
            ActionSpec {
                program: Program::Exec {
                    path: "systemctl".into(),
                    args,
                },
                env: agent::plain_environment(),
                convention,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lrmd::agent::{AgentName, Convention};

    fn dirs() -> AgentDirs {
        AgentDirs {
            ocf_root: "/usr/lib/ocf".into(),
            init_dir: "/etc/init.d".into(),
            systemd_running: true,
            builtin_exe: Some("/usr/sbin/ha-lrmd".into()),
            rsc_tmp: crate::lrmd::agent::DEFAULT_RSC_TMP.into(),
        }
    }

    fn plan(agent: &ResolvedAgent, action: &str, monitor: MonitorMethod) -> ActionSpec {
        let dirs = dirs();
        let params = BTreeMap::from([("state".to_string(), "/tmp/s".to_string())]);
        action_spec(&ActionRequest {
            agent,
            dirs: &dirs,
            resource: "r1",
            action,
            params: &params,
            meta: &OpMeta::default(),
            monitor,
        })
    }

    #[test]
    fn lsb_monitor_becomes_hidden_status_with_lsb_codes() {
        let agent = ResolvedAgent {
            name: "lsb:gohttpd".parse().unwrap(),
            implementation: Implementation::Script {
                path: "/etc/init.d/gohttpd".into(),
            },
        };
        let spec = plan(&agent, "monitor", MonitorMethod::Agent);
        assert_eq!(
            spec.program,
            Program::HiddenScript {
                path: "/etc/init.d/gohttpd".into(),
                args: vec!["status".into()]
            }
        );
        assert_eq!(spec.convention, Convention::LsbStatus);
        assert!(!spec.env.iter().any(|(k, _)| k.starts_with("OCF_")));
        let fallback = plan(&agent, "monitor", MonitorMethod::TrackedProcesses);
        assert_eq!(fallback.program, Program::TrackedProcesses);
        let stop = plan(&agent, "stop", MonitorMethod::TrackedProcesses);
        assert_eq!(stop.convention, Convention::Lsb);
    }

    #[test]
    fn builtin_runs_through_ha_lrmd_with_ocf_environment() {
        let agent = ResolvedAgent {
            name: AgentName::ocf("heartbeat", "Dummy"),
            implementation: Implementation::Builtin {
                builtin: crate::lrmd::builtin::Builtin::Dummy,
                exe: "/usr/sbin/ha-lrmd".into(),
            },
        };
        let spec = plan(&agent, "start", MonitorMethod::Agent);
        assert_eq!(
            spec.program,
            Program::Exec {
                path: "/usr/sbin/ha-lrmd".into(),
                args: vec![
                    "builtin".into(),
                    "ocf:heartbeat:Dummy".into(),
                    "start".into()
                ]
            }
        );
        assert!(
            spec.env
                .contains(&("OCF_RESKEY_state".into(), "/tmp/s".into()))
        );
    }

    #[test]
    fn systemd_status_uses_is_active() {
        let agent = ResolvedAgent {
            name: "systemd:nginx".parse().unwrap(),
            implementation: Implementation::Systemd {
                unit: "nginx.service".into(),
            },
        };
        let spec = plan(&agent, "monitor", MonitorMethod::Agent);
        assert_eq!(
            spec.program,
            Program::Exec {
                path: "systemctl".into(),
                args: vec!["is-active".into(), "--quiet".into(), "nginx.service".into()]
            }
        );
        assert_eq!(spec.convention, Convention::Systemd);
    }
}
