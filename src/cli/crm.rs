//! `ha-crm`: arguments and behaviour. One-shot commands (`ha-crm configure property
//! stonith-enabled=false`, committed at once), batch input (`ha-crm -f FILE` or commands on a
//! non-terminal stdin, all or nothing) and the interactive shell (`ha-crm` alone, see
//! [`super::crm_shell`]) all run through one [`Session`].
//!
//! The CIB is a file given by `--cib-file PATH` / `HA_CIB_FILE`. Without one, commands that
//! need the CIB go to the controller at `$HA_RUN_DIR/crm.sock` (exit 3 when it cannot be
//! reached).

use std::cell::OnceCell;
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::anyhow;
use clap::{Parser, Subcommand};
use serde_json::json;

use super::crm_simulate::{ExplainArgs, SimulateArgs, run_explain, run_simulate};
use super::{CliResult, Failure, print_json_ok};
use crate::crm::access::CibAccess;
use crate::crm::cib::{Cib, Configuration, NvList};
use crate::crm::edit::{self, Mode, ScriptError};
use crate::crm::render;
use crate::crm::shell::{
    self, Command, ConfigureCommand, Level, Line, LoadMode, NodeCommand, Pos, RaCommand,
    ResourceCommand, ShowWhat,
};
use crate::crm::store::CibFile;
use crate::crm::verify::{self, AgentCatalog, AgentParameter, ChangedOnly, Finding, Severity};
use crate::paths::Paths;

/// Cluster resource manager shell: configuration, status, resources, nodes.
///
/// With no command and a terminal on stdin, opens the interactive shell; with commands on a
/// non-terminal stdin (or `-f FILE`), runs them as one batch: nothing is committed unless
/// every line succeeds.
#[derive(Debug, Parser)]
#[command(name = "ha-crm", version, about)]
pub struct Args {
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// Work on this CIB file instead of the live cluster (created on first commit).
    #[arg(long, global = true, env = "HA_CIB_FILE", value_name = "PATH")]
    pub cib_file: Option<PathBuf>,

    /// Run the commands in FILE as one batch (all or nothing).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// What to do; none opens the interactive shell.
    #[command(subcommand)]
    pub command: Option<CrmCommand>,
}

/// `ha-crm` subcommands. Each level takes the rest of the line in crm shell syntax.
#[derive(Debug, Subcommand)]
pub enum CrmCommand {
    /// Show, change, verify and commit the configuration (crm shell syntax).
    Configure(Words),
    /// Resources: start, stop, restart, move, ban, clear, cleanup, status, locate, manage.
    ///
    /// `move RSC [NODE] [--lifetime PT1H]` leaves the location constraint cli-prefer-RSC,
    /// `ban` cli-ban-RSC-on-NODE; `clear RSC` removes them.
    Resource(Words),
    /// Nodes: list, standby, online, maintenance, ready [NODE] (default: this node), attribute.
    Node(Words),
    /// Resource agents: classes, list CLASS [PROVIDER], info AGENT.
    Ra(Words),
    /// The cluster's state in crm_mon's layout: nodes, resources, failed actions.
    ///
    /// Exits 1 when any resource action failed.
    Status(super::crm_ops::StatusArgs),
    /// Print the controller's event stream (one line per event; JSON lines with --json).
    Events(super::crm_ops::EventsArgs),
    /// Show what the cluster would do with a CIB: status, transition summary, actions.
    Simulate(SimulateArgs),
    /// Explain where a resource runs (or why it is stopped): every score term per node.
    Explain(ExplainArgs),
    /// Run this node's controller: replicated CIB, DC, transitions (normally started by ha-ring).
    Daemon(super::crm_daemon::DaemonArgs),
}

/// The rest of a command line, in crm shell syntax.
#[derive(Debug, Clone, clap::Args)]
pub struct Words {
    /// A command of this level, e.g. `property stonith-enabled=false`; none opens the level.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub words: Vec<String>,
}

/// Runs `ha-crm` with parsed arguments.
pub fn run(args: &Args) -> CliResult {
    let target = Target::new(args.cib_file.clone(), Paths::from_env());
    let stdout = io::stdout();
    let mut out = stdout.lock();
    // `--json` typed after a level's words is still the global flag.
    let json = args.wants_json();
    let without_json =
        |w: &Words| -> Vec<String> { w.words.iter().filter(|w| *w != "--json").cloned().collect() };
    let (level, words) = match &args.command {
        None => (Level::Top, Vec::new()),
        Some(CrmCommand::Configure(w)) => (Level::Configure, without_json(w)),
        Some(CrmCommand::Resource(w)) => (Level::Resource, without_json(w)),
        Some(CrmCommand::Node(w)) => (Level::Node, without_json(w)),
        Some(CrmCommand::Ra(w)) => (Level::Ra, without_json(w)),
        Some(CrmCommand::Status(status)) => {
            return super::crm_ops::run_status(status, &target.access(), json, &mut out);
        }
        Some(CrmCommand::Events(events)) => {
            return super::crm_ops::run_events(events, &target.access(), json, &mut out);
        }
        Some(CrmCommand::Simulate(sim)) => {
            let mut sim = sim.clone();
            sim.source.cib_file = args.cib_file.clone();
            return run_simulate(&sim, args.json, &mut out);
        }
        Some(CrmCommand::Explain(explain)) => {
            let mut explain = explain.clone();
            explain.source.cib_file = args.cib_file.clone();
            return run_explain(&explain, args.json, &mut out);
        }
        Some(CrmCommand::Daemon(daemon)) => {
            return super::crm_daemon::run(daemon, &Paths::from_env());
        }
    };
    if let Some(file) = &args.file {
        if args.command.is_some() {
            return Err(Failure::usage(anyhow!(
                "-f FILE runs a batch; give commands in the file, not on the command line"
            )));
        }
        let text = std::fs::read_to_string(file)
            .map_err(|e| Failure::failed(anyhow!("cannot read {}: {e}", file.display())))?;
        let mut session = Session::new(target, json, RunMode::Batch, &mut out);
        return session.run_batch(&file.display().to_string(), &text, level);
    }
    if words.is_empty() {
        if io::stdin().is_terminal() {
            return super::crm_shell::interactive(target, json, level, &mut out);
        }
        let mut text = String::new();
        io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::failed(anyhow!("cannot read commands from stdin: {e}")))?;
        let mut session = Session::new(target, json, RunMode::Batch, &mut out);
        return session.run_batch("stdin", &text, level);
    }
    let mut session = Session::new(target, json, RunMode::OneShot, &mut out);
    session.run_one_shot(level, &words)
}

