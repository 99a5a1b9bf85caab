//! Waiting on process state from code that has no event loop (built-in agents).

use std::time::{Duration, Instant};

/// Polls `done` every 20 ms until it is true or `limit` has passed; returns its last answer.
pub fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
