//! Every tier-1 case of the Pacemaker scheduler corpus (`../shared/pacemaker-scheduler`, or
//! `HAKIT_PCMK_CASES`) imported from XML, shown in crm syntax and parsed back gives the same
//! configuration (ids included; top-level order as `show` sorts it, and the CIB's own order
//! back with `keep_order`): the crm language covers everything the model holds from real
//! CIBs. Exported as XML and imported again, each gives the same CIB, status included.

use std::path::{Path, PathBuf};

use hakit::crm::cib::Cib;
use hakit::crm::edit::{Mode, apply_text};
use hakit::crm::render::{canonical, keep_order, show};
use hakit::crm::xml::{parse_cib, to_xml};

/// The corpus's cases the XML reader accepts, by path, and how many it refused (those are
/// the reader's to handle: counted, not failed); `None` when the corpus is not there.
fn readable_cases() -> Option<(Vec<(PathBuf, Cib)>, usize)> {
    let dir = corpus()?;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no cases in {}", dir.display());
    let total = paths.len();
    let cases: Vec<(PathBuf, Cib)> = paths
        .into_iter()
        .filter_map(|path| {
            let cib = parse_cib(&std::fs::read_to_string(&path).unwrap()).ok()?;
            Some((path, cib))
        })
        .collect();
    let unreadable = total - cases.len();
    Some((cases, unreadable))
}

fn assert_none_failed(failures: &[String], cases: usize) {
    assert!(
        failures.is_empty(),
        "{} of {cases} cases fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn corpus() -> Option<PathBuf> {
    let dir = match std::env::var_os("HAKIT_PCMK_CASES") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/pacemaker-scheduler"),
    };
    // HAKIT_PCMK_TIER=tier2 runs the larger tier too.
    let tier = std::env::var("HAKIT_PCMK_TIER").unwrap_or_else(|_| "tier1".into());
    dir.join(&tier).is_dir().then(|| dir.join(&tier))
}

#[test]
fn every_tier1_configuration_round_trips_through_crm_text() {
    let Some((cases, unreadable)) = readable_cases() else {
        eprintln!("skipped: no scheduler corpus beside the repository");
        return;
    };
    let mut failures = Vec::new();
    for (case, cib) in &cases {
        let expected = canonical(&cib.configuration);
        let crm = show(&cib.configuration);
        let mut back = Cib::default();
        match apply_text(&mut back, &crm, Mode::Create) {
            Err(e) => failures.push(format!("{}: {e}", case.display())),
            Ok(_) if back.configuration != expected => {
                failures.push(format!("{}: differs after the round trip", case.display()))
            }
            Ok(_) => {
                keep_order(&cib.configuration, &mut back.configuration);
                if back.configuration != cib.configuration {
                    failures.push(format!("{}: order not restored", case.display()));
                }
            }
        }
    }
    eprintln!(
        "{} cases round-tripped, {unreadable} not readable as XML",
        cases.len() - failures.len()
    );
    assert_none_failed(&failures, cases.len());
}

#[test]
fn every_tier1_cib_round_trips_through_xml_export() {
    let Some((cases, _)) = readable_cases() else {
        eprintln!("skipped: no scheduler corpus beside the repository");
        return;
    };
    let mut failures = Vec::new();
    for (case, cib) in &cases {
        let exported = to_xml(cib);
        match parse_cib(&exported) {
            Err(e) => failures.push(format!("{}: export unreadable: {e}", case.display())),
            Ok(back) if back != *cib => {
                failures.push(format!("{}: differs after export", case.display()))
            }
            Ok(back) if to_xml(&back) != exported => {
                failures.push(format!("{}: second export differs", case.display()))
            }
            Ok(_) => {}
        }
    }
    assert_none_failed(&failures, cases.len());
}