impl Args {
    /// True when JSON output was asked for, also by a `--json` typed after a level's words
    /// (`ha-crm resource stop vip --json`).
    pub fn wants_json(&self) -> bool {
        self.json || level_words(self).is_some_and(|w| w.iter().any(|w| w == "--json"))
    }
}

/// The words of a level command, when the command is one.
fn level_words(args: &Args) -> Option<&Vec<String>> {
    match &args.command {
        Some(
            CrmCommand::Configure(w)
            | CrmCommand::Resource(w)
            | CrmCommand::Node(w)
            | CrmCommand::Ra(w),
        ) => Some(&w.words),
        _ => None,
    }
}

/// Joins command-line words into one crm line, quoting words that need it.
fn join_words(words: &[String]) -> String {
    words
        .iter()
        .map(|word| {
            if word.is_empty()
                || word
                    .chars()
                    .any(|c| c.is_whitespace() || "\"'\\".contains(c))
            {
                // Quote only the value part of NAME=VALUE so the pair stays one attribute.
                match word.split_once('=') {
                    Some((name, value)) if !name.chars().any(char::is_whitespace) => {
                        format!("{name}={}", render::quote(value))
                    }
                    _ => render::quote(word),
                }
            } else {
                word.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where the CIB lives.
#[derive(Debug, Clone)]
pub enum Target {
    /// A CIB file (`--cib-file`).
    File(CibFile),
    /// The controller's live CIB.
    Live(Paths),
}

impl Target {
    /// The file when given, else the live cluster under `paths`.
    pub fn new(cib_file: Option<PathBuf>, paths: Paths) -> Target {
        match cib_file {
            Some(path) => Target::File(CibFile::new(path)),
            None => Target::Live(paths),
        }
    }

    /// The CIB access for commands: the file, or the controller's socket.
    pub fn access(&self) -> CibAccess {
        match self {
            Target::File(file) => CibAccess::File(file.clone()),
            Target::Live(paths) => CibAccess::Live(paths.crm_socket()),
        }
    }

    /// The name shown in prompts: `live`, or the CIB file's name.
    pub fn prompt_name(&self) -> String {
        match self {
            Target::Live(_) => "live".into(),
            Target::File(file) => file
                .path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| file.path().display().to_string()),
        }
    }
}

/// How the session was started: decides when changes are written and whether to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// One command from the command line; changes are committed at once.
    OneShot,
    /// A batch; changes are committed at the end if every line succeeded.
    Batch,
    /// The interactive shell; changes are staged until `commit`.
    Interactive,
}

/// What to do after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read the next command.
    Continue,
    /// Leave the shell.
    Quit,
}

/// A failure with the place in the input it is about.
#[derive(Debug)]
pub struct Located {
    /// Where, when known.
    pub pos: Option<Pos>,
    /// What failed.
    pub failure: Failure,
}

impl From<Failure> for Located {
    fn from(failure: Failure) -> Located {
        Located { pos: None, failure }
    }
}

impl From<ScriptError> for Located {
    fn from(error: ScriptError) -> Located {
        Located {
            pos: Some(error.pos),
            failure: Failure::failed(anyhow!("{}", error.message)),
        }
    }
}

fn failed(message: impl std::fmt::Display) -> Located {
    Failure::failed(anyhow!("{message}")).into()
}

/// The CIB as read and as changed since. A full copy is made on the first change that
/// needs one, so read-only commands never copy a large CIB, and changes to cluster options
/// and defaults (the usual one-line commit) never do: they are made in place, with the
/// previous lists kept to compare with, to verify against and to restore.
#[derive(Debug, Clone)]
pub struct Staged {
    /// As last read or committed; with [`Pending::Options`], with those changes made.
    cib: Cib,
    pending: Pending,
}

#[derive(Debug, Clone)]
enum Pending {
    Nothing,
    /// Only the cluster options and defaults changed, in place in `cib`.
    Options(Box<Options>),
    /// Anything changed: the changed copy (`cib` is the base).
    Copy(Box<Cib>),
}

/// The attribute lists an options change touches, as they were before it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    properties: NvList,
    rsc_defaults: NvList,
    op_defaults: NvList,
}

impl Options {
    fn of(configuration: &Configuration) -> Options {
        Options {
            properties: configuration.properties.clone(),
            rsc_defaults: configuration.rsc_defaults.clone(),
            op_defaults: configuration.op_defaults.clone(),
        }
    }

    /// Exchanges these lists with those of `configuration`.
    fn swap(&mut self, configuration: &mut Configuration) {
        std::mem::swap(&mut self.properties, &mut configuration.properties);
        std::mem::swap(&mut self.rsc_defaults, &mut configuration.rsc_defaults);
        std::mem::swap(&mut self.op_defaults, &mut configuration.op_defaults);
    }
}

