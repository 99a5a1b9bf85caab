//! The interactive `ha-crm` shell: rustyline prompt (`crm(live)#`, `crm(live)configure#`, or
//! the CIB file's name instead of `live`), history, `\` continuation lines and tab completion
//! of commands, ids, agents and parameters. Commands run through [`Session`].

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use anyhow::anyhow;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper, history::DefaultHistory};

use super::crm::{Flow, RunMode, Session, Target};
use super::{CliResult, Failure};
use crate::crm::cib::Configuration;
use crate::crm::shell::{self, CLASSES, Level};

/// What completion can offer; refreshed after every command.
#[derive(Debug, Default)]
struct Completions {
    level: Option<Level>,
    resource_ids: Vec<String>,
    constraint_ids: Vec<String>,
    nodes: Vec<String>,
    agents: Vec<String>,
    /// Parameter names seen per agent spec.
    params: Vec<(String, String)>,
}

impl Completions {
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

    fn candidates(&self, words: &[&str]) -> Vec<String> {
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
                all
            }
            (Level::Configure, "primitive") if position > 2 => {
                let agent = shell::parse_agent(words[2])
                    .map(|(class, provider, kind)| match provider {
                        Some(provider) => format!("{class}:{provider}:{kind}"),
                        None => format!("{class}:{kind}"),
                    })
                    .unwrap_or_default();
                let mut all: Vec<String> = ["params", "meta", "utilization", "op"]
                    .map(String::from)
                    .to_vec();
                all.extend(
                    self.params
                        .iter()
                        .filter(|(a, _)| *a == agent)
                        .map(|(_, name)| format!("{name}=")),
                );
                if words[position - 1] == "op" {
                    all = ["monitor", "start", "stop", "promote", "demote"]
                        .map(String::from)
                        .to_vec();
                }
                all
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
            (Level::Ra, _) => self.agents.clone(),
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
            .borrow()
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
    let completions = Rc::new(RefCell::new(Completions::default()));
    let editor: Rc<RefCell<Editor<CrmHelper, DefaultHistory>>> =
        Rc::new(RefCell::new(Editor::new().map_err(|e| {
            Failure::failed(anyhow!("cannot start the shell: {e}"))
        })?));
    editor.borrow_mut().set_helper(Some(CrmHelper {
        completions: completions.clone(),
    }));
    let mut session = Session::new(target.clone(), json, RunMode::Interactive, out);
    session.level = level;
    let asker_editor = editor.clone();
    session.set_asker(Box::new(move |question: &str| {
        let answer = asker_editor.borrow_mut().readline(question).ok()?;
        Some(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
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
