//! `ha-lrmd`: arguments and behaviour.
//!
//! One-shot commands (`exec`, `ra`, `test`) run agents right here through the same executor
//! and runtime as the daemon; `daemon` serves the control socket.

mod daemon;
mod meta_cache;
mod runtime;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use clap::{Args as ClapArgs, Parser, Subcommand};
use serde::Serialize;

use super::{CliResult, Failure, print_json_ok};
use crate::lrmd::agent::{
    self, AgentDirs, AgentName, Class, Implementation, LsbScriptInfo, MetaData, MonitorMethod,
    MonitorReason, OpMeta, ResolvedAgent,
};
use crate::lrmd::builtin::{AgentEnv, Builtin};
use crate::lrmd::compliance::{self, AgentFacts, Finding};
use crate::lrmd::executor::{
    ExecStatus, Executor, ExecutorConfig, Input, OpId, OpRequest, OpResult, Output, Snapshot,
};
use crate::lrmd::plan::{self, ActionRequest};
use crate::paths::Paths;
use runtime::Runtime;

/// Local resource-agent executor: OCF, LSB, systemd and built-in agents.
///
/// Exit status: 0 success; 1 the command or the agent action failed (bad input included);
/// 2 usage; 3 the daemon could not be reached.
#[derive(Debug, Parser)]
#[command(name = "ha-lrmd", version, about)]
pub struct Args {
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `ha-lrmd` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one action of an agent now, without the daemon.
    Exec(ExecArgs),
    /// Resource agents: classes, providers, lists, meta-data.
    Ra {
        /// What to show.
        #[command(subcommand)]
        command: RaCommand,
    },
    /// Check an agent against the OCF/LSB rules: start, start again, monitor, stop, stop
    /// again, monitor; exits 1 when it is not compliant.
    Test(TestArgs),
    /// Resources the daemon knows: tracked processes and last results.
    Resources,
    /// The daemon's counters.
    Status,
    /// Print op results as the daemon reports them, until interrupted.
    Watch,
    /// Run the executor daemon on $HA_RUN_DIR/lrmd.sock.
    Daemon {
        /// Stay in the foreground (the only mode; accepted for familiarity).
        #[arg(short = 'f', long)]
        foreground: bool,
    },
    /// Run a built-in agent action (how the executor runs built-in agents).
    #[command(hide = true)]
    Builtin {
        /// Agent name, e.g. ocf:heartbeat:IPaddr2.
        agent: String,
        /// Action.
        action: String,
    },
}

/// Arguments of `ha-lrmd exec`.
#[derive(Debug, ClapArgs)]
pub struct ExecArgs {
    /// Agent: ocf:PROVIDER:TYPE, lsb:NAME, systemd:UNIT or service:NAME.
    pub agent: String,
    /// Action: start, stop, monitor, status, meta-data, validate-all, ...
    pub action: String,
    /// Agent parameter (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Op meta attribute (repeatable), e.g. monitor-by=processes.
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    pub meta: Vec<String>,
    /// Timeout of the action (20s, 500ms, 2min).
    #[arg(long, default_value = "20s")]
    pub timeout: String,
    /// Resource id given to the agent (default: the agent type).
    #[arg(long)]
    pub resource: Option<String>,
    /// Do not check parameters against the agent's meta-data.
    #[arg(long)]
    pub no_check: bool,
    /// Time between SIGTERM and SIGKILL for an action past its timeout.
    #[arg(long, default_value = "5s")]
    pub kill_grace: String,
}

/// Arguments of `ha-lrmd test`.
#[derive(Debug, ClapArgs)]
pub struct TestArgs {
    /// Agent: ocf:PROVIDER:TYPE or lsb:NAME.
    pub agent: String,
    /// Agent parameter (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Timeout of each action.
    #[arg(long, default_value = "20s")]
    pub timeout: String,
    /// Resource id given to the agent (default: the agent type).
    #[arg(long)]
    pub resource: Option<String>,
}

