//! What a client polling the service saw: a list of probe outcomes and, around a fault, the
//! gap between the last answer before it and the first answer after it. Pure: times are
//! offsets from the start of polling, measured by the caller.

use std::time::Duration;

/// One probe of the service.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Sample {
    /// When the probe was sent, from the start of polling.
    pub at: Duration,
    /// The node that answered, or `None` when the probe failed.
    pub answered_by: Option<String>,
}

/// The outage a client saw around one event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Gap {
    /// Last successful probe at or before the event.
    pub last_before_ms: Option<u64>,
    /// First successful probe after the event.
    pub first_after_ms: Option<u64>,
    /// `first_after - last_before`: how long the client got no answer (null if either is
    /// missing).
    pub gap_ms: Option<u64>,
    /// Who answered last before the event.
    pub node_before: Option<String>,
    /// Who answered first after it.
    pub node_after: Option<String>,
    /// Failed probes in between.
    pub failed_probes: usize,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Measures the gap around an event that happened at `event` (same clock as the samples).
/// Samples must be in time order.
pub fn gap_around(samples: &[Sample], event: Duration) -> Gap {
    let before = samples
        .iter()
        .rev()
        .find(|s| s.at <= event && s.answered_by.is_some());
    let after = samples
        .iter()
        .find(|s| s.at > event && s.answered_by.is_some());
    let from = before.map_or(event, |s| s.at);
    let to = after.map(|s| s.at);
    let failed_probes = samples
        .iter()
        .filter(|s| s.at > from && to.is_none_or(|to| s.at < to) && s.answered_by.is_none())
        .count();
    Gap {
        last_before_ms: before.map(|s| ms(s.at)),
        first_after_ms: after.map(|s| ms(s.at)),
        gap_ms: match (before, after) {
            (Some(b), Some(a)) => Some(ms(a.at - b.at)),
            _ => None,
        },
        node_before: before.and_then(|s| s.answered_by.clone()),
        node_after: after.and_then(|s| s.answered_by.clone()),
        failed_probes,
    }
}

/// Measures a failover away from `from`: the gap between the first answer from another node
/// after `event` and the last answer (from anyone) before it. Answers `from` still gave after
/// the event (requests in flight while the fault was being injected) count as before.
pub fn gap_until_moved(samples: &[Sample], event: Duration, from: &str) -> Gap {
    let moved = samples
        .iter()
        .position(|s| s.at > event && s.answered_by.as_deref().is_some_and(|node| node != from));
    let Some(moved) = moved else {
        return gap_around(samples, event);
    };
    let before = samples[..moved]
        .iter()
        .rposition(|s| s.answered_by.is_some());
    let after = &samples[moved];
    let failed_probes = samples[before.map_or(0, |b| b + 1)..moved]
        .iter()
        .filter(|s| s.answered_by.is_none())
        .count();
    let before = before.map(|b| &samples[b]);
    Gap {
        last_before_ms: before.map(|s| ms(s.at)),
        first_after_ms: Some(ms(after.at)),
        gap_ms: before.map(|b| ms(after.at - b.at)),
        node_before: before.and_then(|s| s.answered_by.clone()),
        node_after: after.answered_by.clone(),
        failed_probes,
    }
}

/// Percentile (0..=100) of a list of gaps by nearest rank; `None` for an empty list.
pub fn percentile(values: &[u64], percent: u8) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = (usize::from(percent.min(100)) * sorted.len()).div_ceil(100);
    Some(sorted[rank.saturating_sub(1)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ms: u64, node: Option<&str>) -> Sample {
        Sample {
            at: Duration::from_millis(ms),
            answered_by: node.map(str::to_string),
        }
    }

    #[test]
    fn gap_spans_last_answer_before_to_first_answer_after() {
        let samples = [
            sample(0, Some("node1")),
            sample(100, Some("node1")),
            sample(200, None),
            sample(300, None),
            sample(400, Some("node2")),
            sample(500, Some("node2")),
        ];
        let gap = gap_around(&samples, Duration::from_millis(150));
        assert_eq!(gap.last_before_ms, Some(100));
        assert_eq!(gap.first_after_ms, Some(400));
        assert_eq!(gap.gap_ms, Some(300));
        assert_eq!(gap.node_before.as_deref(), Some("node1"));
        assert_eq!(gap.node_after.as_deref(), Some("node2"));
        assert_eq!(gap.failed_probes, 2);
    }

    #[test]
    fn no_answer_after_the_event_leaves_the_gap_unknown() {
        let samples = [sample(0, Some("node1")), sample(100, None)];
        let gap = gap_around(&samples, Duration::from_millis(50));
        assert_eq!(gap.gap_ms, None);
        assert_eq!(gap.first_after_ms, None);
        assert_eq!(gap.failed_probes, 1);
    }

    #[test]
    fn answers_in_flight_from_the_old_node_count_as_before_the_move() {
        let samples = [
            sample(0, Some("node1")),
            sample(100, Some("node1")),
            sample(200, None),
            sample(300, Some("node2")),
        ];
        let gap = gap_until_moved(&samples, Duration::from_millis(50), "node1");
        assert_eq!(gap.last_before_ms, Some(100));
        assert_eq!(gap.first_after_ms, Some(300));
        assert_eq!(gap.gap_ms, Some(200));
        assert_eq!(gap.node_after.as_deref(), Some("node2"));
        assert_eq!(gap.failed_probes, 1);
        // Never moved: the plain gap around the event, which names the old node after it.
        let stuck = gap_until_moved(&samples[..3], Duration::from_millis(50), "node1");
        assert_eq!(stuck.node_after.as_deref(), Some("node1"));
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let values = [50, 10, 40, 20, 30];
        assert_eq!(percentile(&values, 50), Some(30));
        assert_eq!(percentile(&values, 100), Some(50));
        assert_eq!(percentile(&values, 0), Some(10));
        assert_eq!(percentile(&[], 50), None);
    }
}
