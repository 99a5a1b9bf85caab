//! hakit's own resource agents, used when no script of the same name is installed.
//!
//! They run as `ha-lrmd builtin ocf:heartbeat:AGENT ACTION` children with the OCF environment,
//! so they go through the same execution path (process group, timeout, capture) as scripts.

use serde::{Deserialize, Serialize};

/// A built-in agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Builtin {
    /// `ocf:heartbeat:IPaddr2`: a virtual IP address with gratuitous ARP.
    IpAddr2,
    /// `ocf:heartbeat:IPaddr`: the same agent under its older name.
    IpAddr,
    /// `ocf:heartbeat:Dummy`: a state file.
    Dummy,
    /// `ocf:heartbeat:anything`: any command run as a daemon with a pid file.
    Anything,
}

impl Builtin {
    /// Every built-in agent.
    pub const ALL: [Builtin; 4] = [
        Builtin::IpAddr2,
        Builtin::IpAddr,
        Builtin::Dummy,
        Builtin::Anything,
    ];

    /// The OCF provider the agent is filed under.
    pub fn provider(self) -> &'static str {
        "heartbeat"
    }

    /// The agent type name.
    pub fn kind(self) -> &'static str {
        match self {
            Builtin::IpAddr2 => "IPaddr2",
            Builtin::IpAddr => "IPaddr",
            Builtin::Dummy => "Dummy",
            Builtin::Anything => "anything",
        }
    }

    /// The built-in agent with this provider and type, if any.
    pub fn find(provider: &str, kind: &str) -> Option<Builtin> {
        Builtin::ALL
            .into_iter()
            .find(|b| b.provider() == provider && b.kind() == kind)
    }

    /// Whether any built-in agent is filed under `provider`.
    pub fn has_provider(provider: &str) -> bool {
        Builtin::ALL.iter().any(|b| b.provider() == provider)
    }
}

mod anything;
mod dummy;
mod ipaddr;

use std::collections::BTreeMap;

use super::agent::rc;

/// What a built-in action produced: the exit code and what to print.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// OCF exit code.
    pub rc: i32,
    /// Text for standard output (meta-data).
    pub stdout: String,
    /// Text for standard error (`ocf-exit-reason:` lines and diagnostics).
    pub stderr: String,
}

impl Outcome {
    fn code(rc: i32) -> Outcome {
        Outcome {
            rc,
            ..Outcome::default()
        }
    }

    /// A failure with its reason in the OCF `ocf-exit-reason:` form.
    fn failed(rc: i32, reason: impl std::fmt::Display) -> Outcome {
        Outcome {
            rc,
            stdout: String::new(),
            stderr: format!("ocf-exit-reason:{reason}\n"),
        }
    }
}

/// The agent's view of its OCF environment.
#[derive(Debug, Clone, Default)]
pub struct AgentEnv {
    /// `OCF_RESKEY_*` parameters without the prefix (meta attributes excluded).
    pub params: BTreeMap<String, String>,
    /// `OCF_RESOURCE_INSTANCE`.
    pub instance: String,
    /// `HA_RSCTMP`, where agents keep small state.
    pub rsc_tmp: String,
}