/// `ha-lrmd ra` subcommands.
#[derive(Debug, Subcommand)]
pub enum RaCommand {
    /// Agent classes this machine supports.
    Classes,
    /// OCF providers.
    Providers,
    /// Agents of a class (ocf needs a provider).
    List {
        /// ocf, lsb, systemd or service.
        class: String,
        /// OCF provider.
        provider: Option<String>,
    },
    /// An agent's parameters, actions and how it is run and monitored.
    Info {
        /// Agent name.
        agent: String,
    },
}

/// Whether the command's work succeeded; a failed agent action still prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Exit 0.
    Success,
    /// Exit 1, result already printed.
    Failed,
}

/// Runs `ha-lrmd` with parsed arguments.
pub fn run(args: &Args) -> CliResult<Verdict> {
    let setup = Setup::from_env();
    let mut out = std::io::stdout().lock();
    match &args.command {
        Command::Exec(exec) => run_exec(&setup, exec, args.json, &mut out),
        Command::Ra { command } => run_ra(&setup, command, args.json, &mut out),
        Command::Test(test) => run_test(&setup, test, args.json, &mut out),
        Command::Daemon { .. } => daemon::serve(&setup),
        Command::Resources => run_resources(&setup, args.json, &mut out),
        Command::Status => run_status(&setup, args.json, &mut out),
        Command::Watch => run_watch(&setup, args.json, &mut out),
        Command::Builtin { agent, action } => run_builtin(agent, action),
    }
}

/// `ha-lrmd ra …` for other tools (`ha-crm ra …`), printing the same output.
pub fn run_ra_command(command: &RaCommand, json: bool, out: &mut dyn Write) -> CliResult<Verdict> {
    run_ra(&Setup::from_env(), command, json, out)
}

/// An agent's meta-data (`ocf:heartbeat:IPaddr2`, `lsb:gohttpd`) read as `ra info` reads it:
/// built-in agents answer in-process, scripts run their `meta-data` action. `Ok(None)` when
/// no such agent is installed.
pub fn agent_meta_data_of(setup: &Setup, text: &str) -> anyhow::Result<Option<MetaData>> {
    let name: AgentName = text.parse()?;
    let agent = match agent::resolve(&name, &setup.dirs) {
        Ok(agent) => agent,
        Err(agent::AgentError::NotFound { .. } | agent::AgentError::UnknownProvider { .. }) => {
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let cached_script = match (&agent.implementation, agent.name.class) {
        (Implementation::Script { path }, Class::Ocf) => Some(path.clone()),
        _ => None,
    };
    let cache = cached_script
        .as_ref()
        .and_then(|_| meta_cache::MetaDataCache::for_user(|var| std::env::var_os(var)));
    let agent_text = agent.name.to_string();
    if let (Some(cache), Some(script)) = (&cache, &cached_script)
        && let Some(meta) = cache.lookup(&agent_text, script, &setup.dirs.ocf_root)
    {
        return Ok(Some(meta));
    }
    let mut runtime = new_runtime(Snapshot::default(), ExecutorConfig::default().kill_grace_ms)?;
    let (meta, xml) = agent_meta_data_and_text(&mut runtime, setup, &agent)?;
    if let (Some(cache), Some(script), Some(xml)) = (&cache, &cached_script, xml) {
        cache.store(&agent_text, script, &setup.dirs.ocf_root, &xml);
    }
    Ok(Some(meta))
}

/// Directories and paths from the environment.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Agent lookup.
    pub dirs: AgentDirs,
    /// hakit directories.
    pub paths: Paths,
}

impl Setup {
    /// From the process environment.
    pub fn from_env() -> Setup {
        let systemd_running = Path::new("/run/systemd/system").is_dir();
        Setup {
            dirs: AgentDirs::from_lookup(
                |var| std::env::var_os(var),
                systemd_running,
                std::env::current_exe().ok(),
            ),
            paths: Paths::from_env(),
        }
    }

    fn oneshot_state(&self) -> PathBuf {
        self.paths.state_dir.join("lrmd-oneshot.json")
    }
}

fn parse_pairs(pairs: &[String], what: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for pair in pairs {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| anyhow!("{what} {pair:?} is not KEY=VALUE"))?;
        if !agent::is_valid_param_name(key) && key != agent::META_MONITOR_BY {
            bail!("{what} name {key:?} must be letters, digits and underscores");
        }
        map.insert(key.to_string(), value.to_string());
    }
    Ok(map)
}

