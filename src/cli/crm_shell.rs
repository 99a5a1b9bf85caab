//! The interactive `ha-crm` shell: rustyline prompt (`crm(live)#`, `crm(live)configure#`, or
//! the CIB file's name instead of `live`), history kept between sessions, `\` continuation
//! lines and tab completion of commands, ids, agent names (the configured ones and those
//! installed on this machine) and agent parameters and actions (from the agent's meta-data,
//! read as `ha-lrmd ra info` reads it). Commands run through [`Session`].
//!
//! History lives in `$XDG_STATE_HOME/hakit/crm_history` (by default
//! `~/.local/state/hakit/crm_history`), the place the XDG base directories give to command
//! histories: per user, like crmsh's own history, and not in the cluster's state directory,
//! which belongs to the daemons. At most [`HISTORY_MAX`] lines are kept; each line is saved
//! as soon as it is entered.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;

use anyhow::anyhow;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Config, Context, Editor, Helper, history::DefaultHistory};

use super::crm::{Answer, Flow, RunMode, Session, Target};
use super::{CliResult, Failure};
use crate::crm::cib::Configuration;
use crate::crm::shell::{self, CLASSES, Level};

/// Lines of history kept between sessions.
pub const HISTORY_MAX: usize = 1000;

/// The history file for this user, from the environment lookup given: see the module doc.
/// `None` without `XDG_STATE_HOME` or `HOME`.
pub fn history_file(lookup: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    // XDG says to ignore a relative path; so does an empty one.
    let set = |name: &str| {
        lookup(name)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    let base = set("XDG_STATE_HOME").or_else(|| set("HOME").map(|h| h.join(".local/state")))?;
    Some(base.join("hakit").join("crm_history"))
}

/// What an agent's meta-data offers completion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentTerms {
    /// Parameter names, in the meta-data's order.
    pub parameters: Vec<String>,
    /// Action names (`start`, `monitor`, …).
    pub actions: Vec<String>,
}

/// Where completion learns about agents beyond the configured ones.
pub trait AgentSource {
    /// Every agent installed here, as `class:provider:type` or `class:type`.
    fn installed(&self) -> Vec<String>;
    /// The agent's parameters and actions; `None` when it is unknown or says nothing.
    fn describe(&self, agent: &str) -> Option<AgentTerms>;
}

/// Agents on this machine, found and described as `ha-lrmd ra list` and `ra info` do.
pub struct LocalAgents {
    setup: super::lrmd::Setup,
}

impl LocalAgents {
    /// The agents the environment's directories (`OCF_ROOT`, `HA_INIT_DIR`) hold.
    pub fn from_env() -> LocalAgents {
        LocalAgents {
            setup: super::lrmd::Setup::from_env(),
        }
    }
}

impl AgentSource for LocalAgents {
    fn installed(&self) -> Vec<String> {
        use crate::lrmd::agent::{self, Class};
        let dirs = &self.setup.dirs;
        let mut out = Vec::new();
        for class in agent::classes(dirs) {
            match class {
                Class::Ocf => {
                    for provider in agent::providers(dirs) {
                        for kind in agent::list(dirs, class, Some(&provider)).unwrap_or_default() {
                            out.push(format!("ocf:{provider}:{kind}"));
                        }
                    }
                }
                // Listing systemd units asks systemd; a unit is typed in full instead.
                Class::Systemd | Class::Service => {}
                Class::Lsb => {
                    for kind in agent::list(dirs, class, None).unwrap_or_default() {
                        out.push(format!("lsb:{kind}"));
                    }
                }
            }
        }
        out
    }

    fn describe(&self, agent: &str) -> Option<AgentTerms> {
        let meta = super::lrmd::agent_meta_data_of(&self.setup, agent).ok()??;
        Some(AgentTerms {
            parameters: meta.parameters.into_iter().map(|p| p.name).collect(),
            actions: meta.actions.into_iter().map(|a| a.name).collect(),
        })
    }
}

/// What completion can offer; refreshed after every command. Installed agents are listed and
/// agents described on first need only, then remembered for the session.
struct Completions {
    level: Option<Level>,
    resource_ids: Vec<String>,
    constraint_ids: Vec<String>,
    nodes: Vec<String>,
    agents: Vec<String>,
    /// Parameter names seen per agent spec.
    params: Vec<(String, String)>,
    source: Box<dyn AgentSource>,
    installed: Option<Vec<String>>,
    described: HashMap<String, Option<AgentTerms>>,
}

