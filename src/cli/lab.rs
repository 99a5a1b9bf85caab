//! `ha-lab`: a local multi-node cluster in network namespaces, its fault verbs and the guide's
//! demo. The network and process work is in [`crate::lab`]; this module parses, prints, and
//! owns the clock (the demo's client polling and its gap measurement).

use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use clap::{Parser, Subcommand};

mod bench;
#[cfg(feature = "plot")]
mod plot;

use super::{CliResult, Failure, print_json_ok};
use crate::lab::copies::{self, Placement};
use crate::lab::gap::{self, Gap, Sample};
use crate::lab::guide::{self, Fault};
use crate::lab::topo::{self, parse_groups};
use crate::lab::{
    self as labkit, Lab, LabError, LabName, LabOptions, Member, Outcome, PlacementProbe, Typed,
};
use crate::sys::netns;

/// Build and drive a local multi-node cluster in network namespaces (needs root).
///
/// Each node gets its own network, pid and mount namespace and its own HA_CONF_DIR,
/// HA_STATE_DIR and HA_RUN_DIR under the lab directory; a client namespace plays the user.
#[derive(Debug, Parser)]
#[command(name = "ha-lab", version, about)]
pub struct Args {
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Lab name, prefix of its namespaces; use different names to run labs side by side.
    #[arg(long, global = true, default_value = "hakit", env = "HA_LAB")]
    pub name: String,
    /// Directory holding one directory per lab.
    #[arg(long, global = true, default_value = labkit::DEFAULT_BASE_DIR)]
    pub base_dir: PathBuf,
    /// Directory of the hakit binaries to run on the nodes (default: beside ha-lab).
    #[arg(long, global = true)]
    pub bin_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: LabCommand,
}

/// `ha-lab` verbs.
#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Create the network, write and sync the config and key, start every node's stack.
    Up(UpArgs),
    /// Run a command inside a node (or the client) with its HA_* environment.
    ///
    /// Exits with the command's own status.
    Exec {
        /// nodeN, N or client.
        node: String,
        /// The command and its arguments (after `--`).
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Kill a node's whole stack with SIGKILL.
    Crash {
        /// nodeN or N.
        node: String,
    },
    /// Start a node's stack again after a crash.
    Start {
        /// nodeN or N.
        node: String,
    },
    /// Pull a node's cable (its switch port goes down).
    Cut {
        /// nodeN, N or client.
        node: String,
    },
    /// Plug a node's cable back in; without a node, undo every cut and partition.
    Heal {
        /// nodeN, N or client.
        node: Option<String>,
    },
    /// Split the switch into groups that cannot reach each other, e.g. `partition 1,2 3`.
    ///
    /// Members named in no group, and the client unless named, stay with the first group.
    Partition {
        /// Groups of comma-separated members.
        #[arg(required = true, num_args = 2..)]
        groups: Vec<String>,
    },
    /// Show nodes, addresses, links and live processes.
    Status,
    /// Print the last lines of a node's daemon logs.
    Logs {
        /// nodeN or N.
        node: String,
        /// Lines per log file.
        #[arg(long, default_value_t = 40)]
        lines: usize,
    },
    /// Remove every namespace, process and file of the lab; safe to run twice.
    Down,
    /// Run the guide step by step in a fresh lab, then measure failover from a client.
    Demo(DemoArgs),
    /// Measure failover gaps, start-up time, CLI latency and memory over many fresh labs.
    Bench(BenchArgs),
    /// Pid 1 of a node's pid namespace: starts the node's daemons and reaps orphans.
    #[command(hide = true)]
    NodeInit {
        /// Where each daemon's log goes (`<program>.log`).
        #[arg(long)]
        log_dir: PathBuf,
        /// A daemon command line to start; repeatable.
        #[arg(long)]
        daemon: Vec<String>,
    },
}

/// `ha-lab up` options.
#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// Number of nodes (1-32).
    #[arg(short = 'n', long, default_value_t = 2)]
    pub nodes: u8,
    /// First three octets of the lab's /24.
    #[arg(long, default_value = "192.168.2", value_parser = parse_subnet)]
    pub subnet: [u8; 3],
    /// Only build the network and directories; write no config and start no daemon.
    #[arg(long)]
    pub network_only: bool,
    /// A daemon command line each node starts, e.g. "ha-lrmd -f"; repeatable
    /// [default: "ha-ring -f"].
    #[arg(long = "daemon", value_name = "COMMAND")]
    pub daemons: Vec<String>,
}

/// `ha-lab demo` options.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Number of nodes (1-32).
    #[arg(short = 'n', long, default_value_t = 2)]
    pub nodes: u8,
    /// Leave the lab running at the end.
    #[arg(long)]
    pub keep: bool,
    /// Longest wait for the service to answer or move, in milliseconds.
    #[arg(long, default_value_t = 20_000)]
    pub wait_ms: u64,
}