fn resolve(setup: &Setup, text: &str) -> anyhow::Result<ResolvedAgent> {
    let name: AgentName = text.parse()?;
    Ok(agent::resolve(&name, &setup.dirs)?)
}

fn read_lsb_info(agent: &ResolvedAgent) -> Option<LsbScriptInfo> {
    match (&agent.implementation, agent.name.class) {
        (Implementation::Script { path }, Class::Lsb) => std::fs::read(path)
            .ok()
            .map(|bytes| agent::inspect_lsb_script(&String::from_utf8_lossy(&bytes))),
        _ => None,
    }
}

struct OpPlan<'a> {
    resource: &'a str,
    action: &'a str,
    params: &'a BTreeMap<String, String>,
    meta: &'a BTreeMap<String, String>,
    timeout_ms: u64,
    interval_ms: u64,
    monitor: MonitorMethod,
}

fn prepare(setup: &Setup, agent: &ResolvedAgent, plan_in: &OpPlan<'_>) -> OpRequest {
    let extra: BTreeMap<String, String> = plan_in
        .meta
        .iter()
        .filter(|(k, _)| k.as_str() != agent::META_MONITOR_BY)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let meta = OpMeta {
        timeout_ms: plan_in.timeout_ms,
        interval_ms: plan_in.interval_ms,
        on_node: nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok()),
        extra,
    };
    let spec = plan::action_spec(&ActionRequest {
        agent,
        dirs: &setup.dirs,
        resource: plan_in.resource,
        action: plan_in.action,
        params: plan_in.params,
        meta: &meta,
        monitor: plan_in.monitor,
    });
    OpRequest {
        resource: plan_in.resource.to_string(),
        agent: agent.name.to_string(),
        action: plan_in.action.to_string(),
        interval_ms: plan_in.interval_ms,
        timeout_ms: plan_in.timeout_ms,
        spec,
        client: 0,
    }
}

/// Runs one op to completion on `runtime`. Bounded: the executor kills the op at its timeout
/// and SIGKILLs it after the grace period; past that plus a margin this gives up.
fn run_op(runtime: &mut Runtime, request: OpRequest) -> anyhow::Result<OpResult> {
    let limit = Duration::from_millis(request.timeout_ms)
        + Duration::from_millis(runtime.kill_grace_ms)
        + Duration::from_secs(10);
    let started = Instant::now();
    let mut op: Option<OpId> = None;
    let mut outputs = runtime.feed(Input::Exec(request));
    loop {
        for output in outputs.drain(..) {
            match output {
                Output::Accepted { op: id, .. } => op = Some(id),
                Output::Rejected { reason, .. } => bail!("op refused: {reason}"),
                Output::Completed(result) if Some(result.op) == op => return Ok(result),
                _ => {}
            }
        }
        if started.elapsed() > limit {
            bail!("op did not finish within {} ms", limit.as_millis());
        }
        outputs = runtime.turn(Some(Duration::from_millis(500)))?.outputs;
    }
}

fn new_runtime(snapshot: Snapshot, kill_grace_ms: u64) -> anyhow::Result<Runtime> {
    let config = ExecutorConfig {
        kill_grace_ms,
        ..ExecutorConfig::default()
    };
    let executor = Executor::restore(config, Instant::now(), snapshot);
    Runtime::new(executor, kill_grace_ms)
}

/// Meta-data of an agent: built-in ones answer in-process, OCF scripts are run, LSB scripts are
/// read for their header, systemd units get the standard actions.
fn agent_meta_data(
    runtime: &mut Runtime,
    setup: &Setup,
    agent: &ResolvedAgent,
) -> anyhow::Result<MetaData> {
    agent_meta_data_and_text(runtime, setup, agent).map(|(meta, _)| meta)
}