impl AgentEnv {
    /// Reads the environment from `(name, value)` pairs (normally `std::env::vars()`).
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> AgentEnv {
        let mut env = AgentEnv {
            rsc_tmp: "/run/resource-agents".into(),
            instance: "default".into(),
            ..AgentEnv::default()
        };
        for (key, value) in vars {
            if let Some(name) = key.strip_prefix("OCF_RESKEY_") {
                if !name.starts_with("CRM_meta_") && name != "crm_feature_set" {
                    env.params.insert(name.to_string(), value);
                }
            } else if key == "OCF_RESOURCE_INSTANCE" {
                env.instance = value;
            } else if key == "HA_RSCTMP" && !value.is_empty() {
                env.rsc_tmp = value;
            }
        }
        env
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

impl Builtin {
    /// The agent's meta-data XML.
    pub fn meta_data(self) -> String {
        match self {
            Builtin::IpAddr2 | Builtin::IpAddr => ipaddr::meta_data(self.kind()),
            Builtin::Dummy => dummy::meta_data(),
            Builtin::Anything => anything::meta_data(),
        }
    }

    /// Runs `action` and returns its outcome.
    pub fn run(self, action: &str, env: &AgentEnv) -> Outcome {
        if action == "meta-data" {
            return Outcome {
                rc: rc::OK,
                stdout: self.meta_data(),
                stderr: String::new(),
            };
        }
        match self {
            Builtin::IpAddr2 | Builtin::IpAddr => ipaddr::run(action, env),
            Builtin::Dummy => dummy::run(action, env),
            Builtin::Anything => anything::run(action, env),
        }
    }
}

/// One parameter for [`render_meta_data`]: name, required, unique, type, default, description.
type ParamSpec<'a> = (&'a str, bool, bool, &'a str, Option<&'a str>, &'a str);

/// Renders meta-data XML in the shape of the OCF resource-agent DTD.
fn render_meta_data(
    name: &str,
    shortdesc: &str,
    longdesc: &str,
    params: &[ParamSpec<'_>],
    actions: &[(&str, &str, Option<&str>)],
) -> String {
    use std::fmt::Write;
    let mut xml = String::new();
    let _ = write!(
        xml,
        "<?xml version=\"1.0\"?>\n<!DOCTYPE resource-agent SYSTEM \"ra-api-1.dtd\">\n\
         <resource-agent name=\"{name}\" version=\"1.0\">\n<version>1.0</version>\n\
         <longdesc lang=\"en\">{}</longdesc>\n<shortdesc lang=\"en\">{}</shortdesc>\n<parameters>\n",
        escape(longdesc),
        escape(shortdesc)
    );
    for (pname, required, unique, kind, default, desc) in params {
        let _ = write!(
            xml,
            "<parameter name=\"{pname}\" required=\"{}\" unique=\"{}\">\n\
             <longdesc lang=\"en\">{}</longdesc>\n<shortdesc lang=\"en\">{}</shortdesc>\n\
             <content type=\"{kind}\"{} />\n</parameter>\n",
            u8::from(*required),
            u8::from(*unique),
            escape(desc),
            escape(desc),
            default
                .map(|d| format!(" default=\"{}\"", escape(d)))
                .unwrap_or_default()
        );
    }
    xml.push_str("</parameters>\n<actions>\n");
    for (aname, timeout, interval) in actions {
        let _ = writeln!(
            xml,
            "<action name=\"{aname}\" timeout=\"{timeout}\"{} />",
            interval
                .map(|i| format!(" interval=\"{i}\" depth=\"0\""))
                .unwrap_or_default()
        );
    }
    xml.push_str("</actions>\n</resource-agent>\n");
    xml
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lrmd::agent::parse_meta_data;

    #[test]
    fn every_builtin_answers_parsable_meta_data() {
        for builtin in Builtin::ALL {
            let meta = parse_meta_data(&builtin.meta_data()).unwrap();
            assert_eq!(meta.name, builtin.kind());
            for action in ["start", "stop", "monitor", "meta-data", "validate-all"] {
                assert!(meta.action(action).is_some(), "{builtin:?} lacks {action}");
            }
        }
        let ip = parse_meta_data(&Builtin::IpAddr2.meta_data()).unwrap();
        let param = ip.parameters.iter().find(|p| p.name == "ip").unwrap();
        assert!(param.required && param.unique);
    }

    #[test]
    fn environment_separates_parameters_from_meta_attributes() {
        let env = AgentEnv::from_vars([
            ("OCF_RESKEY_ip".to_string(), "10.0.0.1".to_string()),
            (
                "OCF_RESKEY_CRM_meta_timeout".to_string(),
                "20000".to_string(),
            ),
            ("OCF_RESOURCE_INSTANCE".to_string(), "vip".to_string()),
        ]);
        assert_eq!(env.params.len(), 1);
        assert_eq!(env.instance, "vip");
    }
}