/// `ha-lab bench` options.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Fresh labs to measure in, per stack (`--runs 1 --faults standby` is the quick check;
    /// 0 measures nothing and reports the `--load` files).
    #[arg(long, default_value_t = 20)]
    pub runs: u32,
    /// Number of nodes (1-32).
    #[arg(short = 'n', long, default_value_t = 2)]
    pub nodes: u8,
    /// Faults to inject in each run, in order.
    #[arg(long, value_delimiter = ',', default_value = "crash,cut,standby")]
    pub faults: Vec<String>,
    /// Longest wait for the service to answer, move or settle, in milliseconds.
    #[arg(long, default_value_t = 20_000)]
    pub wait_ms: u64,
    /// Stacks to measure: hakit, pacemaker (Corosync + Pacemaker, configured with crmsh),
    /// keepalived.
    #[arg(long, value_delimiter = ',', default_value = "hakit")]
    pub stacks: Vec<String>,
    /// Also measure Pacemaker + Corosync and keepalived (when installed) and print the ratios.
    #[arg(long)]
    pub with_peers: bool,
    /// Also write the tables (markdown) to this file.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Also save every measured value to this JSON file, for a later `--load`.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Report stacks measured earlier (a `--save` file) beside this run's; repeatable. A stack
    /// measured now replaces the same stack from a file.
    #[arg(long)]
    pub load: Vec<PathBuf>,
    /// Stop at the first failed run and leave its lab running for a look inside (`ha-lab
    /// logs`, `ha-lab exec`, then `ha-lab down`).
    #[arg(long)]
    pub keep_failed: bool,
    /// Also draw the failover gaps of every run into this PNG file (needs a build with the
    /// `plot` feature).
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

fn parse_subnet(text: &str) -> Result<[u8; 3], String> {
    let octets: Vec<u8> = text
        .split('.')
        .map(|o| o.parse().map_err(|_| format!("bad octet {o:?}")))
        .collect::<Result<_, _>>()?;
    <[u8; 3]>::try_from(octets).map_err(|_| "expected three octets, e.g. 192.168.2".to_string())
}

/// Runs `ha-lab` with parsed arguments.
pub fn run(args: &Args) -> CliResult {
    if let LabCommand::NodeInit { log_dir, daemon } = &args.command {
        return node_init(log_dir, daemon);
    }
    let name: LabName = args.name.parse().map_err(lab_failure)?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match &args.command {
        LabCommand::Up(up) => cmd_up(args, name, up, &mut out),
        LabCommand::Exec { node, command } => cmd_exec(args, &name, node, command),
        LabCommand::Crash { node } => {
            let mut lab = open(args, &name)?;
            let member = parse_member(node)?;
            let killed = lab.crash(member).map_err(lab_failure)?;
            report(
                args,
                &mut out,
                &serde_json::json!({ "node": member.name(), "killed": killed }),
                || format!("{member}: killed {} process(es): {killed:?}", killed.len()),
            )
        }
        LabCommand::Start { node } => {
            let mut lab = open(args, &name)?;
            let member = parse_member(node)?;
            lab.start(member).map_err(lab_failure)?;
            let status = lab.status();
            let view = status.members.iter().find(|m| m.member == member.name());
            report(args, &mut out, &view, || {
                let names: Vec<String> = view
                    .map(|v| {
                        v.processes
                            .iter()
                            .map(|p| format!("{} ({})", p.name, p.pid))
                            .collect()
                    })
                    .unwrap_or_default();
                format!("{member}: started; running: {}", names.join(", "))
            })
        }
        LabCommand::Cut { node } => {
            let mut lab = open(args, &name)?;
            let member = parse_member(node)?;
            lab.cut(member).map_err(lab_failure)?;
            report(
                args,
                &mut out,
                &serde_json::json!({ "node": member.name(), "link": "down" }),
                || format!("{member}: link down"),
            )
        }
        LabCommand::Heal { node } => {
            let mut lab = open(args, &name)?;
            match node {
                Some(node) => {
                    let member = parse_member(node)?;
                    lab.heal(member).map_err(lab_failure)?;
                    report(
                        args,
                        &mut out,
                        &serde_json::json!({ "node": member.name(), "link": "up" }),
                        || format!("{member}: link up"),
                    )
                }
                None => {
                    lab.heal_all().map_err(lab_failure)?;
                    report(
                        args,
                        &mut out,
                        &serde_json::json!({ "healed": "all" }),
                        || "every link up, switch whole".to_string(),
                    )
                }
            }
        }
        LabCommand::Partition { groups } => {
            let mut lab = open(args, &name)?;
            let parsed = parse_groups(groups).map_err(lab_failure)?;
            lab.partition(&parsed).map_err(lab_failure)?;
            let names = lab.state().partition.clone();
            report(
                args,
                &mut out,
                &serde_json::json!({ "partition": names }),
                || {
                    let shown: Vec<String> = names.iter().map(|g| g.join(",")).collect();
                    format!("partitioned: {}", shown.join(" | "))
                },
            )
        }
        LabCommand::Status => {
            let lab = open(args, &name)?;
            let status = lab.status();
            report(args, &mut out, &status, || render_status(&status))
        }
        LabCommand::Logs { node, lines } => {
            let lab = open(args, &name)?;
            let Member::Node(node) = lab
                .topology()
                .check(parse_member(node)?)
                .map_err(lab_failure)?
            else {
                return Err(Failure::usage(anyhow!("the client runs no daemons")));
            };
            let files: Vec<String> = lab
                .log_files(node)
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            let tail = lab.log_tail(node, *lines);
            let data = serde_json::json!({ "files": files, "tail": tail });
            report(args, &mut out, &data, || tail.trim_end().to_string())
        }
        LabCommand::Down => {
            let removed = labkit::down(&args.base_dir, &name).map_err(lab_failure)?;
            report(args, &mut out, &removed, || {
                if removed.namespaces.is_empty() && !removed.removed_dir {
                    format!("lab {name}: nothing to remove")
                } else {
                    format!(
                        "lab {name}: removed {} namespace(s), killed {} process(es)",
                        removed.namespaces.len(),
                        removed.killed.len()
                    )
                }
            })
        }
        LabCommand::Demo(demo) => cmd_demo(args, name, demo, &mut out),
        LabCommand::Bench(bench_args) => bench::run(args, name, bench_args, &mut out),
        LabCommand::NodeInit { .. } => unreachable!("handled above"),
    }
}