/// True for changes that touch nothing but the lists in [`Options`].
fn changes_options_only(change: &shell::Change) -> bool {
    matches!(
        change,
        shell::Change::Property(_) | shell::Change::RscDefaults(_) | shell::Change::OpDefaults(_)
    )
}

impl Staged {
    /// A CIB as read, nothing changed yet.
    pub fn new(base: Cib) -> Staged {
        Staged {
            cib: base,
            pending: Pending::Nothing,
        }
    }

    /// The CIB with the changes not yet committed.
    pub fn work(&self) -> &Cib {
        match &self.pending {
            Pending::Copy(changed) => changed,
            Pending::Nothing | Pending::Options(_) => &self.cib,
        }
    }

    /// The CIB to change (made a full copy first if needed).
    pub fn work_mut(&mut self) -> &mut Cib {
        self.make_copy();
        match &mut self.pending {
            Pending::Copy(changed) => changed,
            Pending::Nothing | Pending::Options(_) => unreachable!("make_copy made one"),
        }
    }

    /// The CIB to apply `change` to: in place when it changes only options and defaults.
    fn work_for(&mut self, change: &shell::Change) -> &mut Cib {
        if !changes_options_only(change) {
            return self.work_mut();
        }
        if matches!(self.pending, Pending::Nothing) {
            self.pending = Pending::Options(Box::new(Options::of(&self.cib.configuration)));
        }
        match &mut self.pending {
            Pending::Copy(changed) => changed,
            Pending::Nothing | Pending::Options(_) => &mut self.cib,
        }
    }

    /// Turns in-place option changes into a base and a changed copy.
    fn make_copy(&mut self) {
        match std::mem::replace(&mut self.pending, Pending::Nothing) {
            Pending::Nothing => self.pending = Pending::Copy(Box::new(self.cib.clone())),
            Pending::Options(mut before) => {
                let changed = self.cib.clone();
                before.swap(&mut self.cib.configuration);
                self.pending = Pending::Copy(Box::new(changed));
            }
            copy @ Pending::Copy(_) => self.pending = copy,
        }
    }

    /// The CIB as last read or committed (makes a full copy first if needed).
    pub fn base(&mut self) -> &Cib {
        if matches!(self.pending, Pending::Options(_)) {
            self.make_copy();
        }
        &self.cib
    }

    /// Replaces the changed copy.
    pub fn set_work(&mut self, cib: Cib) {
        self.discard();
        self.pending = Pending::Copy(Box::new(cib));
    }

    /// Drops the changes.
    pub fn discard(&mut self) {
        if let Pending::Options(mut before) = std::mem::replace(&mut self.pending, Pending::Nothing)
        {
            before.swap(&mut self.cib.configuration);
        }
    }

    /// True when the configuration or status has uncommitted changes.
    pub fn has_changes(&self) -> bool {
        self.changes().is_some()
    }

    /// `None` without uncommitted changes, else whether the configuration changed (`false`:
    /// the status only). Compares whole CIBs: ask once per commit.
    fn changes(&self) -> Option<bool> {
        match &self.pending {
            Pending::Nothing => None,
            Pending::Options(before) => {
                (**before != Options::of(&self.cib.configuration)).then_some(true)
            }
            Pending::Copy(work) => {
                let configuration = work.configuration != self.cib.configuration;
                (configuration || work.status != self.cib.status).then_some(configuration)
            }
        }
    }

    /// The version the changes were made on.
    fn base_version(&self) -> (u64, u64, u64) {
        self.cib.version()
    }

    /// Verify findings for a commit: agents are asked about new or changed primitives only.
    fn commit_findings(&self, agents: &dyn AgentCatalog) -> Vec<Finding> {
        match &self.pending {
            // No primitive changed: no agent is asked.
            Pending::Nothing | Pending::Options(_) => {
                verify::verify(&self.cib, &ChangedOnly::none(agents))
            }
            Pending::Copy(work) => {
                verify::verify(work, &ChangedOnly::new(agents, &self.cib.configuration))
            }
        }
    }

    /// The warnings the committed copy has from no agent (see [`verify::standing_warnings`]).
    fn standing_warnings(&mut self) -> Vec<Finding> {
        match &mut self.pending {
            Pending::Options(before) => {
                before.swap(&mut self.cib.configuration);
                let warnings = verify::standing_warnings(&self.cib);
                before.swap(&mut self.cib.configuration);
                warnings
            }
            Pending::Nothing | Pending::Copy(_) => verify::standing_warnings(&self.cib),
        }
    }

    /// The CIB with the changes, to have its counters raised for the commit; no copy made.
    fn committing(&mut self) -> &mut Cib {
        match &mut self.pending {
            Pending::Copy(changed) => changed,
            Pending::Nothing | Pending::Options(_) => &mut self.cib,
        }
    }

    /// The changes are committed: the changed CIB becomes the base. Returns the previous base
    /// when there was a separate one.
    fn committed(&mut self) -> Option<Cib> {
        match std::mem::replace(&mut self.pending, Pending::Nothing) {
            Pending::Nothing | Pending::Options(_) => None,
            Pending::Copy(changed) => Some(std::mem::replace(&mut self.cib, *changed)),
        }
    }
}

/// Asks the user a yes/no question; `None` when there is nobody to ask.
pub type Asker<'a> = Box<dyn FnMut(&str) -> Answer + 'a>;

/// An answer to a yes/no question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Go ahead (commit).
    Yes,
    /// Do not (drop the changes); also what end of input means.
    No,
    /// Neither: the question was interrupted (Ctrl-C), so nothing happens.
    Cancel,
}