/// [`agent_meta_data`], with the XML an OCF script printed (what the meta-data cache keeps).
fn agent_meta_data_and_text(
    runtime: &mut Runtime,
    setup: &Setup,
    agent: &ResolvedAgent,
) -> anyhow::Result<(MetaData, Option<String>)> {
    match (&agent.implementation, agent.name.class) {
        (Implementation::Builtin { builtin, .. }, _) => {
            Ok((agent::parse_meta_data(&builtin.meta_data())?, None))
        }
        (Implementation::Script { .. }, Class::Ocf) => {
            let no_params = BTreeMap::new();
            let request = prepare(
                setup,
                agent,
                &OpPlan {
                    resource: "meta-data",
                    action: "meta-data",
                    params: &no_params,
                    meta: &no_params,
                    timeout_ms: 10_000,
                    interval_ms: 0,
                    monitor: MonitorMethod::Agent,
                },
            );
            let result = run_op(runtime, request)?;
            if result.status != ExecStatus::Done || result.rc != Some(0) {
                bail!("{} meta-data failed: {}", agent.name, summary_line(&result));
            }
            let meta = agent::parse_meta_data(&result.stdout)
                .with_context(|| format!("reading meta-data of {}", agent.name))?;
            Ok((meta, Some(result.stdout)))
        }
        (_, Class::Lsb) => Ok((
            agent::lsb_meta_data(&agent.name.kind, &read_lsb_info(agent).unwrap_or_default()),
            None,
        )),
        (_, _) => Ok((
            agent::lsb_meta_data(&agent.name.kind, &LsbScriptInfo::default()),
            None,
        )),
    }
}

fn monitor_choice(
    agent: &ResolvedAgent,
    meta: &BTreeMap<String, String>,
) -> anyhow::Result<(MonitorMethod, MonitorReason)> {
    let info = read_lsb_info(agent);
    Ok(agent::monitor_method(
        agent,
        info.as_ref(),
        meta.get(agent::META_MONITOR_BY).map(String::as_str),
    )?)
}

