//! Every tier-1 case of the Pacemaker scheduler corpus (`../shared/pacemaker-scheduler`, or
//! `HAKIT_PCMK_CASES`) imported from XML, shown in crm syntax and parsed back gives the same
//! configuration: the crm language covers everything the model holds from real CIBs.

use std::path::{Path, PathBuf};

use hakit::crm::cib::Cib;
use hakit::crm::edit::{Mode, apply_text};
use hakit::crm::render::{canonical, show};
use hakit::crm::xml::parse_cib;

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
    let Some(dir) = corpus() else {
        eprintln!("skipped: no scheduler corpus beside the repository");
        return;
    };
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    let mut unreadable = 0;
    for case in &cases {
        let text = std::fs::read_to_string(case).unwrap();
        // Cases the XML reader refuses are the reader's to handle; count them, do not fail.
        let Ok(cib) = parse_cib(&text) else {
            unreadable += 1;
            continue;
        };
        let expected = canonical(&cib.configuration);
        let crm = show(&cib.configuration);
        let mut back = Cib::default();
        match apply_text(&mut back, &crm, Mode::Create) {
            Err(e) => failures.push(format!("{}: {e}", case.display())),
            Ok(_) if back.configuration != expected => {
                failures.push(format!("{}: differs after the round trip", case.display()))
            }
            Ok(_) => {}
        }
    }
    eprintln!(
        "{} cases round-tripped, {unreadable} not readable as XML",
        cases.len() - unreadable - failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