/// One run of the crm shell: where the CIB is, the current level, staged changes.
pub struct Session<'a> {
    target: Target,
    json: bool,
    mode: RunMode,
    out: &'a mut dyn Write,
    /// The current level.
    pub level: Level,
    staged: Option<Staged>,
    force_commit: bool,
    /// `(source, position, id)` of objects defined in this run, for naming lines.
    defined_at: Vec<(String, Pos, String)>,
    source: String,
    history: Vec<String>,
    agents: Box<dyn AgentCatalog>,
    asker: Option<Asker<'a>>,
}

impl<'a> Session<'a> {
    /// A session writing results to `out`.
    pub fn new(target: Target, json: bool, mode: RunMode, out: &'a mut dyn Write) -> Session<'a> {
        let live = matches!(target, Target::Live(_));
        Session {
            target,
            json,
            mode,
            out,
            level: Level::Top,
            staged: None,
            force_commit: false,
            defined_at: Vec::new(),
            source: if mode == RunMode::Interactive {
                "input"
            } else {
                "command line"
            }
            .into(),
            history: Vec::new(),
            agents: Box::new(LrmdCatalog {
                unknown_is_error: live,
                ..LrmdCatalog::default()
            }),
            asker: None,
        }
    }

    /// Sets who answers yes/no questions (the interactive shell).
    pub fn set_asker(&mut self, asker: Asker<'a>) {
        self.asker = Some(asker);
    }

    /// Where the CIB lives.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The staged CIB, when loaded.
    pub fn staged(&self) -> Option<&Staged> {
        self.staged.as_ref()
    }

    /// True when there are changes not yet committed.
    pub fn has_changes(&self) -> bool {
        self.staged.as_ref().is_some_and(Staged::has_changes)
    }

    /// Records a typed line for `history`.
    pub fn remember(&mut self, line: &str) {
        self.history.push(line.to_string());
    }

    fn load(&mut self) -> Result<&mut Staged, Located> {
        if self.staged.is_none() {
            let cib = match &self.target {
                Target::File(file) => file
                    .load_or_empty()
                    .map_err(|e| Failure::failed(anyhow!("{e}")))?,
                Target::Live(_) => self
                    .target
                    .access()
                    .load()
                    .map_err(super::crm_ops::access_failure)?,
            };
            self.staged = Some(Staged::new(cib));
        }
        Ok(self.staged.as_mut().expect("loaded above"))
    }

    fn info(&self, message: &str) {
        eprintln!("ha-crm: info: {message}");
    }

    fn print(&mut self, text: &str) -> Result<(), Located> {
        self.out
            .write_all(text.as_bytes())
            .map_err(|e| Failure::failed(anyhow::Error::new(e)))?;
        Ok(())
    }

    fn print_json(&mut self, data: &serde_json::Value) -> Result<(), Located> {
        print_json_ok(self.out, data).map_err(|e| Failure::failed(anyhow::Error::new(e)))?;
        Ok(())
    }

    /// Runs one command from the command line and commits its changes.
    pub fn run_one_shot(&mut self, level: Level, words: &[String]) -> CliResult {
        let text = join_words(words);
        let located = |session: &mut Session<'_>| -> Result<(), Located> {
            let lines = shell::lex(&text).map_err(ScriptError::from)?;
            for line in &lines {
                session.level = level;
                let command = shell::parse(level, line).map_err(ScriptError::from)?;
                if matches!(command, Command::Enter(_)) {
                    return Err(failed(
                        "a level needs a terminal for the interactive shell; give a command",
                    ));
                }
                session.execute(line, command)?;
            }
            session.finish()
        };
        located(self).map_err(|e| with_source("command line", e))
    }

    /// Runs text as a batch starting at `level`: all or nothing.
    pub fn run_batch(&mut self, source: &str, text: &str, level: Level) -> CliResult {
        self.level = level;
        self.source = source.to_string();
        let result = (|| -> Result<(), Located> {
            let lines = shell::lex(text).map_err(ScriptError::from)?;
            for line in &lines {
                let command = shell::parse(self.level, line).map_err(ScriptError::from)?;
                let start = line.pos;
                match self.execute(line, command) {
                    Ok(Flow::Continue) => {}
                    Ok(Flow::Quit) => break,
                    Err(mut e) => {
                        e.pos.get_or_insert(start);
                        return Err(e);
                    }
                }
            }
            self.finish()
        })();
        result.map_err(|e| with_source(source, e))
    }

    /// Commits what is pending at the end of a one-shot or batch run.
    fn finish(&mut self) -> Result<(), Located> {
        self.write(self.force_commit)?;
        // The process ends right after: freeing a large CIB piece by piece is wasted time.
        std::mem::forget(self.staged.take());
        Ok(())
    }

    /// Executes one parsed command.
    pub fn execute(&mut self, line: &Line, command: Command) -> Result<Flow, Located> {
        match command {
            Command::Enter(level) => {
                if self.level == Level::Configure && level != Level::Configure {
                    self.leave_configure()?;
                }
                self.level = level;
            }
            Command::Up | Command::End => {
                if self.level == Level::Configure {
                    self.leave_configure()?;
                }
                self.level = Level::Top;
            }
            Command::Quit => {
                if self.mode == RunMode::Interactive && self.has_changes() {
                    self.leave_configure()?;
                }
                return Ok(Flow::Quit);
            }
            Command::Help(topic) => self.help(topic.as_deref())?,
            Command::History => {
                let text: String = self
                    .history
                    .iter()
                    .enumerate()
                    .map(|(i, l)| format!("{:>4}  {l}\n", i + 1))
                    .collect();
                self.print(&text)?;
            }
            Command::Status => {
                let access = self.target.access();
                super::crm_ops::status_once(&access, self.json, self.out)?;
            }
            Command::Configure(command) => {
                self.configure(line, command)?;
                if self.mode == RunMode::Interactive && self.level != Level::Configure {
                    // `configure CMD` typed at another level enters and leaves the level, and
                    // leaving commits, as in crmsh.
                    self.write(false)?;
                }
            }
            Command::Resource(command) => self.resource(line, command)?,
            Command::Node(command) => self.node(line, command)?,
            Command::Ra(command) => self.ra(command)?,
        }
        Ok(Flow::Continue)
    }