fn lab_failure(error: LabError) -> Failure {
    let hint = match &error {
        LabError::NotRoot => Some("run ha-lab as root (sudo ha-lab ...)".to_string()),
        LabError::Exists(name) => Some(format!("remove it first: ha-lab --name {name} down")),
        LabError::NotFound(_) => Some("create one with `ha-lab up`".to_string()),
        _ => None,
    };
    let usage = matches!(
        error,
        LabError::BadName(_)
            | LabError::BadMember(_)
            | LabError::BadSize(_)
            | LabError::BadPartition(_)
    );
    let failure = if usage {
        Failure::usage(anyhow!(error))
    } else {
        Failure::failed(anyhow!(error))
    };
    match hint {
        Some(hint) => failure.with_hint(hint),
        None => failure,
    }
}

fn parse_member(text: &str) -> Result<Member, Failure> {
    text.parse().map_err(lab_failure)
}

fn bin_dir(args: &Args) -> Option<PathBuf> {
    args.bin_dir.clone()
}

fn open(args: &Args, name: &LabName) -> Result<Lab, Failure> {
    let mut lab = Lab::open(&args.base_dir, name).map_err(lab_failure)?;
    if let Some(dir) = bin_dir(args) {
        lab.set_bin_dir(dir);
    }
    Ok(lab)
}

fn report<T: serde::Serialize>(
    args: &Args,
    out: &mut dyn Write,
    data: &T,
    text: impl FnOnce() -> String,
) -> CliResult {
    if args.json {
        print_json_ok(out, data).context("writing output")?;
    } else {
        writeln!(out, "{}", text()).context("writing output")?;
    }
    Ok(())
}

fn options(args: &Args, name: LabName, nodes: u8, subnet: [u8; 3]) -> LabOptions {
    let mut options = LabOptions::new(name, nodes);
    options.subnet = subnet;
    options.base_dir = args.base_dir.clone();
    if let Some(dir) = bin_dir(args) {
        options.gohttpd = labkit::find_gohttpd(&dir).or(options.gohttpd);
        options.bin_dir = dir;
    }
    options
}

fn cmd_up(args: &Args, name: LabName, up: &UpArgs, out: &mut dyn Write) -> CliResult {
    let mut options = options(args, name, up.nodes, up.subnet);
    options.start_stack = !up.network_only;
    if !up.daemons.is_empty() {
        options.daemons = up.daemons.clone();
    }
    // Progress goes to stderr so stdout carries only the result.
    let mut lab =
        Lab::up(&options, &mut |line| eprintln!("ha-lab: {line}")).map_err(lab_failure)?;
    lab.keep();
    let status = lab.status();
    report(args, out, &status, || render_status(&status))
}

fn cmd_exec(args: &Args, name: &LabName, node: &str, command: &[String]) -> CliResult {
    let lab = open(args, name)?;
    let member = lab
        .topology()
        .check(parse_member(node)?)
        .map_err(lab_failure)?;
    let rest: Vec<&str> = command[1..].iter().map(String::as_str).collect();
    let status = lab
        .command(member, &command[0], &rest)
        .status()
        .with_context(|| format!("running {} in {member}", command[0]))?;
    // The command's own status is the answer, like ssh.
    std::process::exit(status.code().unwrap_or(1));
}

