//! Resource-agent conventions: agent names, where agents live, the environment an OCF agent
//! expects, what exit codes mean, and agent meta-data.
//!
//! Lookup reads directories; nothing in here starts a process (that is `spawn.rs`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::builtin::Builtin;

/// Default OCF root, as installed by Debian's `resource-agents`.
pub const DEFAULT_OCF_ROOT: &str = "/usr/lib/ocf";
/// Default directory of LSB init scripts.
pub const DEFAULT_INIT_DIR: &str = "/etc/init.d";
/// Environment variable overriding the OCF root (the OCF spec's own name).
pub const ENV_OCF_ROOT: &str = "OCF_ROOT";
/// Environment variable overriding the init-script directory.
pub const ENV_INIT_DIR: &str = "HA_INIT_DIR";
/// Environment variable naming where agents keep small state files (`HA_RSCTMP`); several
/// nodes on one machine each need their own.
pub const ENV_RSC_TMP: &str = "HA_RSCTMP";
/// Default of [`ENV_RSC_TMP`], as Debian's resource-agents use.
pub const DEFAULT_RSC_TMP: &str = "/run/resource-agents";
/// OCF resource-agent API version given to agents.
pub const OCF_RA_VERSION: (u32, u32) = (1, 1);
/// PATH given to every agent, so a daemon's own PATH does not change agent behaviour.
pub const AGENT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Default timeout of an action when neither the request nor the caller names one.
pub const DEFAULT_TIMEOUT_MS: u64 = 20_000;

/// A resource-agent standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Open Cluster Framework scripts under `$OCF_ROOT/resource.d/PROVIDER/`.
    Ocf,
    /// LSB init scripts in the init directory.
    Lsb,
    /// systemd units, driven with `systemctl`.
    Systemd,
    /// `lsb` when an init script exists, else `systemd`.
    Service,
}

impl Class {
    /// Every class, in the order `ra classes` prints them.
    pub const ALL: [Class; 4] = [Class::Ocf, Class::Lsb, Class::Systemd, Class::Service];

    /// The class as written in an agent name.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Ocf => "ocf",
            Class::Lsb => "lsb",
            Class::Systemd => "systemd",
            Class::Service => "service",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Class {
    type Err = AgentError;
    fn from_str(text: &str) -> Result<Class, AgentError> {
        match text {
            "ocf" => Ok(Class::Ocf),
            "lsb" => Ok(Class::Lsb),
            "systemd" => Ok(Class::Systemd),
            "service" => Ok(Class::Service),
            _ => Err(AgentError::UnknownClass {
                class: text.to_string(),
            }),
        }
    }
}

/// A parsed agent name: `ocf:PROVIDER:TYPE`, `lsb:NAME`, `systemd:UNIT` or `service:NAME`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgentName {
    /// The standard.
    pub class: Class,
    /// The OCF provider; `None` for every other class.
    pub provider: Option<String>,
    /// The agent (script, unit or service) name.
    pub kind: String,
}

impl AgentName {
    /// An OCF agent name.
    pub fn ocf(provider: &str, kind: &str) -> AgentName {
        AgentName {
            class: Class::Ocf,
            provider: Some(provider.to_string()),
            kind: kind.to_string(),
        }
    }
}

impl fmt::Display for AgentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.provider {
            Some(provider) => write!(f, "{}:{}:{}", self.class, provider, self.kind),
            None => write!(f, "{}:{}", self.class, self.kind),
        }
    }
}

impl Serialize for AgentName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AgentName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<AgentName, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A name part must not walk out of its directory or hide in a dotfile.
fn is_safe_component(part: &str) -> bool {
    !part.is_empty()
        && !part.starts_with('.')
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@+".contains(c))
}

impl FromStr for AgentName {
    type Err = AgentError;
    fn from_str(text: &str) -> Result<AgentName, AgentError> {
        let bad = |why: &str| AgentError::BadName {
            name: text.to_string(),
            why: why.to_string(),
        };
        let parts: Vec<&str> = text.split(':').collect();
        let class: Class = parts[0].parse()?;
        let (provider, kind) = match (class, parts.as_slice()) {
            (Class::Ocf, [_, provider, kind]) => (Some(*provider), *kind),
            (Class::Ocf, _) => return Err(bad("expected ocf:PROVIDER:TYPE")),
            (_, [_, kind]) => (None, *kind),
            (_, _) => return Err(bad(&format!("expected {}:NAME", class))),
        };
        if let Some(provider) = provider.filter(|p| !is_safe_component(p)) {
            return Err(bad(&format!("invalid provider {provider:?}")));
        }
        if !is_safe_component(kind) {
            return Err(bad(&format!("invalid agent name {kind:?}")));
        }
        Ok(AgentName {
            class,
            provider: provider.map(str::to_string),
            kind: kind.to_string(),
        })
    }
}

/// Where agents are looked up. Built once by a binary (from the environment) and passed down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentDirs {
    /// The OCF root (`$OCF_ROOT`, default `/usr/lib/ocf`).
    pub ocf_root: PathBuf,
    /// Directory of LSB init scripts (`$HA_INIT_DIR`, default `/etc/init.d`).
    pub init_dir: PathBuf,
    /// Whether systemd is the running init (`/run/systemd/system` exists).
    pub systemd_running: bool,
    /// The `ha-lrmd` executable that runs built-in agents; `None` disables them.
    pub builtin_exe: Option<PathBuf>,
    /// Agents' state directory (`HA_RSCTMP`).
    pub rsc_tmp: PathBuf,
}

impl AgentDirs {
    /// Directories from the given variable lookup, defaults where unset or empty.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
        systemd_running: bool,
        builtin_exe: Option<PathBuf>,
    ) -> AgentDirs {
        let pick = |var: &str, default: &str| {
            lookup(var)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or(default.into())
        };
        AgentDirs {
            ocf_root: pick(ENV_OCF_ROOT, DEFAULT_OCF_ROOT),
            init_dir: pick(ENV_INIT_DIR, DEFAULT_INIT_DIR),
            systemd_running,
            builtin_exe,
            rsc_tmp: pick(ENV_RSC_TMP, DEFAULT_RSC_TMP),
        }
    }

    /// `$OCF_ROOT/resource.d`.
    pub fn ocf_resource_dir(&self) -> PathBuf {
        self.ocf_root.join("resource.d")
    }
}