    fn leave_configure(&mut self) -> Result<(), Located> {
        if !self.has_changes() || self.mode != RunMode::Interactive {
            return Ok(());
        }
        let answer = match self.asker.as_mut() {
            Some(ask) => ask("There are changes pending. Do you want to commit them (y/n)? "),
            None => Answer::No,
        };
        match answer {
            Answer::Yes => self.commit(false),
            Answer::No => {
                if let Some(staged) = &mut self.staged {
                    staged.discard();
                }
                self.info("changes discarded");
                Ok(())
            }
            Answer::Cancel => Err(failed(
                "still at the configure level with the changes pending (commit, or leave and answer n)",
            )),
        }
    }

    fn help(&mut self, topic: Option<&str>) -> Result<(), Located> {
        let text = match topic {
            Some(topic) => help_topic(topic),
            None => {
                let mut text = String::new();
                if self.level == Level::Top {
                    text.push_str(
                        "levels: configure, resource, node, ra (cd LEVEL, or LEVEL COMMAND)\n",
                    );
                }
                text.push_str(&format!("commands: {}\n", self.level.commands().join(", ")));
                text.push_str("help COMMAND describes one command\n");
                text
            }
        };
        self.print(&text)
    }

    fn configure(&mut self, line: &Line, command: ConfigureCommand) -> Result<(), Located> {
        match command {
            ConfigureCommand::Change(change) => {
                let staged = self.load()?;
                let notes =
                    edit::apply_line(staged.work_for(&change), line, &change, Mode::Create)?;
                let defined = match &change {
                    shell::Change::Property(_) => Some("cib-bootstrap-options"),
                    shell::Change::RscDefaults(_) => Some("rsc-options"),
                    shell::Change::OpDefaults(_) => Some("op-options"),
                    other => other.defined_id(),
                };
                if let Some(id) = defined {
                    self.defined_at
                        .push((self.source.clone(), line.pos, id.to_string()));
                }
                for note in notes {
                    self.info(&note);
                }
            }
            ConfigureCommand::Show(what) => self.show(what)?,
            ConfigureCommand::Verify => self.verify()?,
            ConfigureCommand::Commit { force } => self.commit(force)?,
            ConfigureCommand::Refresh => {
                self.staged = None;
                self.load()?;
            }
            ConfigureCommand::Load { xml, mode, source } => self.load_file(xml, mode, &source)?,
            ConfigureCommand::Edit(id) => self.edit(id.as_deref())?,
        }
        Ok(())
    }

    fn show(&mut self, what: ShowWhat) -> Result<(), Located> {
        // Lend the staged copy out instead of cloning it (a large CIB costs milliseconds).
        self.load()?;
        let mut staged = self.staged.take().expect("loaded above");
        let result = self.show_from(&mut staged, what);
        self.staged = Some(staged);
        result
    }

    fn show_from(&mut self, staged: &mut Staged, what: ShowWhat) -> Result<(), Located> {
        if matches!(what, ShowWhat::Changed) {
            staged.base();
            let text = changed_text(&staged.cib.configuration, &staged.work().configuration);
            return self.print(&text);
        }
        let json = self.json;
        let work = staged.work();
        let config = &work.configuration;
        match what {
            ShowWhat::All if json => self.print_json(&json!({
                "admin_epoch": work.admin_epoch,
                "epoch": work.epoch,
                "num_updates": work.num_updates,
                "configuration": config,
                "text": render::show(config),
            })),
            ShowWhat::All => {
                let text = render::show(config);
                self.print(&text)
            }
            ShowWhat::Ids(ids) => {
                let text = render::show_ids(config, &ids).map_err(|missing| {
                    let known: Vec<&str> = config.ids().into_iter().map(|(id, _)| id).collect();
                    let mut message = format!("no object \"{}\"", missing.join("\", \""));
                    if let Some(near) = shell::did_you_mean(&missing[0], known.iter().copied()) {
                        message.push_str(&format!(" (did you mean \"{near}\"?)"));
                    }
                    failed(message)
                })?;
                if json {
                    self.print_json(&json!({ "text": text }))
                } else {
                    self.print(&text)
                }
            }
            ShowWhat::Json => {
                let text = serde_json::to_string_pretty(work).expect("a CIB always serialises");
                self.print(&format!("{text}\n"))
            }
            ShowWhat::Xml => {
                let text = crate::crm::xml::to_xml(work);
                self.print(&text)?;
                if !text.ends_with('\n') {
                    self.print("\n")?;
                }
                Ok(())
            }
            ShowWhat::Changed => unreachable!("answered above"),
        }
    }

    /// Verify findings, every primitive's agent checked.
    fn findings(&mut self) -> Result<Vec<Finding>, Located> {
        self.load()?;
        let staged = self.staged.as_ref().expect("loaded above");
        Ok(verify::verify(staged.work(), self.agents.as_ref()))
    }

