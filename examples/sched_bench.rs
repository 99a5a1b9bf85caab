//! Scheduler benchmark: hakit's `schedule()` against Pacemaker's `crm_simulate` on the same
//! synthetic CIBs (written by `shared/sched-scale/gen_cib.py`), in the same run.
//!
//!     cargo run --release --example sched_bench -- \
//!         --gen ../shared/sched-scale/gen_cib.py --dir /tmp/sched-bench
//!
//! Options: `--sizes 100,1000,10000`, `--nodes 2,16,32`, `--runs 5` (hakit repetitions, median
//! reported), `--pcmk-runs 3`, `--pcmk-timeout 120` (seconds; slower runs are reported as
//! "> timeout"), `--probes` (generate CIBs with probe history), `--no-pcmk`,
//! `--as-controller` (keep freed heap memory between runs, as `ha-crm daemon` does).
//! Prints a Markdown table: parse time, schedule time (median and best run: on a shared machine
//! the best run is the one least disturbed by other processes), their sum, crm_simulate wall
//! time, ratio.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hakit::crm::scheduler::schedule;
use hakit::crm::xml::parse_cib;

struct Options {
    generator: PathBuf,
    dir: PathBuf,
    sizes: Vec<usize>,
    nodes: Vec<usize>,
    runs: usize,
    pcmk_runs: usize,
    pcmk_timeout: Duration,
    probes: bool,
    pcmk: bool,
    /// Keep freed heap memory between runs, as the controller daemon does.
    as_controller: bool,
}

fn list(text: &str) -> Vec<usize> {
    text.split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

fn options() -> Options {
    let mut o = Options {
        generator: PathBuf::from("../shared/sched-scale/gen_cib.py"),
        dir: std::env::temp_dir().join("hakit-sched-bench"),
        sizes: vec![100, 1000, 10_000],
        nodes: vec![2, 16, 32],
        runs: 5,
        pcmk_runs: 3,
        pcmk_timeout: Duration::from_secs(120),
        probes: false,
        pcmk: true,
        as_controller: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--gen" => o.generator = PathBuf::from(&value),
            "--dir" => o.dir = PathBuf::from(&value),
            "--sizes" => o.sizes = list(&value),
            "--nodes" => o.nodes = list(&value),
            "--runs" => o.runs = value.parse().unwrap_or(5),
            "--pcmk-runs" => o.pcmk_runs = value.parse().unwrap_or(3),
            "--pcmk-timeout" => {
                o.pcmk_timeout = Duration::from_secs(value.parse().unwrap_or(120));
            }
            "--probes" => {
                o.probes = true;
                i += 1;
                continue;
            }
            "--no-pcmk" => {
                o.pcmk = false;
                i += 1;
                continue;
            }
            "--as-controller" => {
                o.as_controller = true;
                i += 1;
                continue;
            }
            other => {
                eprintln!("sched_bench: unknown option {other}");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    o
}

fn generate(o: &Options, r: usize, n: usize) -> PathBuf {
    let suffix = if o.probes { "-probes" } else { "" };
    let path = o.dir.join(format!("cib-r{r}-n{n}{suffix}.xml"));
    if !path.exists() {
        let mut cmd = Command::new("python3");
        cmd.arg(&o.generator)
            .args([
                "-r",
                &r.to_string(),
                "-n",
                &n.to_string(),
                "--seed",
                "1",
                "-o",
            ])
            .arg(&path);
        if o.probes {
            cmd.arg("--probes");
        }
        let status = cmd.status().expect("running gen_cib.py");
        assert!(status.success(), "gen_cib.py failed for r={r} n={n}");
    }
    path
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs crm_simulate once; `None` when it exceeded the timeout (it is killed by its pid).
fn crm_simulate(path: &Path, timeout: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut child = Command::new("crm_simulate")
        .arg("-x")
        .arg(path)
        .args(["-R", "-Q"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return Some(started.elapsed());
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `schedule()` behind a call that is never inlined, so a profiler can attribute exactly its
/// cost (`valgrind --tool=callgrind --toggle-collect=sched_bench::timed_schedule`).
#[inline(never)]
fn timed_schedule(cib: &hakit::crm::cib::Cib, now: i64) -> hakit::crm::scheduler::Transition {
    schedule(cib, now)
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let o = options();
    if o.as_controller && !hakit::sys::heap::keep_freed_memory() {
        eprintln!("sched_bench: this allocator cannot keep freed memory; measuring without");
    }
    std::fs::create_dir_all(&o.dir).expect("bench dir");
    let have_pcmk = o.pcmk
        && Command::new("crm_simulate")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    println!(
        "| primitives | nodes | parse ms | schedule ms | schedule ms (best) | hakit total ms | crm_simulate ms | speed-up |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for &r in &o.sizes {
        for &n in &o.nodes {
            let path = generate(&o, r, n);
            let text = std::fs::read_to_string(&path).expect("read CIB");
            let mut parse_times = Vec::new();
            let mut schedule_times = Vec::new();
            let mut total_times = Vec::new();
            let mut actions = 0;
            for _ in 0..o.runs.max(1) {
                let t0 = Instant::now();
                let cib = parse_cib(&text).expect("generated CIB parses");
                let t1 = Instant::now();
                let now = cib.status.execution_date.unwrap_or(1_767_225_600);
                let transition = timed_schedule(&cib, now);
                let t2 = Instant::now();
                actions = transition.actions.len();
                parse_times.push(t1 - t0);
                schedule_times.push(t2 - t1);
                total_times.push(t2 - t0);
            }
            let best_schedule = schedule_times.iter().min().copied().unwrap_or_default();
            let total = median(total_times);
            let (pcmk, ratio) = if have_pcmk {
                let mut times = Vec::new();
                let mut timed_out = false;
                for _ in 0..o.pcmk_runs.max(1) {
                    match crm_simulate(&path, o.pcmk_timeout) {
                        Some(t) => times.push(t),
                        None => {
                            timed_out = true;
                            break;
                        }
                    }
                }
                if timed_out {
                    (
                        format!("> {}", ms(o.pcmk_timeout)),
                        format!(
                            "> {:.0}x",
                            o.pcmk_timeout.as_secs_f64() / total.as_secs_f64()
                        ),
                    )
                } else {
                    let p = median(times);
                    (
                        ms(p),
                        format!("{:.0}x", p.as_secs_f64() / total.as_secs_f64()),
                    )
                }
            } else {
                ("n/a".into(), "n/a".into())
            };
            println!(
                "| {r} | {n} | {} | {} | {} | {} | {pcmk} | {ratio} |",
                ms(median(parse_times)),
                ms(median(schedule_times)),
                ms(best_schedule),
                ms(total),
            );
            eprintln!("  r={r} n={n}: {actions} actions in the transition");
        }
    }
}
