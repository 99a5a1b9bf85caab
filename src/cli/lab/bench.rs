//! `ha-lab bench`: the guide's scenario run many times in fresh labs, on hakit and (with
//! `--with-peers`) on Corosync + Pacemaker and keepalived in the same lab, timed as a client
//! and a user see it: how long from `ha-lab up` until the VIP answers, the gap a client sees
//! on each fault, how long the CLI takes to answer, how much memory a node's stack holds.
//! Between faults it waits for the cluster to settle (one node holding the VIP and the
//! server for a second), and it counts every instant two live nodes held a piece of the
//! service outside a cut.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};

use super::{Args, BenchArgs, Poller, Watcher, control_node, lab_failure, options, progress};
use crate::cli::{CliResult, Failure, print_json_ok};
use crate::lab::copies::{self, Piece};
use crate::lab::gap;
use crate::lab::guide::{self, Fault};
use crate::lab::peers::{self, Stack};
use crate::lab::{self as labkit, Lab, LabName, Member, Outcome, topo};

/// How long one node alone must hold the service to count as settled.
const SETTLE_SPAN: Duration = Duration::from_millis(1000);
/// Pacemaker elects its DC only after `dc-deadtime` (20 s by default): its start-up waits get
/// this much at least.
const PEER_START_LIMIT: Duration = Duration::from_secs(90);
/// Attempts at each configuration line: a peer's shell can refuse while its cluster forms.
const CONFIGURE_ATTEMPTS: u32 = 10;

/// Everything measured on one stack over all runs (the `--save` file holds a list of these).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct StackFigures {
    pub(super) stack: Stack,
    /// Runs asked for.
    runs: u32,
    /// Load average (1 min) when the stack's runs began and ended.
    load_average: (Option<f64>, Option<f64>),
    up_to_vip: Vec<u64>,
    pub(super) gaps: Vec<(Fault, Vec<u64>)>,
    cli: Vec<(String, Vec<u64>)>,
    rss_kib: Vec<u64>,
    runs_with_two_copies: usize,
    notes: BTreeSet<String>,
}

/// One figure of the table.
///
/// ```json
/// {"stack":"hakit","metric":"crash_gap_ms","runs":20,"p50":2300,"p90":2400,"max":2450,"note":null}
/// ```
#[derive(Debug, Clone, serde::Serialize)]
struct Figure {
    stack: Stack,
    metric: String,
    runs: usize,
    p50: Option<u64>,
    p90: Option<u64>,
    max: Option<u64>,
    note: Option<String>,
}