    /// A finding naming where its object is: the batch line that defined it in this run, or
    /// its line in `show` output (`show:LINE:`). `shown` is rendered on first need only: most
    /// commits print no finding, and rendering a large CIB costs milliseconds.
    fn finding_text(&self, finding: &Finding, shown: &OnceCell<render::Shown>) -> String {
        let place = finding.object.as_deref().and_then(|id| {
            if let Some((source, pos)) = self
                .defined_at
                .iter()
                .rev()
                .find(|(_, _, o)| o == id)
                .map(|(s, p, _)| (s, p))
            {
                return Some(format!("{source}:{}: ", pos.line));
            }
            let shown = shown.get_or_init(|| {
                let staged = self
                    .staged
                    .as_ref()
                    .expect("findings come from a loaded CIB");
                render::show_with_lines(&staged.work().configuration)
            });
            shown
                .lines
                .iter()
                .find(|(o, _)| o == id)
                .map(|(_, line)| format!("show:{line}: "))
        });
        format!("{}{}", place.unwrap_or_default(), finding.message)
    }

    fn verify(&mut self) -> Result<(), Located> {
        let findings = self.findings()?;
        let shown = OnceCell::new();
        let errors = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        if self.json {
            let warnings = findings.len() - errors;
            self.print_json(&json!({
                "errors": errors,
                "warnings": warnings,
                "findings": findings,
            }))?;
        } else {
            let text: String = findings
                .iter()
                .map(|f| {
                    let severity = match f.severity {
                        Severity::Error => "ERROR",
                        Severity::Warning => "WARNING",
                    };
                    format!("{severity}: {}\n", self.finding_text(f, &shown))
                })
                .collect();
            self.print(&text)?;
        }
        if errors > 0 {
            return Err(failed(format!(
                "verify found {errors} error{}",
                if errors == 1 { "" } else { "s" }
            )));
        }
        Ok(())
    }

    /// `commit`: writes staged changes at once, except in a batch, where the one write happens
    /// at the end so that a later failing line commits nothing.
    fn commit(&mut self, force: bool) -> Result<(), Located> {
        if self.mode == RunMode::Batch {
            self.force_commit |= force;
            return Ok(());
        }
        self.write(force)
    }

    fn write(&mut self, force: bool) -> Result<(), Located> {
        let Some(configuration_changed) = self.staged.as_ref().and_then(Staged::changes) else {
            if self.mode == RunMode::Interactive {
                self.info("nothing to commit");
            }
            return Ok(());
        };
        // To a file: the counters are raised first, so that the file form is encoded on a
        // second core while verify runs (each costs about a millisecond on a large CIB);
        // they are put back below if nothing is written.
        let agents = self.agents.as_ref();
        let staged = self.staged.as_mut().expect("has_changes implies loaded");
        let (findings, file_write) = match &self.target {
            Target::File(file) => {
                let expected = (!force).then(|| staged.base_version());
                let work = staged.committing();
                let counters = (work.admin_epoch, work.epoch, work.num_updates);
                if configuration_changed {
                    work.bump_epoch();
                } else {
                    work.bump_num_updates();
                }
                let staged = &*staged;
                let encode = || crate::crm::store::encode(staged.work());
                let (findings, bytes) = std::thread::scope(|scope| {
                    // Without a thread to be had (limits), the same work in turn.
                    let encoding = std::thread::Builder::new().spawn_scoped(scope, encode);
                    let findings = staged.commit_findings(agents);
                    let bytes = match encoding {
                        Ok(thread) => thread.join().expect("encoding a CIB cannot fail"),
                        Err(_) => encode(),
                    };
                    (findings, bytes)
                });
                (findings, Some((file.clone(), expected, counters, bytes)))
            }
            Target::Live(_) => (staged.commit_findings(agents), None),
        };
        let shown = OnceCell::new();
        let staged = self.staged.as_mut().expect("has_changes implies loaded");
        // Warnings the committed copy already had were shown before; print only new ones.
        let known = if findings.iter().any(|f| f.severity == Severity::Warning) {
            staged.standing_warnings()
        } else {
            Vec::new()
        };
        let mut errors = 0;
        for finding in &findings {
            let label = match finding.severity {
                Severity::Error => {
                    errors += 1;
                    "error"
                }
                Severity::Warning if known.contains(finding) => continue,
                Severity::Warning => "warning",
            };
            eprintln!("ha-crm: {label}: {}", self.finding_text(finding, &shown));
        }
        let Some((file, expected, counters, bytes)) = file_write else {
            if errors > 0 && !force {
                return Err(refused(errors));
            }
            return self.write_live(force);
        };
        let staged = self.staged.as_mut().expect("has_changes implies loaded");
        let written = if errors > 0 && !force {
            Err(refused(errors))
        } else {
            file.lock()
                .and_then(|_lock| file.store_encoded(&bytes, expected))
                .map_err(|e| {
                    let failure = Failure::failed(anyhow!("commit failed: {e}"));
                    match e {
                        crate::crm::store::StoreError::Conflict { .. } => {
                            Located::from(failure.with_hint(
                                "`refresh` to start again from the stored CIB, or `commit force`",
                            ))
                        }
                        _ => Located::from(failure),
                    }
                })
        };
        if let Err(e) = written {
            // Not written: the staged copy keeps its old counters and its changes.
            let work = staged.committing();
            (work.admin_epoch, work.epoch, work.num_updates) = counters;
            return Err(e);
        }
        let previous = staged.committed();
        if self.mode == RunMode::OneShot {
            // The process ends right after: freeing a large CIB piece by piece is wasted time.
            std::mem::forget(previous);
            std::mem::forget(bytes);
        }
        let epoch = staged.work().epoch;
        if self.json && self.mode != RunMode::Interactive {
            self.print_json(&json!({ "committed": true, "epoch": epoch }))?;
        }
        Ok(())
    }