/// How an agent is carried out once found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Implementation {
    /// An executable script or program on disk.
    Script {
        /// Its path.
        path: PathBuf,
    },
    /// One of hakit's own agents, run as `ha-lrmd builtin AGENT ACTION`.
    Builtin {
        /// Which one.
        builtin: Builtin,
        /// The `ha-lrmd` executable.
        exe: PathBuf,
    },
    /// A systemd unit, driven by `systemctl`.
    Systemd {
        /// The unit name (`.service` added when no suffix was given).
        unit: String,
    },
}

/// An agent name resolved to what will run. `service:` names are resolved to `lsb` or
/// `systemd` here, so `name.class` is never `Service`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedAgent {
    /// The name as resolved (class never `service`).
    pub name: AgentName,
    /// What runs.
    pub implementation: Implementation,
}

impl ResolvedAgent {
    /// Which exit-code convention the agent's answers follow for `action`.
    pub fn convention(&self, action: &str) -> Convention {
        match (&self.name.class, action) {
            (Class::Lsb, "status" | "monitor") => Convention::LsbStatus,
            (Class::Lsb, _) => Convention::Lsb,
            (Class::Systemd, _) => Convention::Systemd,
            (Class::Ocf | Class::Service, _) => Convention::Ocf,
        }
    }

    /// Whether this is a built-in agent.
    pub fn is_builtin(&self) -> bool {
        matches!(self.implementation, Implementation::Builtin { .. })
    }
}

/// Finds the agent behind `name`. The on-disk agent wins over a built-in of the same name.
pub fn resolve(name: &AgentName, dirs: &AgentDirs) -> Result<ResolvedAgent, AgentError> {
    match name.class {
        Class::Ocf => resolve_ocf(name, dirs),
        Class::Lsb => {
            let path = dirs.init_dir.join(&name.kind);
            check_executable(&path, name)?;
            Ok(ResolvedAgent {
                name: name.clone(),
                implementation: Implementation::Script { path },
            })
        }
        Class::Systemd => resolve_systemd(name, dirs),
        Class::Service => {
            let lsb = AgentName {
                class: Class::Lsb,
                provider: None,
                kind: name.kind.clone(),
            };
            if dirs.init_dir.join(&name.kind).exists() {
                return resolve(&lsb, dirs);
            }
            let systemd = AgentName {
                class: Class::Systemd,
                ..lsb
            };
            if dirs.systemd_running {
                return resolve_systemd(&systemd, dirs);
            }
            Err(AgentError::NotFound {
                agent: name.to_string(),
                looked_in: dirs.init_dir.join(&name.kind),
            })
        }
    }
}

fn resolve_ocf(name: &AgentName, dirs: &AgentDirs) -> Result<ResolvedAgent, AgentError> {
    let provider = name.provider.as_deref().unwrap_or_default();
    let provider_dir = dirs.ocf_resource_dir().join(provider);
    let path = provider_dir.join(&name.kind);
    if path.exists() {
        check_executable(&path, name)?;
        return Ok(ResolvedAgent {
            name: name.clone(),
            implementation: Implementation::Script { path },
        });
    }
    if let (Some(builtin), Some(exe)) = (Builtin::find(provider, &name.kind), &dirs.builtin_exe) {
        return Ok(ResolvedAgent {
            name: name.clone(),
            implementation: Implementation::Builtin {
                builtin,
                exe: exe.clone(),
            },
        });
    }
    if !provider_dir.is_dir() && !Builtin::has_provider(provider) {
        return Err(AgentError::UnknownProvider {
            provider: provider.to_string(),
            looked_in: dirs.ocf_resource_dir(),
        });
    }
    Err(AgentError::NotFound {
        agent: name.to_string(),
        looked_in: path,
    })
}

fn resolve_systemd(name: &AgentName, dirs: &AgentDirs) -> Result<ResolvedAgent, AgentError> {
    if !dirs.systemd_running {
        return Err(AgentError::SystemdNotRunning {
            agent: name.to_string(),
        });
    }
    let unit = if name.kind.contains('.') {
        name.kind.clone()
    } else {
        format!("{}.service", name.kind)
    };
    Ok(ResolvedAgent {
        name: AgentName {
            class: Class::Systemd,
            provider: None,
            kind: name.kind.clone(),
        },
        implementation: Implementation::Systemd { unit },
    })
}