fn render_status(status: &labkit::LabStatus) -> String {
    let mut text = format!(
        "lab {} ({} node(s), vip {}, dir {})\n",
        status.name,
        status.nodes,
        status.vip,
        status.dir.display()
    );
    text.push_str(&format!(
        "{:<8} {:<16} {:<6} {:<6} {:<6} {}\n",
        "MEMBER", "ADDRESS", "LINK", "BRIDGE", "STACK", "PROCESSES"
    ));
    for member in &status.members {
        let processes: Vec<String> = member
            .processes
            .iter()
            .map(|p| format!("{}:{}", p.name, p.pid))
            .collect();
        let stack = match (member.member.as_str(), member.stack_alive) {
            ("client", _) => "-",
            (_, true) => "up",
            (_, false) => "down",
        };
        text.push_str(&format!(
            "{:<8} {:<16} {:<6} {:<6} {:<6} {}\n",
            member.member,
            member.address.to_string(),
            if member.namespace_exists {
                member.link.as_str()
            } else {
                "gone"
            },
            member.bridge.as_deref().unwrap_or("-"),
            stack,
            if processes.is_empty() {
                "-".to_string()
            } else {
                processes.join(" ")
            }
        ));
    }
    if !status.partition.is_empty() {
        let groups: Vec<String> = status.partition.iter().map(|g| g.join(",")).collect();
        text.push_str(&format!("partitioned: {}\n", groups.join(" | ")));
    }
    for missing in &status.not_started {
        text.push_str(&format!(
            "not started: {} on {}: {}\n",
            missing.program, missing.member, missing.reason
        ));
    }
    for note in &status.notes {
        text.push_str(&format!("note: {note}\n"));
    }
    text.trim_end().to_string()
}