    /// Commits the staged configuration to the controller, against the epoch it was read at
    /// (`force`: against whatever is there now).
    fn write_live(&mut self, force: bool) -> Result<(), Located> {
        let access = self.target.access();
        let staged = self.staged.as_mut().expect("has_changes implies loaded");
        let mut base = staged.base().clone();
        if force {
            base = access.load().map_err(super::crm_ops::access_failure)?;
        }
        let epoch = access.commit(&base, staged.work()).map_err(|e| {
            let conflict = matches!(e, crate::crm::access::AccessError::Conflict(_));
            let failure = super::crm_ops::access_failure(e);
            if conflict {
                Located::from(failure.with_hint(
                    "`refresh` to start again from the cluster's CIB, or `commit force`",
                ))
            } else {
                Located::from(failure)
            }
        })?;
        let work = staged.work_mut();
        work.epoch = epoch;
        work.num_updates = 0;
        staged.committed();
        if self.json && self.mode != RunMode::Interactive {
            self.print_json(&json!({ "committed": true, "epoch": epoch }))?;
        }
        Ok(())
    }

    fn load_file(&mut self, xml: bool, mode: LoadMode, source: &str) -> Result<(), Located> {
        let text = if source == "-" {
            let mut text = String::new();
            io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| failed(format!("cannot read stdin: {e}")))?;
            text
        } else {
            std::fs::read_to_string(source)
                .map_err(|e| failed(format!("cannot read {source}: {e}")))?
        };
        let name = if source == "-" { "stdin" } else { source };
        let staged = self.load()?;
        let mut next = staged.work().clone();
        if xml {
            let imported =
                crate::crm::xml::parse_cib(&text).map_err(|e| failed(format!("{name}: {e}")))?;
            match mode {
                LoadMode::Replace => {
                    next.configuration = imported.configuration;
                    next.status = imported.status;
                }
                LoadMode::Update => {
                    let text = render::show(&imported.configuration);
                    edit::apply_text(&mut next, &text, Mode::Update)
                        .map_err(|e| failed(format!("{name}: cannot merge: {e}")))?;
                    if !imported.status.nodes.is_empty() {
                        next.status = imported.status;
                    }
                }
            }
        } else {
            if mode == LoadMode::Replace {
                next.configuration = Configuration::default();
            }
            edit::apply_text(&mut next, &text, Mode::Update)
                .map_err(|e| failed(format!("{name}:{e}")))?;
        }
        staged.set_work(next);
        Ok(())
    }

    fn edit(&mut self, id: Option<&str>) -> Result<(), Located> {
        let work = self.load()?.work().clone();
        let before = match id {
            Some(id) => render::show_ids(&work.configuration, &[id.to_string()])
                .map_err(|_| failed(format!("no object \"{id}\"")))?,
            None => render::show(&work.configuration),
        };
        let path = std::env::temp_dir().join(format!("ha-crm-edit-{}.crm", std::process::id()));
        std::fs::write(&path, &before).map_err(|e| failed(format!("{}: {e}", path.display())))?;
        let editor = std::env::var("VISUAL")
            .or_else(|_| std::env::var("EDITOR"))
            .unwrap_or_else(|_| "vi".into());
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("sh")
            .arg(&path)
            .status();
        let after = std::fs::read_to_string(&path);
        let _ = std::fs::remove_file(&path);
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                return Err(failed(format!(
                    "editor {editor} failed ({s}); nothing changed"
                )));
            }
            Err(e) => return Err(failed(format!("cannot run editor {editor}: {e}"))),
        }
        let after = after.map_err(|e| failed(format!("cannot read the edited text: {e}")))?;
        if after == before {
            self.info("no changes");
            return Ok(());
        }
        let mut next = work.clone();
        if id.is_none() {
            next.configuration = Configuration::default();
        }
        edit::apply_text(&mut next, &after, Mode::Update)
            .map_err(|e| failed(format!("edited text:{e}; nothing changed")))?;
        if id.is_none() {
            // The text lists objects in show order; unchanged ones keep their CIB place.
            render::keep_order(&work.configuration, &mut next.configuration);
        }
        self.load()?.set_work(next);
        Ok(())
    }

    fn resource(&mut self, line: &Line, command: ResourceCommand) -> Result<(), Located> {
        let result = self.with_ops(|ctx| super::crm_ops::resource(ctx, command));
        self.locate_failure(line, result)
    }

    fn node(&mut self, line: &Line, command: NodeCommand) -> Result<(), Located> {
        let result = self.with_ops(|ctx| super::crm_ops::node(ctx, command));
        self.locate_failure(line, result)
    }

    /// Runs a node or resource command (see [`super::crm_ops`]). crmsh commits these at
    /// once; only a batch keeps them with its other changes, committed together at the end.
    fn with_ops(
        &mut self,
        run: impl FnOnce(&mut super::crm_ops::OpsContext<'_>) -> CliResult,
    ) -> Result<(), Located> {
        let batch = self.mode == RunMode::Batch;
        if batch {
            self.load()?;
        }
        let paths = match &self.target {
            Target::Live(paths) => paths.clone(),
            Target::File(_) => Paths::from_env(),
        };
        let mut ctx = super::crm_ops::OpsContext {
            access: self.target.access(),
            paths,
            json: self.json,
            out: &mut *self.out,
            batch: if batch {
                self.staged.as_mut().map(|s| s.work_mut())
            } else {
                None
            },
        };
        run(&mut ctx)?;
        if !batch && !self.has_changes() {
            // Read again next time: the command committed behind the staged copy.
            self.staged = None;
        }
        Ok(())
    }

    /// Points a failure about a name at the last word of the line, as the shell's own errors.
    fn locate_failure(&self, line: &Line, result: Result<(), Located>) -> Result<(), Located> {
        result.map_err(|mut e| {
            if e.pos.is_none()
                && e.failure.exit == super::Exit::Failed
                && self.mode == RunMode::Batch
            {
                e.pos = Some(line.tokens.last().map(|t| t.pos).unwrap_or(line.pos));
            }
            e
        })
    }

    fn ra(&mut self, command: RaCommand) -> Result<(), Located> {
        use super::lrmd::{RaCommand as LrmdRa, Verdict, run_ra_command};
        let command = match command {
            RaCommand::Classes => LrmdRa::Classes,
            RaCommand::List { class, provider } => LrmdRa::List { class, provider },
            // crm spellings (`IPaddr` is ocf:heartbeat:IPaddr) become the executor's.
            RaCommand::Info(agent) => LrmdRa::Info {
                agent: full_agent_name(&agent),
            },
        };
        match run_ra_command(&command, self.json, self.out)? {
            Verdict::Success => Ok(()),
            Verdict::Failed => Err(failed("the agent command failed")),
        }
    }
}

