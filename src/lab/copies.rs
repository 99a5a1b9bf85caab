//! Where the service ran, sampled over time, and the two checks made on those samples: at most
//! one node holds each piece of the service (the VIP, the server process) at any instant, and a
//! client never sees answers go back to a node it had already left. Pure: the caller samples
//! the nodes and owns the clock (times are offsets from the start of sampling).

use std::time::Duration;

use super::gap::Sample;

/// Which nodes held the service's pieces at one instant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Placement {
    /// When the nodes were looked at, from the start of sampling.
    pub at: Duration,
    /// Powered nodes with the VIP on one of their interfaces.
    pub vip: Vec<String>,
    /// Nodes running the service's server process.
    pub service: Vec<String>,
}

/// A piece of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Piece {
    /// The virtual IP address.
    Vip,
    /// The server process.
    Service,
}

/// One instant at which a piece was held by more than one node.
///
/// ```json
/// {"at_ms":5150,"piece":"service","nodes":["node1","node2"]}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Overlap {
    /// When, from the start of sampling.
    pub at_ms: u64,
    /// Which piece.
    pub piece: Piece,
    /// Every node holding it then.
    pub nodes: Vec<String>,
}

/// Every sample, outside the `excused` windows (start, end inclusive), at which a piece was
/// held by two nodes or more. A window is excused when two copies are the configured outcome
/// (a two-node cluster cut in half with fencing off) rather than a fault.
pub fn overlaps(samples: &[Placement], excused: &[(Duration, Duration)]) -> Vec<Overlap> {
    let is_excused = |at: Duration| excused.iter().any(|(from, to)| *from <= at && at <= *to);
    let mut found = Vec::new();
    for sample in samples.iter().filter(|s| !is_excused(s.at)) {
        for (piece, nodes) in [(Piece::Vip, &sample.vip), (Piece::Service, &sample.service)] {
            if nodes.len() > 1 {
                found.push(Overlap {
                    at_ms: u64::try_from(sample.at.as_millis()).unwrap_or(u64::MAX),
                    piece,
                    nodes: nodes.clone(),
                });
            }
        }
    }
    found
}

/// The nodes that answered between `from` and `to` (inclusive), each run of answers from
/// one node collapsed into one entry: a clean failover reads `[old, new]`; `[old, new, old]`
/// means two nodes answered in turn.
pub fn answer_runs(samples: &[Sample], from: Duration, to: Duration) -> Vec<String> {
    let mut runs: Vec<String> = Vec::new();
    for node in samples
        .iter()
        .filter(|s| from <= s.at && s.at <= to)
        .filter_map(|s| s.answered_by.as_deref())
    {
        if runs.last().map(String::as_str) != Some(node) {
            runs.push(node.to_string());
        }
    }
    runs
}

/// The node holding both pieces alone in every sample of the last `span` before `now`, if the
/// samples cover that span and agree: the cluster has settled on it. Without `with_service`
/// only the VIP counts (a stack that runs the server on every node and moves the address).
pub fn settled_on(
    samples: &[Placement],
    now: Duration,
    span: Duration,
    with_service: bool,
) -> Option<String> {
    let since = now.checked_sub(span)?;
    let window: Vec<&Placement> = samples.iter().filter(|s| s.at >= since).collect();
    // Two looks at least, the first from the window's first half: a lone sample does not
    // show that nothing moved.
    let covered = window.len() >= 2 && window[0].at <= since + span / 2;
    if !covered {
        return None;
    }
    let node = window.first()?.vip.first()?.clone();
    window
        .iter()
        .all(|s| s.vip == [node.as_str()] && (!with_service || s.service == [node.as_str()]))
        .then_some(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64, vip: &[&str], service: &[&str]) -> Placement {
        let names = |list: &[&str]| list.iter().map(|n| n.to_string()).collect();
        Placement {
            at: Duration::from_millis(ms),
            vip: names(vip),
            service: names(service),
        }
    }

    fn answer(ms: u64, node: Option<&str>) -> Sample {
        Sample {
            at: Duration::from_millis(ms),
            answered_by: node.map(str::to_string),
        }
    }

    #[test]
    fn two_holders_of_a_piece_are_reported_unless_excused() {
        let samples = [
            at(0, &["node1"], &["node1"]),
            at(50, &["node1"], &["node1", "node2"]),
            at(100, &["node1", "node2"], &["node2"]),
            at(150, &["node2"], &["node2"]),
        ];
        let found = overlaps(&samples, &[]);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].piece, Piece::Service);
        assert_eq!(found[0].at_ms, 50);
        assert_eq!(found[1].piece, Piece::Vip);
        assert_eq!(found[1].nodes, vec!["node1", "node2"]);
        let excused = [(Duration::from_millis(40), Duration::from_millis(100))];
        assert!(overlaps(&samples, &excused).is_empty());
    }

    #[test]
    fn answers_going_back_to_the_old_node_show_as_a_third_run() {
        let samples = [
            answer(0, Some("node1")),
            answer(50, None),
            answer(100, Some("node2")),
            answer(150, Some("node2")),
            answer(200, Some("node1")),
        ];
        let to = Duration::from_millis(150);
        assert_eq!(
            answer_runs(&samples, Duration::ZERO, to),
            vec!["node1", "node2"]
        );
        assert_eq!(
            answer_runs(&samples, Duration::ZERO, Duration::from_secs(1)),
            vec!["node1", "node2", "node1"]
        );
    }

    #[test]
    fn settled_needs_one_node_with_both_pieces_over_the_whole_span() {
        let span = Duration::from_millis(200);
        let steady = [
            at(0, &["node2"], &["node2"]),
            at(100, &["node2"], &["node2"]),
            at(200, &["node2"], &["node2"]),
        ];
        assert_eq!(
            settled_on(&steady, Duration::from_millis(200), span, true).as_deref(),
            Some("node2")
        );
        let split = [
            at(0, &["node1"], &["node2"]),
            at(100, &["node2"], &["node2"]),
            at(200, &["node2"], &["node2"]),
        ];
        assert_eq!(
            settled_on(&split, Duration::from_millis(200), span, true),
            None
        );
        // The address alone settled on node2.
        assert_eq!(
            settled_on(&split[1..], Duration::from_millis(200), span, false).as_deref(),
            Some("node2")
        );
        // Too few samples to cover the span.
        assert_eq!(
            settled_on(&steady[2..], Duration::from_millis(300), span, true),
            None
        );
        assert_eq!(
            settled_on(&[], Duration::from_millis(300), span, true),
            None
        );
    }
}