fn check_executable(path: &Path, name: &AgentName) -> Result<(), AgentError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|_| AgentError::NotFound {
        agent: name.to_string(),
        looked_in: path.to_path_buf(),
    })?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(AgentError::NotExecutable {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// The classes this machine can run (`systemd` and `service` only where they work).
pub fn classes(dirs: &AgentDirs) -> Vec<Class> {
    Class::ALL
        .into_iter()
        .filter(|class| dirs.systemd_running || *class != Class::Systemd)
        .collect()
}

/// OCF providers: directories under `$OCF_ROOT/resource.d` plus those of built-in agents.
pub fn providers(dirs: &AgentDirs) -> Vec<String> {
    let mut found: Vec<String> = list_dir(&dirs.ocf_resource_dir(), |p| p.is_dir());
    if dirs.builtin_exe.is_some() {
        found.extend(Builtin::ALL.iter().map(|b| b.provider().to_string()));
    }
    found.sort();
    found.dedup();
    found
}

/// Agents of a class (and, for OCF, a provider), sorted. Built-in agents are included.
pub fn list(
    dirs: &AgentDirs,
    class: Class,
    provider: Option<&str>,
) -> Result<Vec<String>, AgentError> {
    let mut found = match class {
        Class::Ocf => {
            let Some(provider) = provider else {
                return Err(AgentError::BadName {
                    name: "ocf".into(),
                    why: "listing ocf agents needs a provider (see `ra providers`)".into(),
                });
            };
            if !is_safe_component(provider) || !providers(dirs).iter().any(|p| p == provider) {
                return Err(AgentError::UnknownProvider {
                    provider: provider.to_string(),
                    looked_in: dirs.ocf_resource_dir(),
                });
            }
            let mut agents = list_dir(&dirs.ocf_resource_dir().join(provider), is_executable);
            if dirs.builtin_exe.is_some() {
                agents.extend(
                    Builtin::ALL
                        .iter()
                        .filter(|b| b.provider() == provider)
                        .map(|b| b.kind().to_string()),
                );
            }
            agents
        }
        Class::Lsb => list_dir(&dirs.init_dir, is_executable),
        Class::Systemd | Class::Service => {
            return Err(AgentError::SystemdNotRunning {
                agent: format!("{class}:*"),
            });
        }
    };
    found.sort();
    found.dedup();
    Ok(found)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn list_dir(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| keep(&e.path()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| is_safe_component(name))
        .collect()
}

/// Op attributes given to the agent as `OCF_RESKEY_CRM_meta_*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpMeta {
    /// The op's timeout.
    pub timeout_ms: u64,
    /// The op's interval (0 for a one-shot op).
    pub interval_ms: u64,
    /// Node name the op runs on (`CRM_meta_on_node`), if known.
    pub on_node: Option<String>,
    /// Further meta attributes (`notify_type`, `clone`, ...), passed through by name.
    pub extra: BTreeMap<String, String>,
}

/// The environment of an OCF action as the OCF spec and Pacemaker's agents expect it.
///
/// `instance` is the resource id (`OCF_RESOURCE_INSTANCE`); parameter names are passed as
/// given, after checking they are shell-safe names.
pub fn ocf_environment(
    name: &AgentName,
    dirs: &AgentDirs,
    instance: &str,
    action: &str,
    params: &BTreeMap<String, String>,
    meta: &OpMeta,
) -> Vec<(String, String)> {
    let mut env = vec![
        ("PATH".to_string(), AGENT_PATH.to_string()),
        ("LC_ALL".to_string(), "C".to_string()),
        (
            "OCF_ROOT".to_string(),
            dirs.ocf_root.to_string_lossy().into_owned(),
        ),
        (
            "OCF_RA_VERSION_MAJOR".to_string(),
            OCF_RA_VERSION.0.to_string(),
        ),
        (
            "OCF_RA_VERSION_MINOR".to_string(),
            OCF_RA_VERSION.1.to_string(),
        ),
        ("OCF_RESOURCE_INSTANCE".to_string(), instance.to_string()),
        ("OCF_RESOURCE_TYPE".to_string(), name.kind.clone()),
        (
            "OCF_RESOURCE_PROVIDER".to_string(),
            name.provider.clone().unwrap_or_default(),
        ),
        // Pacemaker tells agents what it is; several agents branch on it.
        (
            ENV_RSC_TMP.to_string(),
            dirs.rsc_tmp.to_string_lossy().into_owned(),
        ),
        (
            "OCF_RESKEY_crm_feature_set".to_string(),
            "3.19.0".to_string(),
        ),
        ("OCF_RESKEY_CRM_meta_name".to_string(), action.to_string()),
        (
            "OCF_RESKEY_CRM_meta_timeout".to_string(),
            meta.timeout_ms.to_string(),
        ),
        (
            "OCF_RESKEY_CRM_meta_interval".to_string(),
            meta.interval_ms.to_string(),
        ),
    ];
    if let Some(node) = &meta.on_node {
        env.push(("OCF_RESKEY_CRM_meta_on_node".to_string(), node.clone()));
    }
    // Pacemaker spells meta attributes with dashes (target-role); agents read underscores.
    for (key, value) in &meta.extra {
        let key = key.replace('-', "_");
        if is_valid_param_name(&key) {
            env.push((format!("OCF_RESKEY_CRM_meta_{key}"), value.clone()));
        }
    }
    for (key, value) in params {
        env.push((format!("OCF_RESKEY_{key}"), value.clone()));
    }
    env
}

/// The environment of an LSB or systemd action: a fixed PATH and locale, nothing inherited.
pub fn plain_environment() -> Vec<(String, String)> {
    vec![
        ("PATH".to_string(), AGENT_PATH.to_string()),
        ("LC_ALL".to_string(), "C".to_string()),
    ]
}

/// Whether `key` can be a parameter name (it becomes part of an environment variable name).
pub fn is_valid_param_name(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The rules an agent's exit code is read by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Convention {
    /// OCF codes as they are.
    Ocf,
    /// LSB init-script actions other than status (same numbers as OCF for 0-7).
    Lsb,
    /// LSB `status`: 0 running, 1-3 stopped, 4 unknown.
    LsbStatus,
    /// `systemctl`: 0 ok; for `is-active`, 3 inactive.
    Systemd,
}

/// OCF return codes, by name.
pub mod rc {
    /// Success.
    pub const OK: i32 = 0;
    /// Generic error.
    pub const ERR_GENERIC: i32 = 1;
    /// Invalid or missing parameters.
    pub const ERR_ARGS: i32 = 2;
    /// Action not implemented.
    pub const UNIMPLEMENTED: i32 = 3;
    /// Insufficient privileges.
    pub const ERR_PERM: i32 = 4;
    /// Required software not installed.
    pub const NOT_INSTALLED: i32 = 5;
    /// Resource misconfigured.
    pub const NOT_CONFIGURED: i32 = 6;
    /// Resource is stopped.
    pub const NOT_RUNNING: i32 = 7;
    /// Running in the promoted role.
    pub const RUNNING_PROMOTED: i32 = 8;
    /// Failed in the promoted role.
    pub const FAILED_PROMOTED: i32 = 9;
    /// Running, but degraded (Pacemaker extension).
    pub const DEGRADED: i32 = 190;
    /// Promoted, but degraded (Pacemaker extension).
    pub const DEGRADED_PROMOTED: i32 = 191;
}

/// Maps a raw exit code to its OCF meaning under `convention`.
///
/// LSB status 1 ("dead, pid file exists") and 2 ("dead, lock file exists") mean the service is
/// not running; 4 (unknown) and anything above is a generic error. For a stop, "not running"
/// is success: the resource is where the stop wanted it.
pub fn to_ocf_rc(convention: Convention, action: &str, raw: i32) -> i32 {
    let code = match convention {
        Convention::Ocf | Convention::Lsb => raw,
        Convention::LsbStatus => match raw {
            0 => rc::OK,
            1..=3 => rc::NOT_RUNNING,
            _ => rc::ERR_GENERIC,
        },
        Convention::Systemd => match (action, raw) {
            (_, 0) => rc::OK,
            ("monitor" | "status", 3) => rc::NOT_RUNNING,
            ("monitor" | "status", 4) => rc::NOT_INSTALLED,
            (_, _) => rc::ERR_GENERIC,
        },
    };
    if action == "stop" && code == rc::NOT_RUNNING && convention != Convention::Ocf {
        return rc::OK;
    }
    code
}

/// A short description of an OCF return code.
pub fn rc_text(code: i32) -> &'static str {
    match code {
        rc::OK => "ok",
        rc::ERR_GENERIC => "generic error",
        rc::ERR_ARGS => "invalid parameter",
        rc::UNIMPLEMENTED => "unimplemented feature",
        rc::ERR_PERM => "insufficient privileges",
        rc::NOT_INSTALLED => "not installed",
        rc::NOT_CONFIGURED => "not configured",
        rc::NOT_RUNNING => "not running",
        rc::RUNNING_PROMOTED => "promoted",
        rc::FAILED_PROMOTED => "promoted resource failed",
        rc::DEGRADED => "degraded",
        rc::DEGRADED_PROMOTED => "promoted resource degraded",
        _ => "unknown error (outside the OCF codes)",
    }
}

/// How far a failure reaches, in Pacemaker's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Recover on this node (restart in place).
    Soft,
    /// The resource cannot run on this node; move it.
    Hard,
    /// The configuration is wrong; it cannot run anywhere.
    Fatal,
}