impl Figure {
    fn of(stack: Stack, metric: &str, values: &[u64], note: Option<String>) -> Figure {
        Figure {
            stack,
            metric: metric.to_string(),
            runs: values.len(),
            p50: gap::percentile(values, 50),
            p90: gap::percentile(values, 90),
            max: values.iter().copied().max(),
            note,
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The stack's command lines timed for CLI latency: status, show, a one-line commit.
fn cli_lines(stack: Stack) -> Vec<(&'static str, Vec<&'static str>)> {
    match stack {
        Stack::Hakit => vec![
            ("status", vec!["ha-crm", "status"]),
            ("configure show", vec!["ha-crm", "configure", "show"]),
            (
                "one-line commit",
                vec![
                    "ha-crm",
                    "configure",
                    "property",
                    "cluster-recheck-interval=60s",
                ],
            ),
        ],
        Stack::Pacemaker => vec![
            ("status", vec!["crm", "status"]),
            ("configure show", vec!["crm", "configure", "show"]),
            (
                "one-line commit",
                vec![
                    "crm",
                    "configure",
                    "property",
                    "cluster-recheck-interval=60s",
                ],
            ),
        ],
        Stack::Keepalived => Vec::new(),
    }
}

/// Runs `ha-lab bench`.
pub(super) fn run(args: &Args, name: LabName, bench: &BenchArgs, out: &mut dyn Write) -> CliResult {
    let faults: Vec<Fault> = bench
        .faults
        .iter()
        .map(|f| f.parse().map_err(|e: String| Failure::usage(anyhow!(e))))
        .collect::<Result<_, _>>()?;
    let mut stacks: Vec<Stack> = bench
        .stacks
        .iter()
        .map(|s| parse_stack(s))
        .collect::<Result<_, _>>()?;
    if bench.with_peers {
        stacks.extend([Stack::Pacemaker, Stack::Keepalived]);
    }
    stacks.sort();
    stacks.dedup();
    #[cfg(not(feature = "plot"))]
    if bench.plot.is_some() {
        return Err(Failure::usage(anyhow!(
            "--plot needs a build with the plot feature (cargo build --release --features plot)"
        )));
    }
    if bench.runs == 0 {
        // Nothing to measure: report what --load brings.
        stacks.clear();
    }
    let mut all = Vec::new();
    for stack in stacks {
        let mut figures = StackFigures {
            stack,
            runs: bench.runs,
            load_average: (load_average(), None),
            up_to_vip: Vec::new(),
            gaps: faults.iter().map(|f| (*f, Vec::new())).collect(),
            cli: cli_lines(stack)
                .into_iter()
                .map(|(label, _)| (label.to_string(), Vec::new()))
                .collect(),
            rss_kib: Vec::new(),
            runs_with_two_copies: 0,
            notes: BTreeSet::new(),
        };
        let missing = peers::missing_programs(stack);
        if !missing.is_empty() {
            figures.notes.insert(format!(
                "not installed here: {} (apt-get install pacemaker corosync crmsh keepalived)",
                missing.join(", ")
            ));
            all.push(figures);
            continue;
        }
        for run in 1..=bench.runs {
            progress(&format!("{}: run {run}/{}", stack.name(), bench.runs));
            let started = Instant::now();
            let lab = make_lab(args, name.clone(), stack, bench.nodes).map_err(lab_failure)?;
            let result = measure_run(lab, started, stack, &faults, bench, &mut figures);
            if let Err(why) = result {
                progress(&format!("{}: run {run}: {why}", stack.name()));
                figures.notes.insert(why);
                if bench.keep_failed {
                    progress(&format!("lab kept: ha-lab --name {name} logs node1"));
                    all.push(figures);
                    return report(args, bench, &all, out);
                }
            }
        }
        figures.load_average.1 = load_average();
        all.push(figures);
    }
    if let Some(path) = &bench.save {
        let json = serde_json::to_vec_pretty(&all).expect("figures serialise");
        crate::sys::fs::write_atomic(path, &json, 0o644)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    for path in &bench.load {
        let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let loaded: Vec<StackFigures> = serde_json::from_slice(&text)
            .map_err(|e| Failure::failed(anyhow!("{}: {e}", path.display())))?;
        for figures in loaded {
            if !all.iter().any(|f| f.stack == figures.stack) {
                all.push(figures);
            }
        }
    }
    all.sort_by_key(|f| f.stack);
    report(args, bench, &all, out)
}

/// The 1-minute load average, to say how busy the machine was.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn parse_stack(text: &str) -> Result<Stack, Failure> {
    match text {
        "hakit" => Ok(Stack::Hakit),
        "pacemaker" => Ok(Stack::Pacemaker),
        "keepalived" => Ok(Stack::Keepalived),
        other => Err(Failure::usage(anyhow!(
            "unknown stack {other:?} (expected hakit, pacemaker or keepalived)"
        ))),
    }
}

/// A fresh lab running `stack` on every node.
fn make_lab(args: &Args, name: LabName, stack: Stack, nodes: u8) -> Result<Lab, labkit::LabError> {
    let mut options = options(args, name, nodes, topo::DEFAULT_SUBNET);
    if stack == Stack::Hakit {
        return Lab::up(&options, &mut |_| {});
    }
    let Some(gohttpd) = options.gohttpd.clone() else {
        return Err(labkit::LabError::Command {
            command: "installing gohttpd".into(),
            message: "examples/gohttpd is not built (cargo build --examples)".into(),
        });
    };
    options.start_stack = false;
    let lab_dir = options.base_dir.join(options.name.as_str());
    options.daemons = vec![peers::boot_line(&lab_dir, stack)];
    let mut lab = Lab::up(&options, &mut |_| {})?;
    peers::install(&lab, stack, &gohttpd, labkit::SERVICE_PORT)?;
    lab.start_stacks(&mut |_| {})?;
    Ok(lab)
}

/// One run: from the lab's start to the VIP answering, the CLI timings and memory, then each
/// fault with its undo and a settle. The lab is removed at the end whatever happened.
fn measure_run(
    mut lab: Lab,
    started: Instant,
    stack: Stack,
    faults: &[Fault],
    bench: &BenchArgs,
    figures: &mut StackFigures,
) -> Result<(), String> {
    let limit = Duration::from_millis(bench.wait_ms);
    let poller = Poller::start(&lab, lab.topology().vip(), labkit::SERVICE_PORT);
    let probe = lab.placement_probe("gohttpd");
    let watcher = Watcher::start(probe, poller.epoch());
    let result = (|| {
        wait_ready(&lab, stack)?;
        configure(&lab, stack)?;
        let start_limit = limit.max(if stack == Stack::Hakit {
            limit
        } else {
            PEER_START_LIMIT
        });
        if poller
            .wait_for_answer(Duration::ZERO, start_limit, |_| true)
            .is_none()
        {
            return Err(format!(
                "the service never answered within {} ms",
                start_limit.as_millis()
            ));
        }
        figures.up_to_vip.push(millis(started.elapsed()));
        figures
            .rss_kib
            .push(lab.daemons_rss_kib(Member::Node(1), |comm| stack.is_daemon(comm)));
        for ((_, line), (_, values)) in cli_lines(stack).iter().zip(figures.cli.iter_mut()) {
            let begin = Instant::now();
            let typed = lab.typed(Member::Node(1), line, b"");
            match typed.outcome() {
                Outcome::Done => values.push(millis(begin.elapsed())),
                Outcome::Skipped(why) | Outcome::Failed(why) => {
                    return Err(format!("{}: {why}", line.join(" ")));
                }
            }
        }
        let mut excused = Vec::new();
        for (index, fault) in faults.iter().enumerate() {
            let Some(active) = watcher.wait_settled(SETTLE_SPAN, limit, stack.moves_the_service())
            else {
                return Err(format!(
                    "the service did not settle before {}",
                    fault.name()
                ));
            };
            let member: Member = active.parse().map_err(|e| format!("{e}"))?;
            let event = poller.elapsed();
            inject(&mut lab, stack, *fault, member)?;
            let moved = poller.wait_for_answer(event, limit.max(start_limit), |n| n != active);
            let measured = gap::gap_until_moved(&poller.samples(), event, &active);
            match (moved, measured.gap_ms) {
                (Some(_), Some(ms)) => figures.gaps[index].1.push(ms),
                _ => {
                    return Err(format!(
                        "{}: the service did not move within {} ms",
                        fault.name(),
                        limit.as_millis()
                    ));
                }
            }
            undo(&mut lab, stack, *fault, member, start_limit)?;
            let settled = watcher.wait_settled(SETTLE_SPAN, start_limit, stack.moves_the_service());
            if *fault == Fault::Cut {
                // Both halves of a cut two-node cluster run the group (two_node, no fencing)
                // until the heal: those copies are the configured outcome.
                excused.push((event, watcher.elapsed()));
            }
            if settled.is_none() {
                return Err(format!("the service did not settle after {}", fault.name()));
            }
        }
        let two_copies = copies::overlaps(&watcher.samples(), &excused)
            .into_iter()
            .any(|o| o.piece == Piece::Vip || stack.moves_the_service());
        if two_copies {
            figures.runs_with_two_copies += 1;
        }
        Ok(())
    })();
    poller.stop();
    watcher.stop();
    if result.is_err() && bench.keep_failed {
        lab.keep();
    } else {
        lab.down().map_err(|e| e.to_string())?;
    }
    result
}

/// Waits until the stack can take configuration commands.
fn wait_ready(lab: &Lab, stack: Stack) -> Result<(), String> {
    let node1 = Member::Node(1);
    let ready = match stack {
        Stack::Hakit => lab
            .wait_for(
                node1,
                &["ha-crm", "--json", "status"],
                PEER_START_LIMIT,
                |o| o.success() && !o.stdout.contains("\"dc\":null"),
            )
            .map(|_| ()),
        Stack::Pacemaker => lab
            .wait_for(node1, &["crm_mon", "-1"], PEER_START_LIMIT, |o| {
                o.success()
                    && o.stdout.contains("partition with quorum")
                    && !o.stdout.contains("Current DC: NONE")
            })
            .map(|_| ()),
        Stack::Keepalived => Ok(()),
    };
    ready.map_err(|last| {
        format!(
            "{} did not form a cluster within {} s: {} {}",
            stack.name(),
            PEER_START_LIMIT.as_secs(),
            last.stdout.trim(),
            last.stderr.trim()
        )
    })
}

/// Types the guide's configuration on node1 (keepalived has it in its config file).
fn configure(lab: &Lab, stack: Stack) -> Result<(), String> {
    let hakit_lines = guide::service_commands(lab.topology().vip());
    let lines = match stack {
        Stack::Hakit => hakit_lines,
        Stack::Pacemaker => peers::crmsh_lines(&hakit_lines),
        Stack::Keepalived => Vec::new(),
    };
    for line in lines {
        let words: Vec<&str> = line.iter().map(String::as_str).collect();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let typed = lab.typed(Member::Node(1), &words, b"");
            match typed.outcome() {
                Outcome::Done => break,
                Outcome::Skipped(why) | Outcome::Failed(why) if attempt >= CONFIGURE_ATTEMPTS => {
                    return Err(format!("{}: {why}", line.join(" ")));
                }
                Outcome::Skipped(_) | Outcome::Failed(_) => {
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        }
    }
    Ok(())
}

fn typed_ok(lab: &Lab, member: Member, line: &[&str]) -> Result<(), String> {
    match lab.typed(member, line, b"").outcome() {
        Outcome::Done => Ok(()),
        Outcome::Skipped(why) | Outcome::Failed(why) => Err(format!("{}: {why}", line.join(" "))),
    }
}

/// Takes `member`, the node serving now, away.
fn inject(lab: &mut Lab, stack: Stack, fault: Fault, member: Member) -> Result<(), String> {
    let node = member.name();
    let control = control_node(lab, member);
    match (fault, stack) {
        (Fault::Standby, Stack::Hakit) => {
            typed_ok(lab, control, &["ha-crm", "node", "standby", &node])
        }
        (Fault::Standby, Stack::Pacemaker) => {
            typed_ok(lab, control, &["crm", "node", "standby", &node])
        }
        // keepalived's orderly hand-over: a stopping instance advertises priority 0.
        (Fault::Standby, Stack::Keepalived) => {
            typed_ok(lab, member, &["pkill", "-TERM", "-x", "keepalived"])
        }
        (Fault::Crash, _) => lab.crash(member).map(|_| ()).map_err(|e| e.to_string()),
        (Fault::Cut, _) => lab.cut(member).map_err(|e| e.to_string()),
    }
}

/// Undoes `fault` on `member` and waits (bounded) until it is back in the cluster.
fn undo(
    lab: &mut Lab,
    stack: Stack,
    fault: Fault,
    member: Member,
    limit: Duration,
) -> Result<(), String> {
    let node = member.name();
    let control = control_node(lab, member);
    match (fault, stack) {
        (Fault::Standby, Stack::Hakit) => {
            typed_ok(lab, control, &["ha-crm", "node", "online", &node])?
        }
        (Fault::Standby, Stack::Pacemaker) => {
            typed_ok(lab, control, &["crm", "node", "online", &node])?
        }
        (Fault::Standby, Stack::Keepalived) => typed_ok(
            lab,
            member,
            &[
                "keepalived",
                "--vrrp",
                "--use-file",
                "/etc/keepalived/keepalived.conf",
            ],
        )?,
        (Fault::Crash, _) => lab.start(member).map_err(|e| e.to_string())?,
        (Fault::Cut, _) => lab.heal(member).map_err(|e| e.to_string())?,
    }
    let nodes = usize::from(lab.topology().nodes);
    let back = match stack {
        Stack::Hakit => lab
            .wait_for(member, &["ha-cfgtool", "--json", "members"], limit, |o| {
                o.success() && o.stdout.matches("\"votes\"").count() == nodes
            })
            .map(|_| ()),
        Stack::Pacemaker => lab
            .wait_for(control, &["crm_mon", "-1"], limit, |o| {
                o.stdout.lines().any(|l| {
                    l.contains("Online:") && (1..=nodes).all(|n| l.contains(&format!("node{n} ")))
                })
            })
            .map(|_| ()),
        // A VRRP backup knows its master from the first advertisement (one a second).
        Stack::Keepalived => {
            std::thread::sleep(Duration::from_secs(2));
            Ok(())
        }
    };
    back.map_err(|last| {
        format!(
            "{node} did not rejoin within {} ms after {}: {}",
            limit.as_millis(),
            fault.name(),
            last.stdout.trim()
        )
    })
}

fn report(args: &Args, bench: &BenchArgs, all: &[StackFigures], out: &mut dyn Write) -> CliResult {
    let mut figures = Vec::new();
    for stack in all {
        figures.extend(stack_figures(stack));
    }
    let write_failed = |e: std::io::Error| Failure::failed(anyhow!(e).context("writing output"));
    if args.json {
        for figure in &figures {
            print_json_ok(out, figure).map_err(write_failed)?;
        }
    }
    let mut table = render(&figures, all, bench);
    if all.len() > 1 {
        table.push('\n');
        table.push_str(&render_comparison(&figures));
    }
    if !args.json {
        write!(out, "{table}").map_err(write_failed)?;
    }
    if let Some(path) = &bench.output {
        crate::sys::fs::write_atomic(path, table.as_bytes(), 0o644)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    #[cfg(feature = "plot")]
    if let Some(path) = &bench.plot {
        super::plot::draw_gaps(path, all).with_context(|| format!("drawing {}", path.display()))?;
    }
    Ok(())
}

fn stack_figures(figures: &StackFigures) -> Vec<Figure> {
    let stack = figures.stack;
    let note = (!figures.notes.is_empty())
        .then(|| figures.notes.iter().cloned().collect::<Vec<_>>().join("; "));
    let mut list = vec![Figure::of(
        stack,
        "up_to_vip_ms",
        &figures.up_to_vip,
        note.clone(),
    )];
    for (fault, values) in &figures.gaps {
        list.push(Figure::of(
            stack,
            &format!("{}_gap_ms", fault.name()),
            values,
            None,
        ));
    }
    for (label, values) in &figures.cli {
        list.push(Figure::of(stack, &format!("cli_ms: {label}"), values, None));
    }
    list.push(Figure::of(
        stack,
        "node_stack_rss_kib",
        &figures.rss_kib,
        None,
    ));
    let runs = figures.up_to_vip.len();
    list.push(Figure {
        stack,
        metric: "runs_with_two_copies".into(),
        runs,
        p50: Some(figures.runs_with_two_copies as u64),
        p90: None,
        max: None,
        note: Some(
            "runs in which two live nodes held the VIP or ran the server outside a cut".into(),
        ),
    });
    list
}

fn show(value: Option<u64>) -> String {
    value.map_or("-".to_string(), |v| v.to_string())
}

fn render(figures: &[Figure], all: &[StackFigures], bench: &BenchArgs) -> String {
    let mut text = format!(
        "ha-lab bench: {} node(s), faults {}\n",
        bench.nodes,
        bench.faults.join(",")
    );
    for stack in all {
        let load = |l: Option<f64>| l.map_or("?".to_string(), |l| format!("{l:.1}"));
        text.push_str(&format!(
            "\n{} ({} run(s); load average {} at the start, {} at the end)\n\n\
             | metric | runs | p50 | p90 | max |\n|---|---|---|---|---|\n",
            stack.stack.name(),
            stack.runs,
            load(stack.load_average.0),
            load(stack.load_average.1),
        ));
        for f in figures.iter().filter(|f| f.stack == stack.stack) {
            if f.metric == "runs_with_two_copies" {
                text.push_str(&format!(
                    "| runs with two copies outside a cut | {} | {} | | |\n",
                    f.runs,
                    show(f.p50)
                ));
                continue;
            }
            text.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                f.metric,
                f.runs,
                show(f.p50),
                show(f.p90),
                show(f.max)
            ));
        }
        for note in &stack.notes {
            text.push_str(&format!("\nnote: {note}\n"));
        }
    }
    text
}

/// p50s side by side, with each peer's p50 divided by hakit's.
fn render_comparison(figures: &[Figure]) -> String {
    let mut stacks: Vec<Stack> = figures.iter().map(|f| f.stack).collect();
    stacks.dedup();
    let mut text = String::from("p50 side by side (ratio = peer / hakit)\n\n| metric |");
    for stack in &stacks {
        text.push_str(&format!(" {} |", stack.name()));
        if *stack != Stack::Hakit {
            text.push_str(" ratio |");
        }
    }
    text.push_str("\n|---|");
    for stack in &stacks {
        text.push_str(if *stack == Stack::Hakit {
            "---|"
        } else {
            "---|---|"
        });
    }
    text.push('\n');
    let metrics: Vec<&str> = figures
        .iter()
        .filter(|f| f.stack == stacks[0] && f.metric != "runs_with_two_copies")
        .map(|f| f.metric.as_str())
        .collect();
    for metric in metrics {
        let p50 = |stack: Stack| {
            figures
                .iter()
                .find(|f| f.stack == stack && f.metric == metric)
                .and_then(|f| f.p50)
        };
        let ours = p50(Stack::Hakit);
        text.push_str(&format!("| {metric} |"));
        for stack in &stacks {
            let theirs = p50(*stack);
            text.push_str(&format!(" {} |", show(theirs)));
            if *stack != Stack::Hakit {
                let ratio = match (theirs, ours) {
                    (Some(t), Some(o)) if o > 0 => format!("{:.1}x", t as f64 / o as f64),
                    _ => "-".to_string(),
                };
                text.push_str(&format!(" {ratio} |"));
            }
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_divides_each_peer_p50_by_hakit_s() {
        let figures = vec![
            Figure::of(Stack::Hakit, "crash_gap_ms", &[900, 1000, 1100], None),
            Figure::of(Stack::Pacemaker, "crash_gap_ms", &[6600], None),
            Figure::of(Stack::Keepalived, "crash_gap_ms", &[], None),
        ];
        let table = render_comparison(&figures);
        assert!(
            table.contains("| crash_gap_ms | 1000 | 6600 | 6.6x | - | - |"),
            "{table}"
        );
        assert!(table.contains("| metric | hakit | pacemaker | ratio | keepalived | ratio |"));
    }

    #[test]
    fn saved_figures_load_back() {
        let figures = StackFigures {
            stack: Stack::Keepalived,
            runs: 2,
            load_average: (Some(1.5), None),
            up_to_vip: vec![4100, 4200],
            gaps: vec![(Fault::Crash, vec![3800, 3900])],
            cli: Vec::new(),
            rss_kib: vec![13000],
            runs_with_two_copies: 0,
            notes: BTreeSet::new(),
        };
        let json = serde_json::to_string(&vec![figures]).unwrap();
        let loaded: Vec<StackFigures> = serde_json::from_str(&json).unwrap();
        assert_eq!(loaded[0].gaps[0].1, vec![3800, 3900]);
        assert_eq!(loaded[0].stack, Stack::Keepalived);
    }
}