/// Pid 1 of a node: starts each daemon with its output in `<log_dir>/<program>.log`, then
/// reaps every child and orphan until killed from outside (the lab's crash and down).
fn node_init(log_dir: &Path, daemons: &[String]) -> CliResult {
    use nix::errno::Errno;
    use nix::sys::wait::wait;
    for line in daemons {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(program) = words.first() else {
            continue;
        };
        let name = Path::new(program)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "daemon".into());
        let log_path = log_dir.join(format!("{name}.log"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let spawned = Command::new(program)
            .args(&words[1..])
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().context("duplicating log")?)
            .stderr(log)
            .spawn();
        if let Err(e) = spawned {
            eprintln!("ha-lab node-init: cannot start {line}: {e}");
        }
    }
    loop {
        match wait() {
            Ok(_) | Err(Errno::EINTR) => {}
            // Nothing to reap right now; orphans may still arrive.
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

// ---- the demo and the benchmark ----

/// One step of the demo, for the summary and `--json`.
#[derive(Debug, Clone, serde::Serialize)]
struct StepRecord {
    step: String,
    outcome: String,
    detail: Option<String>,
    gap_ms: Option<u64>,
}

struct Demo<'a> {
    json: bool,
    out: &'a mut dyn Write,
    steps: Vec<StepRecord>,
    /// Daemons the lab could not start: a command that cannot reach them (exit 3) is then
    /// skipped, not failed.
    not_started: Vec<String>,
}

fn write_failed(error: io::Error) -> Failure {
    Failure::failed(anyhow!(error).context("writing output"))
}

impl Demo<'_> {
    fn say(&mut self, line: &str) -> CliResult {
        if !self.json {
            writeln!(self.out, "{line}").map_err(write_failed)?;
        }
        Ok(())
    }

    fn record(
        &mut self,
        step: &str,
        outcome: &str,
        detail: Option<String>,
        gap_ms: Option<u64>,
    ) -> CliResult {
        let record = StepRecord {
            step: step.to_string(),
            outcome: outcome.to_string(),
            detail,
            gap_ms,
        };
        if self.json {
            let mut line = serde_json::to_value(&record).expect("step serialises");
            line["type"] = "step".into();
            writeln!(self.out, "{line}").map_err(write_failed)?;
        }
        self.steps.push(record);
        Ok(())
    }

    /// Prints a typed command and its output, as on a terminal, and records its outcome.
    fn show(&mut self, typed: &Typed) -> Result<Outcome, Failure> {
        let mut outcome = typed.outcome();
        if let Outcome::Failed(why) = &outcome
            && typed.output.status == Some(3)
            && !self.not_started.is_empty()
        {
            outcome = Outcome::Skipped(format!(
                "skipped: {why} (not started: {})",
                self.not_started.join(", ")
            ));
        }
        self.say(&format!("\n{}# {}", typed.member, typed.command))?;
        match &outcome {
            Outcome::Skipped(why) => self.say(why)?,
            Outcome::Done | Outcome::Failed(_) => {
                for line in typed
                    .output
                    .stdout
                    .lines()
                    .chain(typed.output.stderr.lines())
                {
                    // A key is binary: never print its bytes.
                    if line.chars().any(|c| c.is_control() && c != '\t') {
                        self.say("[binary output]")?;
                        break;
                    }
                    self.say(line)?;
                }
            }
        }
        let (name, detail) = match &outcome {
            Outcome::Done => ("ok", None),
            Outcome::Skipped(why) => ("skipped", Some(why.clone())),
            Outcome::Failed(why) => ("failed", Some(why.clone())),
        };
        self.record(
            &format!("{}# {}", typed.member, typed.command),
            name,
            detail,
            None,
        )?;
        Ok(outcome)
    }

    fn run(&mut self, lab: &Lab, member: Member, line: &[String]) -> Result<Outcome, Failure> {
        let words: Vec<&str> = line.iter().map(String::as_str).collect();
        let typed = lab.typed(member, &words, b"");
        self.show(&typed)
    }
}

fn progress(line: &str) {
    eprintln!("ha-lab: {line}");
}

fn cmd_demo(args: &Args, name: LabName, demo_args: &DemoArgs, out: &mut dyn Write) -> CliResult {
    let mut options = options(args, name.clone(), demo_args.nodes, topo::DEFAULT_SUBNET);
    options.start_stack = false;
    let mut demo = Demo {
        json: args.json,
        out,
        steps: Vec::new(),
        not_started: Vec::new(),
    };
    demo.say(&format!(
        "# ha-lab demo: {} node(s) in lab {name}; each command is shown as you would type it.",
        demo_args.nodes
    ))?;
    let mut lab = Lab::up(&options, &mut progress).map_err(lab_failure)?;
    let result = demo_steps(
        &mut lab,
        &mut demo,
        Duration::from_millis(demo_args.wait_ms),
    );
    if demo_args.keep {
        lab.keep();
        demo.say(&format!("\n# lab kept: ha-lab --name {name} status / down"))?;
    } else {
        lab.down().map_err(lab_failure)?;
    }
    result?;
    summary(&mut demo).map_err(write_failed)?;
    if demo.steps.iter().any(|s| s.outcome == "failed") {
        return Err(Failure::failed(anyhow!(
            "some demo steps failed (see the summary)"
        )));
    }
    Ok(())
}

fn demo_steps(lab: &mut Lab, demo: &mut Demo<'_>, limit: Duration) -> CliResult {
    let node1 = Member::Node(1);
    let topology = lab.topology().clone();
    demo.say(&format!(
        "\n# The network: {} node(s) on {}.0/24, client at {}, VIP {} reserved.",
        topology.nodes,
        topology.subnet.map(|o| o.to_string()).join("."),
        topology.address(Member::Client),
        topology.vip()
    ))?;
    lab.write_config(&mut progress).map_err(lab_failure)?;
    let conf = format!("{}/ha.conf", lab.node_dirs(1).conf.display());
    demo.run(lab, node1, &["cat".to_string(), conf])?;

    demo.say("\n# Key and config: made on node1, copied to the others.")?;
    let mut typed = Vec::new();
    lab.prepare(&mut |t| typed.push(t.clone()))
        .map_err(lab_failure)?;
    for t in &typed {
        demo.show(t)?;
    }

    demo.say("\n# Start the stack on every node.")?;
    lab.start_stacks(&mut progress).map_err(lab_failure)?;
    let daemons = lab.state().daemons.clone();
    demo.not_started = lab
        .state()
        .not_started
        .iter()
        .map(|m| format!("{} on {}", m.program, m.member))
        .collect();
    for node in 1..=topology.nodes {
        let member = Member::Node(node).name();
        for daemon in &daemons {
            let program = daemon.split_whitespace().next().unwrap_or_default();
            let missing = lab
                .state()
                .not_started
                .iter()
                .find(|m| m.member == member && m.program == program);
            let step = format!("{member}# {daemon} &");
            demo.say(&format!("\n{step}"))?;
            match missing {
                None => {
                    demo.say("started")?;
                    demo.record(&step, "ok", None, None)?;
                }
                Some(missing) => {
                    let why = format!("not started: {}", missing.reason);
                    demo.say(&why)?;
                    demo.record(&step, "skipped", Some(why), None)?;
                }
            }
        }
    }

    demo.say("\n# Ring, members, cluster status.")?;
    for line in guide::status_commands() {
        demo.run(lab, node1, &line)?;
    }
    demo.say("\n# Cluster properties, the VIP and the service.")?;
    let mut missing = None;
    for line in guide::service_commands(topology.vip()) {
        if let Outcome::Skipped(why) = demo.run(lab, node1, &line)? {
            missing.get_or_insert(why);
        }
    }

    demo.say("\n# A client polls the VIP; then the failovers.")?;
    if let Some(why) = missing {
        // Without the service configured there is nothing to wait for.
        let why = format!("{why} (the service could not be configured)");
        demo.say(&why)?;
        for fault in Fault::ALL {
            demo.record(fault.name(), "skipped", Some(why.clone()), None)?;
        }
        return Ok(());
    }
    let poller = Poller::start(lab, topology.vip(), labkit::SERVICE_PORT);
    let result = demo_failovers(lab, demo, &poller, limit);
    poller.stop();
    result
}

/// Records a failure unless the service runs on at most one node within `limit`.
fn check_single(lab: &Lab, demo: &mut Demo<'_>, fault: Fault, limit: Duration) -> CliResult {
    let single = crate::sys::clock::until(limit, Duration::from_millis(100), || {
        nodes_serving(lab).len() <= 1
    });
    if !single {
        let why = format!(
            "after {}: the service runs on {} at once",
            fault.name(),
            nodes_serving(lab).join(" and ")
        );
        demo.say(&why)?;
        demo.record(
            &format!("{} leaves one copy", fault.name()),
            "failed",
            Some(why),
            None,
        )?;
    }
    Ok(())
}

/// Nodes running the example service right now (from their process tables).
fn nodes_serving(lab: &Lab) -> Vec<String> {
    (1..=lab.topology().nodes)
        .map(Member::Node)
        .filter(|m| lab.stack_processes(*m).iter().any(|p| p.name == "gohttpd"))
        .map(|m| m.name())
        .collect()
}

fn demo_failovers(
    lab: &mut Lab,
    demo: &mut Demo<'_>,
    poller: &Poller,
    limit: Duration,
) -> CliResult {
    let vip = lab.topology().vip();
    let Some(first) = poller.wait_for_answer(Duration::ZERO, limit, |_| true) else {
        // Everything was configured, so silence is a failure, not a missing component.
        let why = format!(
            "the service never answered at {vip} within {} ms",
            limit.as_millis()
        );
        demo.say(&why)?;
        demo.record("service answers at the VIP", "failed", Some(why), None)?;
        return Ok(());
    };
    demo.say(&format!("client: {vip} answered from {first}"))?;
    for fault in Fault::ALL {
        let Some(active) = poller.last_answer() else {
            break;
        };
        let member: Member = active.parse().map_err(lab_failure)?;
        let control = control_node(lab, member);
        demo.say(&format!(
            "\n{}# {}",
            prompt(fault, control),
            fault.command(&active)
        ))?;
        let measured = inject(lab, poller, fault, member, limit);
        match &measured {
            Ok(m) => {
                let line = match &m.moved_to {
                    Some(to) => format!(
                        "client: answers moved {active} -> {to}; gap {} ms ({} failed probe(s))",
                        m.gap.gap_ms.map_or("?".into(), |g| g.to_string()),
                        m.gap.failed_probes
                    ),
                    None => format!(
                        "client: no answer from another node within {} ms",
                        limit.as_millis()
                    ),
                };
                demo.say(&line)?;
                let (outcome, line) = match (&m.moved_to, fault) {
                    (Some(_), _) => ("ok", line),
                    // The ring reforms after a cut (see `ha-cfgtool members` on the survivor),
                    // but the controller does not yet take over from a live, unreachable peer.
                    (None, Fault::Cut) => (
                        "skipped",
                        format!("skipped: takeover after a cut is not available yet ({line})"),
                    ),
                    (None, _) => ("failed", line),
                };
                demo.record(fault.name(), outcome, Some(line), m.gap.gap_ms)?;
            }
            Err(why) => {
                demo.say(why)?;
                let outcome = if why.starts_with("skipped") {
                    "skipped"
                } else {
                    "failed"
                };
                demo.record(fault.name(), outcome, Some(why.clone()), None)?;
            }
        }
        let serving = nodes_serving(lab);
        if fault == Fault::Cut {
            if serving.len() > 1 && lab.topology().nodes == 2 {
                // two_node keeps both halves quorate and the guide turns fencing off, so a cut
                // two-node cluster runs the service on both sides, as Corosync and Pacemaker
                // do; after healing one copy must remain (checked below).
                demo.say(&format!(
                    "note: the service runs on {} at once: two_node keeps both sides quorate \
                     and fencing is off (enable fencing to prevent this)",
                    serving.join(" and ")
                ))?;
            }
        } else {
            check_single(lab, demo, fault, Duration::ZERO)?;
        }
        demo.say(&format!(
            "\n{}# {}",
            prompt(fault, control),
            fault.undo_command(&active)
        ))?;
        if let Err(why) = undo(lab, fault, member, limit) {
            demo.say(&why)?;
        }
        if fault == Fault::Cut {
            check_single(lab, demo, fault, limit)?;
        }
    }
    Ok(())
}

/// `$` for the lab's own verbs (typed on the host), `nodeN#` for cluster commands.
fn prompt(fault: Fault, control: Member) -> String {
    match fault {
        Fault::Standby => control.name(),
        Fault::Crash | Fault::Cut => "host".to_string(),
    }
}

/// A node other than `away` to type cluster commands on.
fn control_node(lab: &Lab, away: Member) -> Member {
    (1..=lab.topology().nodes)
        .map(Member::Node)
        .find(|m| *m != away)
        .unwrap_or(Member::Node(1))
}

/// What the client saw around one fault.
#[derive(Debug, Clone, serde::Serialize)]
struct Measured {
    fault: Fault,
    from: String,
    moved_to: Option<String>,
    gap: Gap,
}

/// Injects `fault` on the node serving now and measures until another node answers.
fn inject(
    lab: &mut Lab,
    poller: &Poller,
    fault: Fault,
    member: Member,
    limit: Duration,
) -> Result<Measured, String> {
    let from = member.name();
    let event = poller.elapsed();
    match fault {
        Fault::Standby => {
            let control = control_node(lab, member);
            let typed = lab.typed(control, &["ha-crm", "node", "standby", &from], b"");
            match typed.outcome() {
                Outcome::Done => {}
                Outcome::Skipped(why) | Outcome::Failed(why) => return Err(why),
            }
        }
        Fault::Crash => {
            lab.crash(member).map_err(|e| e.to_string())?;
        }
        Fault::Cut => lab.cut(member).map_err(|e| e.to_string())?,
    }
    let moved_to = poller.wait_for_answer(event, limit, |node| node != from);
    Ok(Measured {
        fault,
        gap: gap::gap_until_moved(&poller.samples(), event, &from),
        from,
        moved_to,
    })
}

/// Undoes `fault` and waits (bounded) until the node answers cluster commands again.
fn undo(lab: &mut Lab, fault: Fault, member: Member, limit: Duration) -> Result<(), String> {
    match fault {
        Fault::Standby => {
            let control = control_node(lab, member);
            let typed = lab.typed(control, &["ha-crm", "node", "online", &member.name()], b"");
            return match typed.outcome() {
                Outcome::Done => Ok(()),
                Outcome::Skipped(why) | Outcome::Failed(why) => Err(why),
            };
        }
        Fault::Crash => lab.start(member).map_err(|e| e.to_string())?,
        Fault::Cut => lab.heal(member).map_err(|e| e.to_string())?,
    }
    // Back means back in the ring with every node, not just a running process: the next
    // fault must find a node that already holds the cluster's state.
    let nodes = usize::from(lab.topology().nodes);
    lab.wait_for(member, &["ha-cfgtool", "--json", "members"], limit, |o| {
        o.success() && o.stdout.matches("\"votes\"").count() == nodes
    })
    .map_err(|last| {
        format!(
            "{member} did not rejoin the ring within {} ms: {}",
            limit.as_millis(),
            last.stdout.trim()
        )
    })?;
    lab.wait_for(member, &["ha-crm", "status"], limit, |o| o.success())
        .map(|_| ())
        .map_err(|last| {
            format!(
                "{member} did not come back within {} ms: {}",
                limit.as_millis(),
                last.stderr.trim()
            )
        })
}

fn summary(demo: &mut Demo<'_>) -> io::Result<()> {
    if demo.json {
        let count = |what: &str| demo.steps.iter().filter(|s| s.outcome == what).count();
        let line = serde_json::json!({
            "type": "summary", "ok": count("ok"), "skipped": count("skipped"),
            "failed": count("failed"),
            "gaps_ms": demo.steps.iter().filter_map(|s| s.gap_ms).collect::<Vec<_>>(),
        });
        return writeln!(demo.out, "{line}");
    }
    writeln!(demo.out, "\n# Summary")?;
    writeln!(demo.out, "{:<8} {:<8} STEP", "RESULT", "GAP_MS")?;
    for step in &demo.steps {
        writeln!(
            demo.out,
            "{:<8} {:<8} {}",
            step.outcome,
            step.gap_ms.map_or("-".to_string(), |g| g.to_string()),
            step.step
        )?;
    }
    Ok(())
}

/// A client in the lab's client namespace asking the service who serves it, a new request
/// every [`Poller::INTERVAL`] whether or not earlier ones have answered, until stopped (or
/// [`Poller::MAX_RUN`] passes).
///
/// Requests overlap so that one sent just as the service moves (and lost on the way to the
/// old node) does not hide the answers of the requests sent after it: the gap measured is
/// the service's, not the client's timeout. Each request still gives up after
/// [`Poller::TIMEOUT`], shorter than TCP's first SYN retransmission (1 s), so a request lost
/// before the move cannot be answered late by the new node and shorten the gap.
pub struct Poller {
    started: Instant,
    stop: Arc<AtomicBool>,
    samples: Arc<std::sync::Mutex<Vec<Sample>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Poller {
    /// Time between requests.
    pub const INTERVAL: Duration = Duration::from_millis(20);
    /// Limit of one request (connect, send, answer).
    pub const TIMEOUT: Duration = Duration::from_millis(300);
    /// Clients taking turns: enough that every slot has a free one while requests time out.
    const CLIENTS: u32 = 16;
    /// A poller nobody stops still ends.
    pub const MAX_RUN: Duration = Duration::from_secs(600);
    /// Samples kept (10 minutes at 50 per second).
    const MAX_SAMPLES: usize = 30_000;

    /// Starts polling `addr:port` from the lab's client namespace.
    pub fn start(lab: &Lab, addr: Ipv4Addr, port: u16) -> Poller {
        const _: () = assert!(
            Poller::INTERVAL.as_millis() * Poller::CLIENTS as u128 > Poller::TIMEOUT.as_millis()
        );
        let namespace = lab.topology().namespace(Member::Client);
        let started = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(std::sync::Mutex::new(Vec::new()));
        let target = SocketAddr::from((addr, port));
        let threads = (0..Self::CLIENTS)
            .map(|client| {
                let (stop, samples) = (Arc::clone(&stop), Arc::clone(&samples));
                let namespace = namespace.clone();
                std::thread::spawn(move || {
                    let _ = netns::run_in(&namespace, move || {
                        Self::take_turns(client, started, target, &stop, &samples);
                    });
                })
            })
            .collect();
        Poller {
            started,
            stop,
            samples,
            threads,
        }
    }

    /// Client `client` sends the requests of slots `client`, `client + CLIENTS`, … (slot `n`
    /// at `n * INTERVAL`), skipping slots that passed while its own request was pending.
    fn take_turns(
        client: u32,
        started: Instant,
        target: SocketAddr,
        stop: &AtomicBool,
        samples: &std::sync::Mutex<Vec<Sample>>,
    ) {
        let turn = Self::INTERVAL * Self::CLIENTS;
        let mut slot = Self::INTERVAL * client;
        while !stop.load(Ordering::SeqCst) && started.elapsed() < Self::MAX_RUN {
            let now = started.elapsed();
            if slot > now {
                std::thread::sleep(slot - now);
                continue;
            }
            let at = started.elapsed();
            let answered_by = labkit::http::get(target, Self::TIMEOUT)
                .ok()
                .and_then(|body| body.split_whitespace().next().map(str::to_string));
            let mut all = samples.lock().expect("poller lock");
            if all.len() < Self::MAX_SAMPLES {
                all.push(Sample { at, answered_by });
            }
            drop(all);
            let done = started.elapsed();
            while slot <= done {
                slot += turn;
            }
        }
    }

    /// Time since polling started, on the samples' clock (mark events with it).
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// When polling started: the zero of the samples' clock.
    pub fn epoch(&self) -> Instant {
        self.started
    }

    /// Every request so far, in the order they were sent.
    pub fn samples(&self) -> Vec<Sample> {
        let mut samples = self.samples.lock().expect("poller lock").clone();
        // Requests finish out of order; the gap measures want them by sending time.
        samples.sort_by_key(|s| s.at);
        samples
    }

    /// The node that answered most recently.
    pub fn last_answer(&self) -> Option<String> {
        self.samples().into_iter().rev().find_map(|s| s.answered_by)
    }

    /// Waits (bounded by `limit`, with a progress line each second on stderr) for an answer
    /// after `since` from a node `accept` likes; returns that node.
    pub fn wait_for_answer(
        &self,
        since: Duration,
        limit: Duration,
        accept: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let begin = Instant::now();
        let mut next_progress = Duration::from_secs(1);
        loop {
            let found = self
                .samples()
                .into_iter()
                .find(|s| s.at > since && s.answered_by.as_deref().is_some_and(&accept))
                .and_then(|s| s.answered_by);
            if found.is_some() {
                return found;
            }
            let waited = begin.elapsed();
            if waited >= limit {
                return None;
            }
            if waited >= next_progress {
                eprintln!("ha-lab: waiting for the service ... {} s", waited.as_secs());
                next_progress += Duration::from_secs(1);
            }
            std::thread::sleep(Self::INTERVAL);
        }
    }

    /// Stops polling and waits for the client threads.
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

/// Looks every [`Watcher::INTERVAL`] at which nodes hold the VIP and run the service (see
/// [`PlacementProbe`]), until stopped (or [`Poller::MAX_RUN`] passes), on the clock of the
/// poller it was started with, so the two sets of samples line up.
pub struct Watcher {
    epoch: Instant,
    stop: Arc<AtomicBool>,
    samples: Arc<std::sync::Mutex<Vec<Placement>>>,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Time between looks.
    pub const INTERVAL: Duration = Duration::from_millis(50);
    /// Samples kept (10 minutes at 20 per second).
    const MAX_SAMPLES: usize = 12_000;

    /// Starts watching with `probe`; sample times are offsets from `epoch`.
    pub fn start(probe: PlacementProbe, epoch: Instant) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (thread_stop, thread_samples) = (Arc::clone(&stop), Arc::clone(&samples));
        let thread = std::thread::spawn(move || {
            while !thread_stop.load(Ordering::SeqCst) && epoch.elapsed() < Poller::MAX_RUN {
                let placement = probe.look(epoch.elapsed());
                let mut all = thread_samples.lock().expect("watcher lock");
                if all.len() < Self::MAX_SAMPLES {
                    all.push(placement);
                }
                drop(all);
                std::thread::sleep(Self::INTERVAL);
            }
        });
        Watcher {
            epoch,
            stop,
            samples,
            thread: Some(thread),
        }
    }

    /// Time on the samples' clock.
    pub fn elapsed(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Every look so far, in time order.
    pub fn samples(&self) -> Vec<Placement> {
        self.samples.lock().expect("watcher lock").clone()
    }

    /// Waits (bounded by `limit`) until one node alone has held the VIP (and, `with_service`,
    /// run the service) for `span`; returns that node.
    pub fn wait_settled(
        &self,
        span: Duration,
        limit: Duration,
        with_service: bool,
    ) -> Option<String> {
        let begin = Instant::now();
        loop {
            let settled = copies::settled_on(&self.samples(), self.elapsed(), span, with_service);
            if settled.is_some() || begin.elapsed() >= limit {
                return settled;
            }
            std::thread::sleep(Self::INTERVAL);
        }
    }

    /// Stops watching and waits for the thread.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