/// Whether `code` is the result `action` wants.
pub fn is_expected(action: &str, code: i32) -> bool {
    match action {
        "monitor" | "status" => matches!(
            code,
            rc::OK | rc::NOT_RUNNING | rc::RUNNING_PROMOTED | rc::DEGRADED | rc::DEGRADED_PROMOTED
        ),
        "stop" => code == rc::OK || code == rc::NOT_RUNNING,
        _ => code == rc::OK,
    }
}

/// The failure kind of an OCF code that is not the expected result of `action`;
/// `None` when the code is expected.
pub fn failure_kind(action: &str, code: i32) -> Option<FailureKind> {
    if is_expected(action, code) {
        return None;
    }
    Some(match code {
        rc::ERR_ARGS | rc::UNIMPLEMENTED | rc::ERR_PERM | rc::NOT_INSTALLED => FailureKind::Hard,
        rc::NOT_CONFIGURED => FailureKind::Fatal,
        _ => FailureKind::Soft,
    })
}

/// Parses an OCF/Pacemaker duration: `20s`, `20`, `500ms`, `2min`, `1h` (plain numbers are
/// seconds), into milliseconds.
pub fn parse_duration_ms(text: &str) -> Result<u64, AgentError> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let bad = || AgentError::BadDuration {
        text: text.to_string(),
    };
    let value: u64 = number.parse().map_err(|_| bad())?;
    let scale = match unit.trim() {
        "ms" | "msec" => 1,
        "" | "s" | "sec" => 1_000,
        "m" | "min" => 60_000,
        "h" | "hr" => 3_600_000,
        _ => return Err(bad()),
    };
    value.checked_mul(scale).ok_or_else(bad)
}

/// One agent parameter from meta-data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    /// Name (`OCF_RESKEY_<name>`).
    pub name: String,
    /// Must be given.
    pub required: bool,
    /// Must be unique across resources of this agent.
    pub unique: bool,
    /// Content type (`string`, `integer`, `boolean`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// Default value, if any.
    pub default: Option<String>,
    /// One-line description.
    pub shortdesc: String,
    /// Long description.
    pub longdesc: String,
}

/// One action an agent advertises.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionInfo {
    /// Action name.
    pub name: String,
    /// Advised minimum timeout.
    pub timeout_ms: Option<u64>,
    /// Advised interval (monitors).
    pub interval_ms: Option<u64>,
    /// Check depth (`OCF_CHECK_LEVEL`).
    pub depth: Option<u32>,
    /// Role the action applies to, if any.
    pub role: Option<String>,
}

/// An agent's meta-data, parsed.
///
/// JSON: `{"name":"Dummy","version":"1.0","shortdesc":"…","longdesc":"…","parameters":[{"name":
/// "state","required":false,"unique":true,"type":"string","default":"/run/…","shortdesc":"State
/// file","longdesc":"…"}],"actions":[{"name":"start","timeout_ms":20000,"interval_ms":null,
/// "depth":null,"role":null}]}`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaData {
    /// Agent name as it calls itself.
    pub name: String,
    /// Agent version.
    pub version: String,
    /// One-line description.
    pub shortdesc: String,
    /// Long description.
    pub longdesc: String,
    /// Parameters in document order.
    pub parameters: Vec<Parameter>,
    /// Actions in document order.
    pub actions: Vec<ActionInfo>,
}

impl MetaData {
    /// The advertised action called `name`.
    pub fn action(&self, name: &str) -> Option<&ActionInfo> {
        self.actions.iter().find(|a| a.name == name)
    }

    /// Checks `params` against the declared parameters: every key known, every required one
    /// present. Keys starting with `CRM_meta_` or `OCF_CHECK_LEVEL` are op attributes, allowed.
    pub fn check_params(
        &self,
        agent: &AgentName,
        params: &BTreeMap<String, String>,
    ) -> Result<(), AgentError> {
        if let Some(unknown) = params
            .keys()
            .find(|key| !self.parameters.iter().any(|p| &p.name == *key))
        {
            let known: Vec<&str> = self.parameters.iter().map(|p| p.name.as_str()).collect();
            return Err(AgentError::UnknownParameter {
                agent: agent.to_string(),
                name: unknown.clone(),
                known: known.join(", "),
            });
        }
        if let Some(missing) = self
            .parameters
            .iter()
            .find(|p| p.required && !params.contains_key(&p.name))
        {
            return Err(AgentError::MissingParameter {
                agent: agent.to_string(),
                name: missing.name.clone(),
            });
        }
        Ok(())
    }
}

/// Where an XML text run belongs while parsing meta-data.
#[derive(Clone, Copy, PartialEq)]
enum TextSlot {
    None,
    Version,
    ShortDesc,
    LongDesc,
}