impl Completions {
    fn new(source: Box<dyn AgentSource>) -> Completions {
        Completions {
            level: None,
            resource_ids: Vec::new(),
            constraint_ids: Vec::new(),
            nodes: Vec::new(),
            agents: Vec::new(),
            params: Vec::new(),
            source,
            installed: None,
            described: HashMap::new(),
        }
    }

    /// Installed agents, with ocf:heartbeat ones also by their short name (`IPaddr2`), as
    /// crm text writes them.
    fn installed(&mut self) -> Vec<String> {
        let source = &self.source;
        self.installed
            .get_or_insert_with(|| {
                let mut all = source.installed();
                let short: Vec<String> = all
                    .iter()
                    .filter_map(|a| a.strip_prefix("ocf:heartbeat:").map(str::to_string))
                    .collect();
                all.extend(short);
                all
            })
            .clone()
    }

    fn describe(&mut self, agent: &str) -> Option<AgentTerms> {
        let source = &self.source;
        self.described
            .entry(agent.to_string())
            .or_insert_with(|| source.describe(agent))
            .clone()
    }

    fn refresh(&mut self, level: Level, config: Option<&Configuration>) {
        self.level = Some(level);
        let Some(config) = config else {
            return;
        };
        self.resource_ids = crate::crm::edit::resource_ids(config)
            .into_iter()
            .map(str::to_string)
            .collect();
        self.constraint_ids = config
            .constraints
            .iter()
            .map(|c| c.id().to_string())
            .collect();
        self.nodes = config.nodes.iter().map(|n| n.uname.clone()).collect();
        let mut agents = Vec::new();
        let mut params = Vec::new();
        for p in config.primitives() {
            agents.push(p.agent());
            for (name, _) in p.params.iter() {
                params.push((p.agent(), name.to_string()));
            }
        }
        agents.sort();
        agents.dedup();
        params.sort();
        params.dedup();
        self.agents = agents;
        self.params = params;
    }

    /// After `primitive ID AGENT`: section keywords, and what the current section takes:
    /// the agent's parameters not given yet (from its meta-data, else those configured
    /// elsewhere), meta attributes, the agent's actions after `op`, op attributes after
    /// `op NAME`. `after_agent` ends with the word being completed.
    fn primitive_candidates(&mut self, agent: &str, after_agent: &[&str]) -> Vec<String> {
        const SECTIONS: [&str; 4] = ["params", "meta", "utilization", "op"];
        let typed = &after_agent[..after_agent.len() - 1];
        let section = typed
            .iter()
            .rposition(|w| SECTIONS.contains(w))
            .map(|index| (typed[index], &typed[index + 1..]));
        let terms = self.describe(agent);
        let mut all: Vec<String> = SECTIONS.map(String::from).to_vec();
        match section {
            None | Some(("params", _)) => {
                let given: Vec<&str> = typed
                    .iter()
                    .filter_map(|w| w.split_once('=').map(|(name, _)| name))
                    .collect();
                let names: Vec<String> = match &terms {
                    Some(terms) => terms.parameters.clone(),
                    None => self
                        .params
                        .iter()
                        .filter(|(a, _)| a == agent)
                        .map(|(_, name)| name.clone())
                        .collect(),
                };
                all.extend(
                    names
                        .into_iter()
                        .filter(|name| !given.contains(&name.as_str()))
                        .map(|name| format!("{name}=")),
                );
            }
            Some(("meta", _)) => all.extend(
                [
                    "target-role=",
                    "is-managed=",
                    "resource-stickiness=",
                    "migration-threshold=",
                    "failure-timeout=",
                    "priority=",
                ]
                .map(String::from),
            ),
            Some(("op", [])) => {
                return match terms {
                    Some(terms) if !terms.actions.is_empty() => terms.actions,
                    _ => ["monitor", "start", "stop", "promote", "demote"]
                        .map(String::from)
                        .to_vec(),
                };
            }
            Some(("op", _)) => all.extend(
                [
                    "interval=",
                    "timeout=",
                    "on-fail=",
                    "role=",
                    "start-delay=",
                    "id=",
                ]
                .map(String::from),
            ),
            Some(_) => {}
        }
        all
    }

