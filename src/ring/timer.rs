//! Timers as data: one optional deadline per kind, the earliest is `next_deadline`.

use std::time::{Duration, Instant};

/// Every timer the ring core uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// No token for `token_ms`: the ring is broken.
    TokenLoss,
    /// Resend the last token or commit token.
    TokenRetransmit,
    /// Pass on a token held while the ring is idle (or a singleton's own token).
    TokenHold,
    /// Gather after a token loss: members not heard from by now are put in the fail set.
    Suspect,
    /// Resend the join message while gathering.
    Join,
    /// Give up on nodes that have not agreed.
    Consensus,
    /// Representative's merge-detect beacon.
    Merge,
}

// Suspect before Join: a join sent in the same tick already carries the new fail set.
const ALL: [Timer; 7] = [
    Timer::TokenLoss,
    Timer::TokenRetransmit,
    Timer::TokenHold,
    Timer::Suspect,
    Timer::Join,
    Timer::Consensus,
    Timer::Merge,
];

/// The deadline table.
#[derive(Debug, Default, Clone)]
pub struct Timers {
    deadlines: [Option<Instant>; ALL.len()],
}

impl Timers {
    /// Arms `timer` to fire `after` from `now` (replacing any earlier setting).
    pub fn arm(&mut self, timer: Timer, now: Instant, after_ms: u64) {
        self.deadlines[timer as usize] = Some(now + Duration::from_millis(after_ms));
    }

    /// Disarms `timer`.
    pub fn cancel(&mut self, timer: Timer) {
        self.deadlines[timer as usize] = None;
    }

    /// Whether `timer` is armed.
    pub fn is_armed(&self, timer: Timer) -> bool {
        self.deadlines[timer as usize].is_some()
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Disarms and returns every timer due at `now`, in a fixed order.
    pub fn take_due(&mut self, now: Instant) -> Vec<Timer> {
        let due: Vec<Timer> = ALL
            .into_iter()
            .filter(|t| self.deadlines[*t as usize].is_some_and(|d| d <= now))
            .collect();
        for timer in &due {
            self.deadlines[*timer as usize] = None;
        }
        due
    }

    /// Disarms everything.
    pub fn clear(&mut self) {
        self.deadlines = [None; ALL.len()];
    }
}