/// Parses OCF meta-data XML. Unknown elements are skipped; descriptions keep only their first
/// language variant (English in every agent we ship against).
pub fn parse_meta_data(xml: &str) -> Result<MetaData, AgentError> {
    use quick_xml::events::Event;
    let bad = |why: String| AgentError::BadMetaData { why };
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut meta = MetaData::default();
    let mut seen_root = false;
    let mut in_parameter: Option<Parameter> = None;
    let mut slot = TextSlot::None;
    let mut text = String::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| bad(format!("at byte {}: {e}", reader.buffer_position())))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                let attrs = attributes(e).map_err(bad)?;
                let get = |key: &str| attrs.get(key).cloned();
                match e.name().0 {
                    "resource-agent" => {
                        seen_root = true;
                        meta.name = get("name").unwrap_or_default();
                        meta.version = get("version").unwrap_or_default();
                    }
                    "version" if !is_empty => slot = TextSlot::Version,
                    "shortdesc" if !is_empty => slot = TextSlot::ShortDesc,
                    "longdesc" if !is_empty => slot = TextSlot::LongDesc,
                    "parameter" => {
                        let parameter = Parameter {
                            name: get("name")
                                .ok_or_else(|| bad("parameter without name".into()))?,
                            required: get("required").is_some_and(|v| is_true(&v)),
                            unique: get("unique").is_some_and(|v| is_true(&v)),
                            kind: "string".into(),
                            ..Parameter::default()
                        };
                        if is_empty {
                            meta.parameters.push(parameter);
                        } else {
                            in_parameter = Some(parameter);
                        }
                    }
                    "content" => {
                        if let Some(p) = in_parameter.as_mut() {
                            p.kind = get("type").unwrap_or_else(|| "string".into());
                            p.default = get("default");
                        }
                    }
                    "action" => {
                        let duration = |key: &str| -> Result<Option<u64>, AgentError> {
                            get(key).map(|v| parse_duration_ms(&v)).transpose()
                        };
                        meta.actions.push(ActionInfo {
                            name: get("name").ok_or_else(|| bad("action without name".into()))?,
                            timeout_ms: duration("timeout")?,
                            interval_ms: duration("interval")?,
                            depth: get("depth").and_then(|d| d.parse().ok()),
                            role: get("role"),
                        });
                    }
                    _ => {}
                }
                text.clear();
            }
            Event::Text(e) => text.push_str(&e.xml10_content()),
            Event::CData(e) => text.push_str(&e.into_inner()),
            Event::GeneralRef(e) => {
                if let Ok(Some(c)) = e.resolve_char_ref() {
                    text.push(c);
                } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(&e) {
                    text.push_str(s);
                }
            }
            Event::End(e) => {
                let value = text.trim().to_string();
                match (e.name().0, slot) {
                    ("version", TextSlot::Version) => meta.version = value,
                    ("shortdesc", TextSlot::ShortDesc) => match in_parameter.as_mut() {
                        Some(p) if p.shortdesc.is_empty() => p.shortdesc = value,
                        None if meta.shortdesc.is_empty() => meta.shortdesc = value,
                        _ => {}
                    },
                    ("longdesc", TextSlot::LongDesc) => match in_parameter.as_mut() {
                        Some(p) if p.longdesc.is_empty() => p.longdesc = value,
                        None if meta.longdesc.is_empty() => meta.longdesc = value,
                        _ => {}
                    },
                    ("parameter", _) => meta.parameters.extend(in_parameter.take()),
                    _ => {}
                }
                slot = TextSlot::None;
                text.clear();
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !seen_root {
        return Err(bad("no <resource-agent> element".into()));
    }
    Ok(meta)
}

fn is_true(value: &str) -> bool {
    matches!(value, "1" | "true" | "yes")
}

fn attributes(e: &quick_xml::events::BytesStart<'_>) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| err.to_string())?;
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| err.to_string())?;
        out.insert(attr.key.0.to_string(), value.into_owned());
    }
    Ok(out)
}

/// What a look at an LSB script's text tells about it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LsbScriptInfo {
    /// `Short-Description` from the LSB header.
    pub shortdesc: String,
    /// `Description` from the LSB header.
    pub longdesc: String,
    /// The script's `case` has a branch for `status`.
    pub has_status: bool,
}

/// Reads the LSB header and looks for a `status` branch in the script's `case` labels.
pub fn inspect_lsb_script(text: &str) -> LsbScriptInfo {
    let mut info = LsbScriptInfo::default();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("# Short-Description:") {
            info.shortdesc = rest.trim().to_string();
        } else if let Some(rest) = trimmed.strip_prefix("# Description:") {
            info.longdesc = rest.trim().to_string();
        }
        if trimmed.starts_with('#') {
            continue;
        }
        if let Some((label, _)) = trimmed.split_once(')') {
            let is_status_label = label
                .trim_start_matches('(')
                .split('|')
                .map(|alt| alt.trim().trim_matches(|c| c == '"' || c == '\''))
                .any(|alt| alt == "status");
            info.has_status |= is_status_label;
        }
    }
    info
}

/// Meta-data for an LSB script, built from its header the way Pacemaker presents LSB agents.
pub fn lsb_meta_data(name: &str, info: &LsbScriptInfo) -> MetaData {
    let action = |name: &str, timeout_ms: u64, interval_ms: Option<u64>| ActionInfo {
        name: name.to_string(),
        timeout_ms: Some(timeout_ms),
        interval_ms,
        depth: None,
        role: None,
    };
    MetaData {
        name: name.to_string(),
        version: "1.0".to_string(),
        shortdesc: info.shortdesc.clone(),
        longdesc: info.longdesc.clone(),
        parameters: Vec::new(),
        actions: vec![
            action("start", 15_000, None),
            action("stop", 15_000, None),
            action("status", 15_000, None),
            action("restart", 15_000, None),
            action("monitor", 15_000, Some(15_000)),
            action("meta-data", 5_000, None),
        ],
    }
}

/// How a resource's monitor is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitorMethod {
    /// The agent's own monitor or status action.
    Agent,
    /// Whether processes left by the resource's last start are still alive.
    TrackedProcesses,
}