fn load_snapshot(path: &Path) -> Snapshot {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

fn save_snapshot(path: &Path, snapshot: &Snapshot) {
    let Ok(bytes) = serde_json::to_vec(snapshot) else {
        return;
    };
    // Remembering processes across one-shot calls is a convenience; failing to is not fatal.
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = crate::sys::fs::write_atomic(path, &bytes, 0o600) {
        eprintln!("ha-lrmd: warning: cannot save {}: {e}", path.display());
    }
}

fn run_exec(setup: &Setup, args: &ExecArgs, json: bool, out: &mut dyn Write) -> CliResult<Verdict> {
    let agent = resolve(setup, &args.agent)?;
    let params = parse_pairs(&args.params, "parameter")?;
    let meta = parse_pairs(&args.meta, "meta attribute")?;
    let timeout_ms = agent::parse_duration_ms(&args.timeout).map_err(Failure::usage)?;
    let resource = args
        .resource
        .clone()
        .unwrap_or_else(|| agent.name.kind.clone());
    let (monitor, _) = monitor_choice(&agent, &meta)?;
    let kill_grace_ms = agent::parse_duration_ms(&args.kill_grace).map_err(Failure::usage)?;
    let state_path = setup.oneshot_state();
    let mut runtime = new_runtime(load_snapshot(&state_path), kill_grace_ms)?;
    if !args.no_check && args.action != "meta-data" && agent.name.class == Class::Ocf {
        let meta_data = agent_meta_data(&mut runtime, setup, &agent)?;
        meta_data
            .check_params(&agent.name, &params)
            .map_err(anyhow::Error::from)?;
    }
    let request = prepare(
        setup,
        &agent,
        &OpPlan {
            resource: &resource,
            action: &args.action,
            params: &params,
            meta: &meta,
            timeout_ms,
            interval_ms: 0,
            monitor,
        },
    );
    let result = run_op(&mut runtime, request)?;
    finish_reaping(&mut runtime)?;
    save_snapshot(&state_path, &runtime.executor.snapshot());
    if json {
        print_json_ok(out, &result).context("writing output")?;
    } else {
        print_result(out, &result).context("writing output")?;
    }
    Ok(if is_success(&result) {
        Verdict::Success
    } else {
        Verdict::Failed
    })
}

/// After a successful stop, waits (at most the kill grace) while processes the resource left
/// behind are still alive after SIGTERM, so the executor's SIGKILL reaches them before this
/// one-shot command exits.
fn finish_reaping(runtime: &mut Runtime) -> anyhow::Result<()> {
    let limit = Instant::now() + Duration::from_millis(runtime.kill_grace_ms + 1_000);
    loop {
        let groups = runtime.executor.reaping_groups();
        let alive = groups
            .iter()
            .any(|g| !crate::lrmd::spawn::live_group_members(*g).is_empty());
        if !alive || Instant::now() >= limit {
            return Ok(());
        }
        runtime.turn(Some(Duration::from_millis(50)))?;
    }
}

fn is_success(result: &OpResult) -> bool {
    result.status == ExecStatus::Done && result.failure.is_none()
}

fn summary_line(result: &OpResult) -> String {
    let what = match (result.status, result.rc) {
        (ExecStatus::Done, Some(code)) => format!("{} (rc {code})", agent::rc_text(code)),
        (ExecStatus::Timeout, _) => "timed out".to_string(),
        (ExecStatus::Signaled, _) => format!("killed by signal {}", result.signal.unwrap_or(0)),
        (ExecStatus::SpawnFailed, _) => "could not be started".to_string(),
        (ExecStatus::NotInstalled, _) => "agent not installed".to_string(),
        (ExecStatus::Invalid, _) => "refused".to_string(),
        (ExecStatus::Cancelled, _) => "cancelled".to_string(),
        (ExecStatus::Done, None) => "no result".to_string(),
    };
    let mut line = format!("{what} in {} ms", result.duration_ms);
    if let Some(reason) = &result.exit_reason {
        line.push_str(&format!(": {reason}"));
    }
    line
}

fn print_result(out: &mut dyn Write, result: &OpResult) -> std::io::Result<()> {
    if result.action == "meta-data" && is_success(result) {
        return out.write_all(result.stdout.as_bytes());
    }
    let verdict = if is_success(result) { "" } else { "FAILED: " };
    writeln!(
        out,
        "{} {} {}: {verdict}{}",
        result.agent,
        result.resource,
        result.action,
        summary_line(result)
    )?;
    if !is_success(result) {
        for (name, text) in [("stdout", &result.stdout), ("stderr", &result.stderr)] {
            for line in text.lines().filter(|l| !l.trim().is_empty()).take(20) {
                writeln!(out, "  {name}: {line}")?;
            }
        }
    }
    Ok(())
}

/// `ra info` data.
///
/// JSON: `{"agent":"ocf:heartbeat:IPaddr2","implementation":{"kind":"builtin",…},
/// "monitor":"agent","monitor_reason":"agent_class","meta_data":{…MetaData…}}`
#[derive(Debug, Serialize)]
struct AgentInfo {
    agent: String,
    implementation: Implementation,
    monitor: MonitorMethod,
    monitor_reason: MonitorReason,
    meta_data: MetaData,
}

fn run_ra(
    setup: &Setup,
    command: &RaCommand,
    json: bool,
    out: &mut dyn Write,
) -> CliResult<Verdict> {
    let print_list = |out: &mut dyn Write, items: Vec<String>| -> CliResult<Verdict> {
        if json {
            print_json_ok(out, &items).context("writing output")?;
        } else {
            for item in items {
                writeln!(out, "{item}").context("writing output")?;
            }
        }
        Ok(Verdict::Success)
    };
    match command {
        RaCommand::Classes => print_list(
            out,
            agent::classes(&setup.dirs)
                .into_iter()
                .map(|c| c.to_string())
                .collect(),
        ),
        RaCommand::Providers => print_list(out, agent::providers(&setup.dirs)),
        RaCommand::List { class, provider } => {
            let class: Class = class.parse().map_err(anyhow::Error::from)?;
            let agents = agent::list(&setup.dirs, class, provider.as_deref())
                .map_err(anyhow::Error::from)?;
            print_list(out, agents)
        }
        RaCommand::Info { agent: text } => {
            let agent = resolve(setup, text)?;
            let (monitor, monitor_reason) = monitor_choice(&agent, &BTreeMap::new())?;
            let mut runtime =
                new_runtime(Snapshot::default(), ExecutorConfig::default().kill_grace_ms)?;
            let meta_data = agent_meta_data(&mut runtime, setup, &agent)?;
            let info = AgentInfo {
                agent: agent.name.to_string(),
                implementation: agent.implementation.clone(),
                monitor,
                monitor_reason,
                meta_data,
            };
            if json {
                print_json_ok(out, &info).context("writing output")?;
            } else {
                print_info(out, &info).context("writing output")?;
            }
            Ok(Verdict::Success)
        }
    }
}

fn print_info(out: &mut dyn Write, info: &AgentInfo) -> std::io::Result<()> {
    let meta = &info.meta_data;
    writeln!(out, "{}: {}", info.agent, meta.shortdesc)?;
    let runs = match &info.implementation {
        Implementation::Script { path } => format!("script {}", path.display()),
        Implementation::Builtin { .. } => {
            "built-in agent (no script of this name is installed)".to_string()
        }
        Implementation::Systemd { unit } => format!("systemd unit {unit}"),
    };
    writeln!(out, "runs:    {runs}")?;
    let monitor = match (info.monitor, info.monitor_reason) {
        (MonitorMethod::Agent, MonitorReason::ScriptHasStatus) => {
            "by the script's status action".to_string()
        }
        (MonitorMethod::Agent, _) => "by the agent's monitor action".to_string(),
        (MonitorMethod::TrackedProcesses, MonitorReason::ScriptLacksStatus) => {
            "by the processes its start left running (the script has no status action)".to_string()
        }
        (MonitorMethod::TrackedProcesses, _) => {
            "by the processes its start left running".to_string()
        }
    };
    writeln!(out, "monitor: {monitor}")?;
    if !meta.parameters.is_empty() {
        writeln!(out, "\nparameters:")?;
        let width = meta
            .parameters
            .iter()
            .map(|p| p.name.len())
            .max()
            .unwrap_or(0);
        for p in &meta.parameters {
            let mut flags = vec![p.kind.clone()];
            if p.required {
                flags.push("required".into());
            }
            if p.unique {
                flags.push("unique".into());
            }
            if let Some(default) = p.default.as_ref().filter(|d| !d.is_empty()) {
                flags.push(format!("default {default}"));
            }
            writeln!(
                out,
                "  {:width$}  {} [{}]",
                p.name,
                p.shortdesc,
                flags.join(", ")
            )?;
        }
    }
    writeln!(out, "\nactions:")?;
    for a in &meta.actions {
        let mut line = format!("  {:14}", a.name);
        if let Some(t) = a.timeout_ms {
            line.push_str(&format!(" timeout {}s", t / 1000));
        }
        if let Some(i) = a.interval_ms {
            line.push_str(&format!(" interval {}s", i / 1000));
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// `test` report.
///
/// JSON: `{"agent":"lsb:gohttpd","compliant":false,"steps":[{"step":"start","action":"start",
/// "expected_rc":0,"status":"done","rc":0,"duration_ms":12}],"findings":[{…Finding…}],
/// "process_monitor":{"running_seen":true,"stopped_seen":true}}`
#[derive(Debug, Serialize)]
struct TestReport {
    agent: String,
    compliant: bool,
    steps: Vec<StepReport>,
    findings: Vec<Finding>,
    process_monitor: Option<ProcessMonitorCheck>,
}

#[derive(Debug, Serialize)]
struct StepReport {
    step: &'static str,
    action: &'static str,
    expected_rc: i32,
    status: ExecStatus,
    rc: Option<i32>,
    duration_ms: u64,
}

/// For an LSB script without a status action: whether hakit's own monitor, by the processes
/// the start left, saw the service running after start and stopped after stop.
#[derive(Debug, Serialize)]
struct ProcessMonitorCheck {
    running_seen: bool,
    stopped_seen: bool,
}

fn run_test(setup: &Setup, args: &TestArgs, json: bool, out: &mut dyn Write) -> CliResult<Verdict> {
    let agent = resolve(setup, &args.agent)?;
    if !matches!(agent.name.class, Class::Ocf | Class::Lsb) {
        return Err(Failure::failed(anyhow!(
            "test covers ocf and lsb agents, not {}",
            agent.name.class
        )));
    }
    let params = parse_pairs(&args.params, "parameter")?;
    let timeout_ms = agent::parse_duration_ms(&args.timeout).map_err(Failure::usage)?;
    let resource = args
        .resource
        .clone()
        .unwrap_or_else(|| agent.name.kind.clone());
    let mut runtime = new_runtime(Snapshot::default(), ExecutorConfig::default().kill_grace_ms)?;
    let meta_data = agent_meta_data(&mut runtime, setup, &agent)?;
    if agent.name.class == Class::Ocf {
        meta_data
            .check_params(&agent.name, &params)
            .map_err(anyhow::Error::from)?;
    }
    let lsb_info = read_lsb_info(&agent);
    let no_meta = BTreeMap::new();
    let run_step = |runtime: &mut Runtime, action: &str, monitor| {
        run_op(
            runtime,
            prepare(
                setup,
                &agent,
                &OpPlan {
                    resource: &resource,
                    action,
                    params: &params,
                    meta: &no_meta,
                    timeout_ms,
                    interval_ms: 0,
                    monitor,
                },
            ),
        )
    };
    let check_processes = lsb_info.as_ref().is_some_and(|i| !i.has_status);
    let mut process_check = check_processes.then_some(ProcessMonitorCheck {
        running_seen: false,
        stopped_seen: false,
    });
    let mut results = Vec::new();
    for step in compliance::steps(agent.name.class) {
        let result = run_step(&mut runtime, step.action, MonitorMethod::Agent)?;
        results.push((step, result));
        if let Some(check) = process_check.as_mut().filter(|_| step.action == "monitor") {
            let tracked = run_step(&mut runtime, "monitor", MonitorMethod::TrackedProcesses)?;
            let seen = tracked.rc == Some(if step.running_after { 0 } else { 7 });
            if step.running_after {
                check.running_seen |= seen;
            } else if step.label == "monitor after stop" {
                check.stopped_seen |= seen;
            }
        }
    }
    let facts = AgentFacts {
        has_status_branch: lsb_info.as_ref().map(|i| i.has_status),
    };
    let findings = compliance::judge(agent.name.class, &results, facts);
    let report = TestReport {
        agent: agent.name.to_string(),
        compliant: compliance::is_compliant(&findings),
        steps: results
            .iter()
            .map(|(step, r)| StepReport {
                step: step.label,
                action: step.action,
                expected_rc: step.expect,
                status: r.status,
                rc: r.rc,
                duration_ms: r.duration_ms,
            })
            .collect(),
        findings,
        process_monitor: process_check,
    };
    if json {
        print_json_ok(out, &report).context("writing output")?;
    } else {
        print_test_report(out, &report).context("writing output")?;
    }
    Ok(if report.compliant {
        Verdict::Success
    } else {
        Verdict::Failed
    })
}

fn print_test_report(out: &mut dyn Write, report: &TestReport) -> std::io::Result<()> {
    for step in &report.steps {
        let got = match (step.status, step.rc) {
            (ExecStatus::Done, Some(code)) => format!("rc {code}"),
            (status, _) => format!("{status:?}").to_lowercase(),
        };
        let mark = if step.status == ExecStatus::Done && step.rc == Some(step.expected_rc) {
            "ok  "
        } else {
            "FAIL"
        };
        writeln!(
            out,
            "{mark} {:22} {got:8} (expected rc {}, {} ms)",
            step.step, step.expected_rc, step.duration_ms
        )?;
    }
    for finding in &report.findings {
        let severity = match finding.severity {
            compliance::Severity::Error => "error",
            compliance::Severity::Warning => "warning",
        };
        writeln!(out, "{severity}: {}: {}", finding.step, finding.message)?;
    }
    if let Some(check) = &report.process_monitor {
        let works = check.running_seen && check.stopped_seen;
        writeln!(
            out,
            "note: hakit monitors this script by the processes its start leaves running: {}",
            if works {
                "that saw it running after start and stopped after stop"
            } else {
                "that did not follow start and stop (does start leave a process running?)"
            }
        )?;
    }
    writeln!(
        out,
        "{}: {}",
        report.agent,
        if report.compliant {
            "compliant"
        } else {
            "NOT compliant"
        }
    )
}

fn connect(setup: &Setup) -> CliResult<crate::lrmd::client::LrmdClient> {
    let path = setup.paths.lrmd_socket();
    crate::lrmd::client::LrmdClient::connect(&path).map_err(|e| ipc_failure(e, &path))
}

fn ipc_failure(error: crate::ipc::Error, path: &Path) -> Failure {
    if error.is_unreachable() {
        let message = match &error {
            crate::ipc::Error::Connect { source, .. } => {
                format!("cannot reach ha-lrmd at {}: {source}", path.display())
            }
            other => other.to_string(),
        };
        return Failure::unreachable(anyhow!(message))
            .with_hint("is it running? start it with `ha-lrmd daemon`");
    }
    Failure::failed(anyhow::Error::from(error))
}

fn run_resources(setup: &Setup, json: bool, out: &mut dyn Write) -> CliResult<Verdict> {
    let path = setup.paths.lrmd_socket();
    let resources = connect(setup)?
        .resources()
        .map_err(|e| ipc_failure(e, &path))?;
    if json {
        print_json_ok(out, &resources).context("writing output")?;
        return Ok(Verdict::Success);
    }
    for (id, resource) in &resources.resources {
        let tracked = if resource.tracked_groups.is_empty() {
            String::new()
        } else {
            format!(" (processes in groups {:?})", resource.tracked_groups)
        };
        writeln!(out, "{id}: {}{tracked}", resource.agent).context("writing output")?;
        for record in &resource.history {
            let what = match (record.status, record.rc) {
                (ExecStatus::Done, Some(code)) => format!("{} (rc {code})", agent::rc_text(code)),
                (status, _) => format!("{status:?}").to_lowercase(),
            };
            let every = if record.interval_ms > 0 {
                format!(" every {} ms", record.interval_ms)
            } else {
                String::new()
            };
            writeln!(
                out,
                "  {}{every}: {what}, {} ms",
                record.action, record.duration_ms
            )
            .context("writing output")?;
        }
    }
    Ok(Verdict::Success)
}

fn run_status(setup: &Setup, json: bool, out: &mut dyn Write) -> CliResult<Verdict> {
    let path = setup.paths.lrmd_socket();
    let status = connect(setup)?
        .status()
        .map_err(|e| ipc_failure(e, &path))?;
    if json {
        print_json_ok(out, &status).context("writing output")?;
    } else {
        let e = &status.executor;
        writeln!(
            out,
            "ha-lrmd pid {}: {} running, {} queued, {} recurring, {} completed, {} timed out, \
             {} refused, {} subscribers",
            status.pid,
            e.running,
            e.queued,
            e.recurring,
            e.completed,
            e.timed_out,
            e.rejected,
            status.subscribers
        )
        .context("writing output")?;
    }
    Ok(Verdict::Success)
}

fn run_watch(setup: &Setup, json: bool, out: &mut dyn Write) -> CliResult<Verdict> {
    let path = setup.paths.lrmd_socket();
    let mut client = connect(setup)?;
    client.subscribe().map_err(|e| ipc_failure(e, &path))?;
    loop {
        // Long waits are normal; a timeout just means nothing happened.
        match client.next_result(Duration::from_secs(3600)) {
            Ok(Some(result)) => {
                if json {
                    let event = crate::lrmd::protocol::OpEvent::new(result);
                    writeln!(
                        out,
                        "{}",
                        serde_json::to_string(&event).context("encoding")?
                    )
                } else {
                    print_result(out, &result)
                }
                .context("writing output")?;
                out.flush().context("writing output")?;
            }
            Ok(None) => return Ok(Verdict::Success),
            Err(crate::ipc::Error::Timeout(_)) => {}
            Err(e) => return Err(ipc_failure(e, &path)),
        }
    }
}

fn run_builtin(agent_text: &str, action: &str) -> CliResult<Verdict> {
    let name: AgentName = agent_text.parse().map_err(anyhow::Error::from)?;
    let builtin = Builtin::find(name.provider.as_deref().unwrap_or_default(), &name.kind)
        .ok_or_else(|| anyhow!("{name} is not a built-in agent"))?;
    let outcome = builtin.run(action, &AgentEnv::from_vars(std::env::vars()));
    print!("{}", outcome.stdout);
    eprint!("{}", outcome.stderr);
    let _ = std::io::stdout().flush();
    std::process::exit(outcome.rc);
}