    fn candidates(&mut self, words: &[&str]) -> Vec<String> {
        let level = self.level.unwrap_or(Level::Top);
        let (level, words) = match (level, words.first()) {
            (Level::Top, Some(first)) if words.len() > 1 => match *first {
                "configure" => (Level::Configure, &words[1..]),
                "resource" => (Level::Resource, &words[1..]),
                "node" => (Level::Node, &words[1..]),
                "ra" => (Level::Ra, &words[1..]),
                _ => (level, words),
            },
            _ => (level, words),
        };
        if words.len() <= 1 {
            return level.commands().iter().map(|c| c.to_string()).collect();
        }
        let command = words[0];
        let position = words.len() - 1;
        let ids = || {
            let mut all = self.resource_ids.clone();
            all.extend(self.constraint_ids.iter().cloned());
            all
        };
        match (level, command) {
            (_, "cd") => ["configure", "resource", "node", "ra", ".."]
                .map(String::from)
                .to_vec(),
            (_, "help") => level.commands().iter().map(|c| c.to_string()).collect(),
            (Level::Configure, "primitive") if position == 2 => {
                let mut all: Vec<String> = CLASSES.iter().map(|c| format!("{c}:")).collect();
                all.push("ocf:heartbeat:".into());
                all.push("ocf:pacemaker:".into());
                all.extend(self.agents.iter().cloned());
                all.extend(self.installed());
                all
            }
            (Level::Configure, "primitive") if position > 2 => {
                let agent = shell::parse_agent(words[2])
                    .map(|(class, provider, kind)| match provider {
                        Some(provider) => format!("{class}:{provider}:{kind}"),
                        None => format!("{class}:{kind}"),
                    })
                    .unwrap_or_default();
                self.primitive_candidates(&agent, &words[3..])
            }
            (Level::Configure, "group" | "clone") if position >= 2 => {
                let mut all = self.resource_ids.clone();
                all.extend(["meta".to_string(), "params".to_string()]);
                all
            }
            (Level::Configure, "location") if position == 2 => self.resource_ids.clone(),
            (Level::Configure, "location") if position >= 3 => {
                let mut all = self.nodes.clone();
                all.extend(
                    [
                        "rule",
                        "inf:",
                        "-inf:",
                        "#uname",
                        "eq",
                        "ne",
                        "defined",
                        "not_defined",
                    ]
                    .map(String::from),
                );
                all
            }
            (Level::Configure, "colocation") if position == 2 => {
                ["inf:", "-inf:"].map(String::from).to_vec()
            }
            (Level::Configure, "order") if position == 2 => {
                ["Mandatory:", "Optional:", "Serialize:"]
                    .map(String::from)
                    .to_vec()
            }
            (Level::Configure, "colocation" | "order") => self.resource_ids.clone(),
            (Level::Configure, "property") => [
                "stonith-enabled=",
                "no-quorum-policy=",
                "symmetric-cluster=",
                "maintenance-mode=",
                "start-failure-is-fatal=",
                "cluster-recheck-interval=",
                "stop-orphan-resources=",
            ]
            .map(String::from)
            .to_vec(),
            (Level::Configure, "rsc_defaults") => [
                "resource-stickiness=",
                "migration-threshold=",
                "failure-timeout=",
                "target-role=",
                "is-managed=",
            ]
            .map(String::from)
            .to_vec(),
            (Level::Configure, "op_defaults") => ["timeout=", "interval=", "on-fail="]
                .map(String::from)
                .to_vec(),
            (Level::Configure, "show") => {
                let mut all = ids();
                all.extend(["json", "xml", "changed"].map(String::from));
                all
            }
            (Level::Configure, "load") => ["replace", "update", "xml"].map(String::from).to_vec(),
            (Level::Configure, _) => ids(),
            (Level::Resource, _) => self.resource_ids.clone(),
            (Level::Node, "attribute") if position == 2 => {
                ["set", "delete", "show"].map(String::from).to_vec()
            }
            (Level::Node, _) => self.nodes.clone(),
            (Level::Ra, "list") if position == 1 => CLASSES.iter().map(|c| c.to_string()).collect(),
            (Level::Ra, "info") if position == 1 => {
                let mut all = self.agents.clone();
                all.extend(self.installed());
                all
            }
            (Level::Ra, _) => Vec::new(),
            (Level::Top, _) => Vec::new(),
        }
    }
}

/// The rustyline helper: completion only.
struct CrmHelper {
    completions: Rc<RefCell<Completions>>,
}