/// Why a monitor method was chosen, shown by `ra info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitorReason {
    /// OCF, systemd and built-in agents always monitor themselves.
    AgentClass,
    /// The LSB script has a `status` branch.
    ScriptHasStatus,
    /// The LSB script has no `status` branch.
    ScriptLacksStatus,
    /// The `monitor-by` meta attribute chose.
    MetaAttribute,
}

/// Meta attribute that overrides how a resource is monitored: `agent` or `processes`.
pub const META_MONITOR_BY: &str = "monitor-by";

/// Picks the monitor method for an agent: the `monitor-by` attribute when given, else the
/// agent for every class but an LSB script without a `status` branch.
pub fn monitor_method(
    agent: &ResolvedAgent,
    lsb_info: Option<&LsbScriptInfo>,
    monitor_by: Option<&str>,
) -> Result<(MonitorMethod, MonitorReason), AgentError> {
    match monitor_by {
        Some("agent") => return Ok((MonitorMethod::Agent, MonitorReason::MetaAttribute)),
        Some("processes") => {
            return Ok((
                MonitorMethod::TrackedProcesses,
                MonitorReason::MetaAttribute,
            ));
        }
        Some(other) => {
            return Err(AgentError::BadMetaAttribute {
                name: META_MONITOR_BY.into(),
                value: other.into(),
                expected: "agent, processes".into(),
            });
        }
        None => {}
    }
    Ok(match (agent.name.class, lsb_info) {
        (Class::Lsb, Some(info)) if !info.has_status => (
            MonitorMethod::TrackedProcesses,
            MonitorReason::ScriptLacksStatus,
        ),
        (Class::Lsb, _) => (MonitorMethod::Agent, MonitorReason::ScriptHasStatus),
        (Class::Ocf | Class::Systemd | Class::Service, _) => {
            (MonitorMethod::Agent, MonitorReason::AgentClass)
        }
    })
}

/// Agent-level errors. None of them changes anything: the agent was not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentError {
    /// The class is not one of ocf, lsb, systemd, service.
    UnknownClass {
        /// What was given.
        class: String,
    },
    /// The name does not have the shape its class needs.
    BadName {
        /// What was given.
        name: String,
        /// What is wrong.
        why: String,
    },
    /// No such OCF provider.
    UnknownProvider {
        /// What was given.
        provider: String,
        /// The directory searched.
        looked_in: PathBuf,
    },
    /// No such agent.
    NotFound {
        /// The agent name.
        agent: String,
        /// Where it was expected.
        looked_in: PathBuf,
    },
    /// The agent file exists but cannot be executed.
    NotExecutable {
        /// Its path.
        path: PathBuf,
    },
    /// A systemd agent was asked for where systemd does not run.
    SystemdNotRunning {
        /// The agent name.
        agent: String,
    },
    /// Meta-data XML could not be read.
    BadMetaData {
        /// What is wrong.
        why: String,
    },
    /// A duration could not be parsed.
    BadDuration {
        /// What was given.
        text: String,
    },
    /// A parameter the agent does not declare.
    UnknownParameter {
        /// The agent name.
        agent: String,
        /// The parameter.
        name: String,
        /// Declared parameters, comma-separated.
        known: String,
    },
    /// A required parameter is missing.
    MissingParameter {
        /// The agent name.
        agent: String,
        /// The parameter.
        name: String,
    },
    /// A meta attribute has a value outside its set.
    BadMetaAttribute {
        /// The attribute.
        name: String,
        /// What was given.
        value: String,
        /// Accepted values.
        expected: String,
    },
}

impl fmt::Display for AgentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentError::UnknownClass { class } => write!(
                f,
                "unknown resource class {class:?} (expected ocf, lsb, systemd, service)"
            ),
            AgentError::BadName { name, why } => write!(f, "bad agent name {name:?}: {why}"),
            AgentError::UnknownProvider {
                provider,
                looked_in,
            } => write!(
                f,
                "unknown ocf provider {provider:?} (no {}/{provider})",
                looked_in.display()
            ),
            AgentError::NotFound { agent, looked_in } => {
                write!(
                    f,
                    "agent {agent} not found ({} does not exist)",
                    looked_in.display()
                )
            }
            AgentError::NotExecutable { path } => {
                write!(f, "agent {} is not an executable file", path.display())
            }
            AgentError::SystemdNotRunning { agent } => {
                write!(
                    f,
                    "cannot use {agent}: systemd is not running on this machine"
                )
            }
            AgentError::BadMetaData { why } => write!(f, "bad agent meta-data: {why}"),
            AgentError::BadDuration { text } => write!(
                f,
                "bad duration {text:?} (expected e.g. 20s, 500ms, 2min, 1h)"
            ),
            AgentError::UnknownParameter { agent, name, known } => write!(
                f,
                "agent {agent} has no parameter {name:?} (known: {})",
                if known.is_empty() { "none" } else { known }
            ),
            AgentError::MissingParameter { agent, name } => {
                write!(f, "agent {agent} needs parameter {name:?}")
            }
            AgentError::BadMetaAttribute {
                name,
                value,
                expected,
            } => write!(f, "meta attribute {name}={value:?} (expected {expected})"),
        }
    }
}

