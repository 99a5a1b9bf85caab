//! Scheduler conformance: our own case folders (`tests/scheduler/cases/`) and Pacemaker's
//! regression corpus (`../shared/pacemaker-scheduler`, or `HAKIT_PCMK_CASES`).
//!
//! Each corpus case is `NAME.xml` in, `NAME.summary` expected. We compare the Transition
//! Summary block token by token (whitespace is not significant, as in upstream's own harness)
//! and count the passes per tier. The test fails when a tier's count drops below the number
//! recorded in `tests/scheduler/baseline.txt` (shared with docs/CONFORMANCE.md).
//!
//! `HAKIT_UPDATE=1` rewrites our own cases' expectations; `HAKIT_VERBOSE=1` prints every
//! failing corpus case with expected and actual lines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod cli;
mod props;

use hakit::crm::scheduler::{Transition, simulate};
use hakit::crm::xml::parse_cib;

/// "Now" for cases without `execution-date`: after every timestamp in the corpus.
const FIXED_NOW: i64 = 1_767_225_600; // 2026-01-01

fn run_case(xml: &str) -> Result<Transition, String> {
    let cib = parse_cib(xml).map_err(|e| e.to_string())?;
    let now = cib.status.execution_date.unwrap_or(FIXED_NOW);
    // As crm_simulate, which produced the expected outputs.
    Ok(simulate(&cib, now))
}

fn summary_block(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("Transition Summary:") {
            inside = true;
            continue;
        }
        if inside {
            if line.trim().is_empty() || line.starts_with("Executing") {
                break;
            }
            lines.push(line.to_string());
        }
    }
    lines
}

fn tokens(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .flat_map(|l| l.split_whitespace().map(str::to_string))
        .collect()
}

fn normalized(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}

fn corpus_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("HAKIT_PCMK_CASES") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/pacemaker-scheduler"),
    };
    dir.is_dir().then_some(dir)
}

fn baseline() -> BTreeMap<String, usize> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scheduler/baseline.txt");
    let text = std::fs::read_to_string(&path).expect("tests/scheduler/baseline.txt");
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        if let (Some(tier), Some(count)) = (parts.next(), parts.next()) {
            out.insert(tier.to_string(), count.parse().expect("baseline count"));
        }
    }
    out
}

struct TierResult {
    total: usize,
    decision: usize,
    full: usize,
    failures: Vec<String>,
}

fn run_tier(dir: &Path, verbose: bool) -> TierResult {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_suffix(".xml").map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut result = TierResult {
        total: 0,
        decision: 0,
        full: 0,
        failures: Vec::new(),
    };
    for name in names {
        let Ok(xml) = std::fs::read_to_string(dir.join(format!("{name}.xml"))) else {
            continue;
        };
        let Ok(expected) = std::fs::read_to_string(dir.join(format!("{name}.summary"))) else {
            continue;
        };
        result.total += 1;
        let transition = match std::panic::catch_unwind(|| run_case(&xml)) {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                result.failures.push(format!("{name}: input error: {e}"));
                continue;
            }
            Err(_) => {
                result.failures.push(format!("{name}: panic"));
                continue;
            }
        };
        let want = summary_block(&expected);
        let got = summary_block(&transition.summary_block());
        if tokens(&want) == tokens(&got) {
            result.decision += 1;
            if normalized(&expected) == normalized(&transition.simulate_text()) {
                result.full += 1;
            }
        } else {
            result.failures.push(name.clone());
            if verbose {
                eprintln!(
                    "--- {name}\nexpected:\n{}\nactual:\n{}",
                    want.join("\n"),
                    got.join("\n")
                );
            }
        }
    }
    result
}

#[test]
fn pacemaker_corpus_meets_baseline() {
    let Some(dir) = corpus_dir() else {
        eprintln!(
            "skipping: Pacemaker scheduler corpus not found (set HAKIT_PCMK_CASES or place \
             shared/pacemaker-scheduler beside the repository)"
        );
        return;
    };
    let verbose = std::env::var_os("HAKIT_VERBOSE").is_some();
    let baseline = baseline();
    let mut report = String::new();
    let mut below = Vec::new();
    for tier in ["tier1", "tier2"] {
        let tier_dir = dir.join(tier);
        if !tier_dir.is_dir() {
            continue;
        }
        let result = run_tier(&tier_dir, verbose);
        report.push_str(&format!(
            "{tier}: {}/{} transition summaries match ({} whole outputs identical)\n",
            result.decision, result.total, result.full
        ));
        if verbose {
            report.push_str(&format!("{tier} failing: {}\n", result.failures.join(" ")));
        }
        let want = baseline.get(tier).copied().unwrap_or(0);
        if result.decision < want {
            below.push(format!("{tier}: {} < baseline {want}", result.decision));
        }
    }
    eprint!("{report}");
    assert!(
        below.is_empty(),
        "conformance dropped: {}",
        below.join(", ")
    );
}

#[test]
fn own_cases_match_expectations() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scheduler/cases");
    let update = std::env::var_os("HAKIT_UPDATE").is_some();
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/scheduler/cases")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no case folders in {}", dir.display());
    let mut failures = Vec::new();
    for case in names {
        let xml = std::fs::read_to_string(case.join("cib.xml")).expect("cib.xml");
        let transition = run_case(&xml).unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let actual = transition.simulate_text();
        let expected_path = case.join("expected.txt");
        if update {
            std::fs::write(&expected_path, &actual).expect("write expected.txt");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if normalized(&expected) != normalized(&actual) {
            failures.push(format!(
                "{}:\n--- expected\n{expected}\n--- actual\n{actual}",
                case.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