/// `show changed`: objects whose text differs from the last committed copy.
fn refused(errors: usize) -> Located {
    failed(format!(
        "commit refused: verify found {errors} error{}; fix {} or use `commit force`",
        if errors == 1 { "" } else { "s" },
        if errors == 1 { "it" } else { "them" }
    ))
}

fn changed_text(base: &Configuration, work: &Configuration) -> String {
    let mut text = String::new();
    let ids: Vec<String> = render::show_with_lines(work)
        .lines
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    for id in ids {
        let now = render::show_ids(work, std::slice::from_ref(&id)).unwrap_or_default();
        let then = render::show_ids(base, std::slice::from_ref(&id)).unwrap_or_default();
        if now != then {
            text.push_str(&now);
        }
    }
    text
}

/// An agent as the executor names it: `IPaddr` → `ocf:heartbeat:IPaddr`.
fn full_agent_name(text: &str) -> String {
    match shell::parse_agent(text) {
        Ok((class, Some(provider), kind)) => format!("{class}:{provider}:{kind}"),
        Ok((class, None, kind)) => format!("{class}:{kind}"),
        Err(_) => text.to_string(),
    }
}

/// Agent parameters from the executor library's meta-data, read once per agent and run.
#[derive(Default)]
struct LrmdCatalog {
    cache: std::cell::RefCell<std::collections::BTreeMap<String, AgentAnswer>>,
    unknown_is_error: bool,
}

type AgentAnswer = Result<Option<Vec<AgentParameter>>, String>;

impl AgentCatalog for LrmdCatalog {
    fn unknown_is_error(&self) -> bool {
        self.unknown_is_error
    }

    fn parameters(&self, primitive: &crate::crm::cib::Primitive) -> AgentAnswer {
        if primitive.class == "stonith" {
            return Err("fencing agents are not described by the executor".into());
        }
        let name = primitive.agent();
        let mut cache = self.cache.borrow_mut();
        cache
            .entry(name.clone())
            .or_insert_with(|| {
                let setup = super::lrmd::Setup::from_env();
                match super::lrmd::agent_meta_data_of(&setup, &name) {
                    Ok(Some(meta)) => Ok(Some(
                        meta.parameters
                            .iter()
                            .map(|p| AgentParameter {
                                name: p.name.clone(),
                                required: p.required,
                            })
                            .collect(),
                    )),
                    Ok(None) => Ok(None),
                    Err(e) => Err(format!("{e:#}")),
                }
            })
            .clone()
    }
}

fn with_source(source: &str, error: Located) -> Failure {
    let Located { pos, mut failure } = error;
    if let Some(pos) = pos {
        failure.error = anyhow!("{source}:{pos}: {:#}", failure.error);
    }
    failure
}

fn help_topic(topic: &str) -> String {
    let text = match topic {
        "primitive" => {
            "primitive ID [CLASS:[PROVIDER:]]TYPE [params NAME=VALUE…] [meta NAME=VALUE…] [utilization NAME=VALUE…] [op NAME [NAME=VALUE…]]…"
        }
        "group" => {
            "group ID RESOURCE… [meta NAME=VALUE…] [params NAME=VALUE…]: moves the primitives into the group"
        }
        "clone" => "clone ID RESOURCE [meta NAME=VALUE…] [params NAME=VALUE…]",
        "location" => {
            "location ID RESOURCE [role=ROLE] SCORE: NODE | location ID RESOURCE rule SCORE: EXPRESSION [rule …]"
        }
        "colocation" => "colocation ID SCORE: RESOURCE[:ROLE] WITH_RESOURCE[:ROLE]",
        "order" => {
            "order ID [Mandatory|Optional|Serialize|SCORE]: FIRST[:ACTION] THEN[:ACTION] [symmetrical=true|false]"
        }
        "property" => {
            "property NAME=VALUE…: cluster options such as stonith-enabled, no-quorum-policy"
        }
        "rsc_defaults" => "rsc_defaults NAME=VALUE…: resource meta attribute defaults",
        "op_defaults" => "op_defaults NAME=VALUE…: operation defaults",
        "delete" => "delete [--force] ID…: also removes constraints left without their resource",
        "rename" => "rename OLD NEW: references in constraints follow",
        "erase" => "erase [nodes]: remove resources, constraints and options",
        "show" => "show [ID…|json|xml|changed]",
        "verify" => "verify: check the staged configuration",
        "commit" => "commit [force]: write staged changes",
        "load" => "load [xml] replace|update FILE|-",
        "edit" => "edit [ID]: change the crm text in $EDITOR",
        "node" => "node [ID:]NAME[:TYPE] [attributes NAME=VALUE…] [utilization NAME=VALUE…]",
        _ => return format!("no help for \"{topic}\"\n"),
    };
    format!("{text}\n")
}

/// The path a session works on, for messages.
pub fn describe_target(target: &Target) -> String {
    match target {
        Target::File(file) => file.path().display().to_string(),
        Target::Live(paths) => paths.crm_socket().display().to_string(),
    }
}