impl std::error::Error for AgentError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(root: &Path) -> AgentDirs {
        AgentDirs {
            ocf_root: root.join("ocf"),
            init_dir: root.join("init.d"),
            systemd_running: false,
            builtin_exe: Some("/usr/sbin/ha-lrmd".into()),
            rsc_tmp: DEFAULT_RSC_TMP.into(),
        }
    }

    fn write_script(path: &Path, text: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn agent_names_parse_per_class() {
        let ocf: AgentName = "ocf:heartbeat:IPaddr2".parse().unwrap();
        assert_eq!(ocf, AgentName::ocf("heartbeat", "IPaddr2"));
        assert_eq!(ocf.to_string(), "ocf:heartbeat:IPaddr2");
        let lsb: AgentName = "lsb:gohttpd".parse().unwrap();
        assert_eq!(
            (lsb.class, lsb.provider, lsb.kind.as_str()),
            (Class::Lsb, None, "gohttpd")
        );
        assert_eq!(
            "systemd:sshd.service".parse::<AgentName>().unwrap().kind,
            "sshd.service"
        );
    }

    #[test]
    fn bad_agent_names_are_rejected_with_the_reason() {
        let err = "ocff:heartbeat:Dummy".parse::<AgentName>().unwrap_err();
        assert!(
            err.to_string().contains("unknown resource class \"ocff\""),
            "{err}"
        );
        assert!(matches!(
            "ocf:Dummy".parse::<AgentName>(),
            Err(AgentError::BadName { .. })
        ));
        assert!(matches!(
            "lsb:a:b".parse::<AgentName>(),
            Err(AgentError::BadName { .. })
        ));
        assert!(matches!(
            "lsb:../../bin/sh".parse::<AgentName>(),
            Err(AgentError::BadName { .. })
        ));
        assert!(matches!(
            "ocf:..:x".parse::<AgentName>(),
            Err(AgentError::BadName { .. })
        ));
    }

    #[test]
    fn on_disk_agent_wins_over_builtin_and_builtin_fills_in() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = dirs(tmp.path());
        let builtin = resolve(&AgentName::ocf("heartbeat", "Dummy"), &dirs).unwrap();
        assert!(builtin.is_builtin());
        let script = dirs.ocf_resource_dir().join("heartbeat/Dummy");
        write_script(&script, "#!/bin/sh\nexit 0\n", 0o755);
        let on_disk = resolve(&AgentName::ocf("heartbeat", "Dummy"), &dirs).unwrap();
        assert_eq!(
            on_disk.implementation,
            Implementation::Script { path: script }
        );
    }

    #[test]
    fn lookup_errors_name_what_is_missing() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = dirs(tmp.path());
        let err = resolve(&AgentName::ocf("nosuch", "X"), &dirs).unwrap_err();
        assert!(matches!(err, AgentError::UnknownProvider { .. }), "{err}");
        let err = resolve(&AgentName::ocf("heartbeat", "Nope"), &dirs).unwrap_err();
        assert!(matches!(err, AgentError::NotFound { .. }), "{err}");
        write_script(&dirs.init_dir.join("noexec"), "#!/bin/sh\n", 0o644);
        let err = resolve(&"lsb:noexec".parse().unwrap(), &dirs).unwrap_err();
        assert!(matches!(err, AgentError::NotExecutable { .. }), "{err}");
        let err = resolve(&"systemd:foo".parse().unwrap(), &dirs).unwrap_err();
        assert!(err.to_string().contains("systemd is not running"), "{err}");
    }

    #[test]
    fn service_prefers_an_init_script() {
        let tmp = tempfile::tempdir().unwrap();
        let mut dirs = dirs(tmp.path());
        dirs.systemd_running = true;
        write_script(&dirs.init_dir.join("web"), "#!/bin/sh\n", 0o755);
        let web = resolve(&"service:web".parse().unwrap(), &dirs).unwrap();
        assert_eq!(web.name.class, Class::Lsb);
        let other = resolve(&"service:db".parse().unwrap(), &dirs).unwrap();
        assert_eq!(
            other.implementation,
            Implementation::Systemd {
                unit: "db.service".into()
            }
        );
    }

    #[test]
    fn listing_merges_disk_and_builtin_agents() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = dirs(tmp.path());
        write_script(
            &dirs.ocf_resource_dir().join("acme/Thing"),
            "#!/bin/sh\n",
            0o755,
        );
        write_script(&dirs.init_dir.join("gohttpd"), "#!/bin/sh\n", 0o755);
        write_script(&dirs.init_dir.join("README"), "text", 0o644);
        assert_eq!(providers(&dirs), ["acme", "heartbeat"]);
        assert_eq!(list(&dirs, Class::Lsb, None).unwrap(), ["gohttpd"]);
        let heartbeat = list(&dirs, Class::Ocf, Some("heartbeat")).unwrap();
        assert_eq!(heartbeat, ["Dummy", "IPaddr", "IPaddr2", "anything"]);
        assert!(list(&dirs, Class::Ocf, Some("nosuch")).is_err());
    }

    #[test]
    fn ocf_environment_carries_params_and_meta() {
        let dirs = dirs(Path::new("/x"));
        let params = BTreeMap::from([("ip".to_string(), "10.0.0.1".to_string())]);
        let meta = OpMeta {
            timeout_ms: 20_000,
            interval_ms: 10_000,
            on_node: Some("node1".into()),
            extra: BTreeMap::from([("clone".to_string(), "0".to_string())]),
        };
        let env = ocf_environment(
            &AgentName::ocf("heartbeat", "IPaddr2"),
            &dirs,
            "vip",
            "monitor",
            &params,
            &meta,
        );
        let get = |k: &str| {
            env.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("OCF_ROOT"), Some("/x/ocf"));
        assert_eq!(get("OCF_RESOURCE_INSTANCE"), Some("vip"));
        assert_eq!(get("OCF_RESOURCE_TYPE"), Some("IPaddr2"));
        assert_eq!(get("OCF_RESOURCE_PROVIDER"), Some("heartbeat"));
        assert_eq!(get("OCF_RESKEY_ip"), Some("10.0.0.1"));
        assert_eq!(get("OCF_RESKEY_CRM_meta_timeout"), Some("20000"));
        assert_eq!(get("OCF_RESKEY_CRM_meta_interval"), Some("10000"));
        assert_eq!(get("OCF_RESKEY_CRM_meta_on_node"), Some("node1"));
        assert_eq!(get("OCF_RESKEY_CRM_meta_clone"), Some("0"));
        assert_eq!(get("OCF_RA_VERSION_MAJOR"), Some("1"));
    }

    #[test]
    fn exit_codes_map_per_convention() {
        assert_eq!(
            to_ocf_rc(Convention::LsbStatus, "status", 3),
            rc::NOT_RUNNING
        );
        assert_eq!(
            to_ocf_rc(Convention::LsbStatus, "status", 1),
            rc::NOT_RUNNING
        );
        assert_eq!(
            to_ocf_rc(Convention::LsbStatus, "status", 4),
            rc::ERR_GENERIC
        );
        assert_eq!(to_ocf_rc(Convention::Lsb, "stop", 7), rc::OK);
        assert_eq!(to_ocf_rc(Convention::Ocf, "stop", 7), rc::NOT_RUNNING);
        assert_eq!(
            to_ocf_rc(Convention::Systemd, "monitor", 3),
            rc::NOT_RUNNING
        );
        assert_eq!(to_ocf_rc(Convention::Ocf, "start", 42), 42);
        assert_eq!(rc_text(42), "unknown error (outside the OCF codes)");
    }

    #[test]
    fn failure_kinds_follow_pacemaker() {
        assert_eq!(failure_kind("start", rc::OK), None);
        assert_eq!(failure_kind("monitor", rc::NOT_RUNNING), None);
        assert_eq!(failure_kind("stop", rc::NOT_RUNNING), None);
        assert_eq!(
            failure_kind("start", rc::ERR_GENERIC),
            Some(FailureKind::Soft)
        );
        assert_eq!(
            failure_kind("start", rc::NOT_INSTALLED),
            Some(FailureKind::Hard)
        );
        assert_eq!(failure_kind("start", rc::ERR_ARGS), Some(FailureKind::Hard));
        assert_eq!(
            failure_kind("start", rc::NOT_CONFIGURED),
            Some(FailureKind::Fatal)
        );
        assert_eq!(
            failure_kind("monitor", rc::FAILED_PROMOTED),
            Some(FailureKind::Soft)
        );
        assert_eq!(failure_kind("start", 99), Some(FailureKind::Soft));
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration_ms("20s").unwrap(), 20_000);
        assert_eq!(parse_duration_ms("20").unwrap(), 20_000);
        assert_eq!(parse_duration_ms("500ms").unwrap(), 500);
        assert_eq!(parse_duration_ms("2min").unwrap(), 120_000);
        assert_eq!(parse_duration_ms("1h").unwrap(), 3_600_000);
        assert!(parse_duration_ms("soon").is_err());
        assert!(parse_duration_ms("5parsecs").is_err());
    }

    const DUMMY_META: &str = r#"<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="Dummy" version="1.0">
