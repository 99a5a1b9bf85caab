//! Deterministic simulation of the ring core: seeded, virtual time, faults, checkers.
//!
//! `HAKIT_SIM_SEED=<n>` replays one seed of every sweep; `HAKIT_SIM_RUNS=<n>` sweeps `n`
//! fresh seeds instead of the default few dozen.

mod net;
mod ring;

/// The seeds a sweep runs: the replayed one, or `default_runs` (or `HAKIT_SIM_RUNS`) seeds.
pub(crate) fn seeds(default_runs: u64) -> Vec<u64> {
    if let Ok(seed) = std::env::var("HAKIT_SIM_SEED") {
        return vec![seed.parse().expect("HAKIT_SIM_SEED must be an integer")];
    }
    let runs = std::env::var("HAKIT_SIM_RUNS")
        .ok()
        .map(|r| r.parse().expect("HAKIT_SIM_RUNS must be an integer"))
        .unwrap_or(default_runs);
    let base = if std::env::var("HAKIT_SIM_RUNS").is_ok() {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            * 1000
    } else {
        0
    };
    (0..runs).map(|i| base + i).collect()
}

/// Runs `scenario` for each seed, printing the seed of a failure before re-raising it.
pub(crate) fn sweep(
    name: &str,
    default_runs: u64,
    scenario: impl Fn(u64) + std::panic::RefUnwindSafe,
) {
    for seed in seeds(default_runs) {
        if let Err(panic) = std::panic::catch_unwind(|| scenario(seed)) {
            eprintln!("{name}: failed with seed {seed}; replay with HAKIT_SIM_SEED={seed}");
            std::panic::resume_unwind(panic);
        }
    }
}
