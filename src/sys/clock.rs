//! Clock reads and bounded waiting for tools (never for cores): poll a condition until it
//! holds or a time limit passes, so no wait can spin forever.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch now (0 if the clock is before it).
pub fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Sleeps for `duration`.
pub fn pause(duration: Duration) {
    std::thread::sleep(duration);
}

/// Calls `ready` every `step` until it returns true (then true) or `limit` has passed (then
/// false, after one last check).
pub fn until(limit: Duration, step: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if ready() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        std::thread::sleep(step.min(deadline - now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_true_once_ready_and_false_at_the_limit() {
        let mut calls = 0;
        assert!(until(Duration::from_secs(5), Duration::ZERO, || {
            calls += 1;
            calls == 3
        }));
        assert!(!until(
            Duration::from_millis(20),
            Duration::from_millis(5),
            || false
        ));
    }
}