<version>1.0</version>
<longdesc lang="en">Keeps a state file &amp; nothing else.</longdesc>
<shortdesc lang="en">Example agent</shortdesc>
<parameters>
<parameter name="state" unique="1">
<longdesc lang="en">Location of the state file.</longdesc>
<shortdesc lang="en">State file</shortdesc>
<content type="string" default="/run/Dummy.state" />
</parameter>
<parameter name="ip" required="1">
<shortdesc lang="en">Address</shortdesc>
<content type="string"/>
</parameter>
</parameters>
<actions>
<action name="start" timeout="20s" />
<action name="monitor" timeout="20s" interval="10s" depth="0" />
<action name="meta-data" timeout="5s" />
</actions>
</resource-agent>"#;

    #[test]
    fn meta_data_parses_parameters_and_actions() {
        let meta = parse_meta_data(DUMMY_META).unwrap();
        assert_eq!(meta.name, "Dummy");
        assert_eq!(meta.shortdesc, "Example agent");
        assert_eq!(meta.longdesc, "Keeps a state file & nothing else.");
        assert_eq!(meta.parameters.len(), 2);
        let state = &meta.parameters[0];
        assert_eq!(
            (state.name.as_str(), state.unique, state.required),
            ("state", true, false)
        );
        assert_eq!(state.default.as_deref(), Some("/run/Dummy.state"));
        assert_eq!(state.shortdesc, "State file");
        assert!(meta.parameters[1].required);
        let monitor = meta.action("monitor").unwrap();
        assert_eq!(
            (monitor.timeout_ms, monitor.interval_ms),
            (Some(20_000), Some(10_000))
        );
        assert_eq!(meta.action("meta-data").unwrap().timeout_ms, Some(5_000));
    }

    #[test]
    fn meta_data_errors_are_reported() {
        assert!(parse_meta_data("not xml at all").is_err());
        assert!(parse_meta_data("<resource-agent><actions><action/></actions>").is_err());
    }

    #[test]
    fn params_are_checked_against_meta_data() {
        let meta = parse_meta_data(DUMMY_META).unwrap();
        let agent = AgentName::ocf("heartbeat", "Dummy");
        let mut params = BTreeMap::from([("ip".to_string(), "x".to_string())]);
        meta.check_params(&agent, &params).unwrap();
        params.insert("colour".into(), "red".into());
        let err = meta.check_params(&agent, &params).unwrap_err();
        assert!(err.to_string().contains("no parameter \"colour\""), "{err}");
        let err = meta.check_params(&agent, &BTreeMap::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "agent ocf:heartbeat:Dummy needs parameter \"ip\""
        );
    }

    #[test]
    fn lsb_scripts_without_status_branch_are_noticed() {
        let guide = "#!/bin/sh\n# Short-Description: Go web server\ncase \"$1\" in\n  start)\n    gohttpd &\n    ;;\n  stop)\n    pkill -9 gohttpd\n    ;;\n  *)\n    echo usage\nesac\n";
        let info = inspect_lsb_script(guide);
        assert!(!info.has_status);
        assert_eq!(info.shortdesc, "Go web server");
        let full = "case $1 in\nstart|stop) x;;\n\"status\") y;;\nesac\n";
        assert!(inspect_lsb_script(full).has_status);
        assert!(inspect_lsb_script("case $1 in\n  restart|status) y ;;\nesac").has_status);
        assert!(!inspect_lsb_script("# status) commented\n").has_status);
    }

    #[test]
    fn monitor_method_falls_back_for_scripts_without_status() {
        let lsb = ResolvedAgent {
            name: "lsb:gohttpd".parse().unwrap(),
            implementation: Implementation::Script {
                path: "/etc/init.d/gohttpd".into(),
            },
        };
        let no_status = LsbScriptInfo::default();
        assert_eq!(
            monitor_method(&lsb, Some(&no_status), None).unwrap(),
            (
                MonitorMethod::TrackedProcesses,
                MonitorReason::ScriptLacksStatus
            )
        );
        assert_eq!(
            monitor_method(&lsb, Some(&no_status), Some("agent"))
                .unwrap()
                .0,
            MonitorMethod::Agent
        );
        assert!(monitor_method(&lsb, None, Some("psychic")).is_err());
    }
}