impl Completer for CrmHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before
            .rfind(|c: char| c.is_whitespace())
            .map(|i| i + 1)
            .unwrap_or(0);
        let partial = &before[start..];
        let mut words: Vec<&str> = before[..start].split_whitespace().collect();
        words.push(partial);
        let mut candidates: Vec<String> = self
            .completions
            .borrow_mut()
            .candidates(&words)
            .into_iter()
            .filter(|c| c.starts_with(partial))
            .collect();
        candidates.sort();
        candidates.dedup();
        let pairs = candidates
            .into_iter()
            .map(|c| {
                let open = c.ends_with(':') || c.ends_with('=');
                Pair {
                    display: c.clone(),
                    replacement: if open { c } else { format!("{c} ") },
                }
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for CrmHelper {
    type Hint = String;
}

impl Highlighter for CrmHelper {}

impl Validator for CrmHelper {}

impl Helper for CrmHelper {}

fn prompt(target: &Target, level: Level) -> String {
    format!("crm({}){}# ", target.prompt_name(), level.name())
}

/// Runs the interactive shell starting at `level` until `quit` or end of input.
pub fn interactive(target: Target, json: bool, level: Level, out: &mut dyn Write) -> CliResult {
    let completions = Rc::new(RefCell::new(Completions::new(Box::new(
        LocalAgents::from_env(),
    ))));
    let config = Config::builder()
        .max_history_size(HISTORY_MAX)
        .map_err(|e| Failure::failed(anyhow!("cannot start the shell: {e}")))?
        .auto_add_history(false)
        .build();
    let editor: Rc<RefCell<Editor<CrmHelper, DefaultHistory>>> =
        Rc::new(RefCell::new(Editor::with_config(config).map_err(|e| {
            Failure::failed(anyhow!("cannot start the shell: {e}"))
        })?));
    let history = History::open(history_file(|name| std::env::var_os(name)));
    history.load(&mut editor.borrow_mut());
    editor.borrow_mut().set_helper(Some(CrmHelper {
        completions: completions.clone(),
    }));
    let mut session = Session::new(target.clone(), json, RunMode::Interactive, out);
    session.level = level;
    let asker_editor = editor.clone();
    session.set_asker(Box::new(move |question: &str| {
        match asker_editor.borrow_mut().readline(question) {
            Ok(answer) if matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") => Answer::Yes,
            Err(ReadlineError::Interrupted) => Answer::Cancel,
            _ => Answer::No,
        }
    }));
    // Load the CIB up front so completion knows the ids; a missing controller is reported
    // when a command needs it.
    loop {
        completions.borrow_mut().refresh(
            session.level,
            session.staged().map(|s| &s.work().configuration),
        );
        let mut text = match editor
            .borrow_mut()
            .readline(&prompt(&target, session.level))
        {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => {
                text_eof(&mut session)?;
                return Ok(());
            }
            Err(e) => return Err(Failure::failed(anyhow!("reading input: {e}"))),
        };
        // A trailing backslash continues the command on the next line.
        let mut continuation_bound = 0;
        while text.trim_end().ends_with('\\') && continuation_bound < 1000 {
            continuation_bound += 1;
            match editor.borrow_mut().readline("> ") {
                Ok(more) => {
                    text.push('\n');
                    text.push_str(&more);
                }
                Err(_) => break,
            }
        }
        if text.trim().is_empty() {
            continue;
        }
        let _ = editor.borrow_mut().add_history_entry(text.as_str());
        history.save(&mut editor.borrow_mut());
        session.remember(&text);
        let lines = match shell::lex(&text) {
            Ok(lines) => lines,
            Err(e) => {
                eprintln!("ha-crm: error: {e}");
                continue;
            }
        };
        for line in &lines {
            let result = shell::parse(session.level, line)
                .map_err(|e| super::crm::Located::from(crate::crm::edit::ScriptError::from(e)))
                .and_then(|command| session.execute(line, command));
            match result {
                Ok(Flow::Continue) => {}
                Ok(Flow::Quit) => return Ok(()),
                Err(located) => {
                    let failure = located.failure;
                    match located.pos {
                        Some(pos) if lines.len() > 1 || pos.line > 1 => {
                            eprintln!("ha-crm: error: {pos}: {:#}", failure.error)
                        }
                        Some(pos) => {
                            eprintln!("ha-crm: error: column {}: {:#}", pos.col, failure.error)
                        }
                        None => eprintln!("ha-crm: error: {:#}", failure.error),
                    }
                    if let Some(hint) = &failure.hint {
                        eprintln!("ha-crm: hint: {hint}");
                    }
                    break;
                }
            }
        }
    }
}

fn text_eof(session: &mut Session<'_>) -> CliResult {
    // End of input (Ctrl-D) leaves like `quit`, asking about pending changes.
    let line = shell::lex("quit").expect("static text lexes");
    session
        .execute(&line[0], shell::Command::Quit)
        .map(|_| ())
        .map_err(|e| e.failure)
}

/// The history file of this session: loaded at start, appended to after every line. A file
/// that cannot be read or written is reported once and the shell goes on without it.
struct History {
    path: Option<PathBuf>,
    warned: std::cell::Cell<bool>,
}

impl History {
    fn open(path: Option<PathBuf>) -> History {
        History {
            path,
            warned: std::cell::Cell::new(false),
        }
    }

    fn warn(&self, what: &str, error: impl std::fmt::Display) {
        if !self.warned.replace(true) {
            let path = self.path.as_deref().unwrap_or(std::path::Path::new(""));
            eprintln!(
                "ha-crm: warning: cannot {what} the history file {}: {error}",
                path.display()
            );
        }
    }

    fn load(&self, editor: &mut Editor<CrmHelper, DefaultHistory>) {
        let Some(path) = &self.path else { return };
        match editor.load_history(path) {
            Ok(()) => {}
            Err(ReadlineError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => self.warn("read", e),
        }
    }

    fn save(&self, editor: &mut Editor<CrmHelper, DefaultHistory>) {
        let Some(path) = &self.path else { return };
        if let Err(e) = Self::create_private(path) {
            return self.warn("create", e);
        }
        if let Err(e) = editor.append_history(path) {
            self.warn("write", e);
        }
    }

    /// The file and its directory, readable by this user only (typed lines may hold
    /// passwords given as agent parameters).
    fn create_private(path: &std::path::Path) -> std::io::Result<()> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        if path.exists() {
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FakeAgents;

    impl AgentSource for FakeAgents {
        fn installed(&self) -> Vec<String> {
            vec!["ocf:heartbeat:IPaddr2".into(), "lsb:nginx".into()]
        }

        fn describe(&self, agent: &str) -> Option<AgentTerms> {
            (agent == "ocf:heartbeat:IPaddr2").then(|| AgentTerms {
                parameters: vec!["ip".into(), "cidr_netmask".into(), "nic".into()],
                actions: vec!["start".into(), "stop".into(), "monitor".into()],
            })
        }
    }

    fn completions() -> Completions {
        let mut completions = Completions::new(Box::new(FakeAgents));
        completions.refresh(Level::Configure, Some(&Configuration::default()));
        completions
    }

    fn offered(completions: &mut Completions, line: &str) -> Vec<String> {
        let mut words: Vec<&str> = line.split(' ').collect();
        let partial = words.pop().unwrap();
        words.push(partial);
        let mut all: Vec<String> = completions
            .candidates(&words)
            .into_iter()
            .filter(|c| c.starts_with(partial))
            .collect();
        all.sort();
        all.dedup();
        all
    }

    #[test]
    fn agents_come_from_the_machine_with_short_heartbeat_names() {
        let mut c = completions();
        assert_eq!(offered(&mut c, "primitive vip IP"), ["IPaddr2"]);
        assert_eq!(
            offered(&mut c, "primitive vip ocf:heartbeat:IP"),
            ["ocf:heartbeat:IPaddr2"]
        );
        assert_eq!(offered(&mut c, "primitive web lsb:n"), ["lsb:nginx"]);
    }

    #[test]
    fn parameters_come_from_meta_data_and_skip_those_given() {
        let mut c = completions();
        assert_eq!(
            offered(&mut c, "primitive vip IPaddr2 params ip=10.0.0.1 "),
            [
                "cidr_netmask=",
                "meta",
                "nic=",
                "op",
                "params",
                "utilization"
            ]
        );
        assert_eq!(
            offered(&mut c, "primitive vip IPaddr2 c"),
            ["cidr_netmask="]
        );
        assert_eq!(
            offered(&mut c, "primitive vip IPaddr2 ip=1 op "),
            ["monitor", "start", "stop"]
        );
        assert_eq!(
            offered(&mut c, "primitive vip IPaddr2 ip=1 op monitor int"),
            ["interval="]
        );
        assert_eq!(
            offered(&mut c, "primitive vip IPaddr2 meta target"),
            ["target-role="]
        );
        // An agent without meta-data falls back to the usual op names.
        assert!(offered(&mut c, "primitive web lsb:nginx op ").contains(&"monitor".to_string()));
    }

    #[test]
    fn history_lives_in_the_xdg_state_directory() {
        let lookup = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        assert_eq!(
            history_file(lookup(&[("HOME", "/home/ann")])),
            Some(PathBuf::from("/home/ann/.local/state/hakit/crm_history"))
        );
        assert_eq!(
            history_file(lookup(&[("HOME", "/home/ann"), ("XDG_STATE_HOME", "/s")])),
            Some(PathBuf::from("/s/hakit/crm_history"))
        );
        assert_eq!(history_file(lookup(&[("HOME", "")])), None);
        assert_eq!(
            history_file(lookup(&[("HOME", "/h"), ("XDG_STATE_HOME", "rel")])),
            Some(PathBuf::from("/h/.local/state/hakit/crm_history"))
        );
    }
}
