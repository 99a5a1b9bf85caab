//! Vote arithmetic (votequorum's rules) as pure functions, plus the small latch that
//! `wait_for_all` needs. No I/O in here.

use serde::{Deserialize, Serialize};

/// The `quorum` section's settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumConfig {
    /// `expected_votes`; `None` means the sum of the nodelist's votes.
    pub expected_votes: Option<u32>,
    /// `two_node: 1`: with two nodes, one vote is enough (implies `wait_for_all`).
    pub two_node: bool,
    /// `wait_for_all: 1`: not quorate until every node has been seen at once.
    pub wait_for_all: bool,
}

impl QuorumConfig {
    /// Whether `wait_for_all` applies (set explicitly, or implied by `two_node`).
    pub fn waits_for_all(&self) -> bool {
        self.wait_for_all || self.two_node
    }
}

/// A quorum snapshot. JSON example:
/// `{"quorate":true,"total_votes":3,"expected_votes":3,"quorum":2,"two_node":false,"wait_for_all":false,"waiting_for_all":false}`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumState {
    /// Whether this partition may run resources.
    pub quorate: bool,
    /// Votes of the current members.
    pub total_votes: u32,
    /// Votes expected in the full cluster.
    pub expected_votes: u32,
    /// Votes needed to be quorate.
    pub quorum: u32,
    /// `two_node` is active.
    pub two_node: bool,
    /// `wait_for_all` is active.
    pub wait_for_all: bool,
    /// `wait_for_all` still blocks quorum (all nodes not yet seen together).
    pub waiting_for_all: bool,
}

/// Expected votes: the configured value, or the nodelist's total, never below the votes
/// actually present (votequorum raises expected votes to what it sees).
pub fn expected_votes(config: &QuorumConfig, nodelist_votes: u32, present_votes: u32) -> u32 {
    config
        .expected_votes
        .unwrap_or(nodelist_votes)
        .max(present_votes)
        .max(1)
}

/// Votes needed for quorum: more than half of `expected`, or 1 for an active `two_node`.
pub fn quorum_threshold(config: &QuorumConfig, expected: u32) -> u32 {
    if is_two_node_active(config, expected) {
        1
    } else {
        expected / 2 + 1
    }
}

/// `two_node` only takes effect when exactly two votes are expected.
pub fn is_two_node_active(config: &QuorumConfig, expected: u32) -> bool {
    config.two_node && expected == 2
}

/// The full quorum state for `present_votes` out of the nodelist, given whether every node
/// has been seen at once since start (`seen_all`).
pub fn evaluate(
    config: &QuorumConfig,
    nodelist_votes: u32,
    present_votes: u32,
    seen_all: bool,
) -> QuorumState {
    let expected = expected_votes(config, nodelist_votes, present_votes);
    let quorum = quorum_threshold(config, expected);
    let waiting_for_all = config.waits_for_all() && !seen_all;
    QuorumState {
        quorate: present_votes >= quorum && !waiting_for_all,
        total_votes: present_votes,
        expected_votes: expected,
        quorum,
        two_node: is_two_node_active(config, expected),
        wait_for_all: config.waits_for_all(),
        waiting_for_all,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_of_expected_votes_is_quorate() {
        let config = QuorumConfig::default();
        assert!(evaluate(&config, 3, 2, true).quorate);
        assert!(!evaluate(&config, 3, 1, true).quorate);
        assert!(!evaluate(&config, 4, 2, true).quorate);
        assert!(evaluate(&config, 4, 3, true).quorate);
        assert_eq!(evaluate(&config, 5, 3, true).quorum, 3);
    }

    #[test]
    fn configured_expected_votes_win_over_the_nodelist() {
        let config = QuorumConfig {
            expected_votes: Some(5),
            ..QuorumConfig::default()
        };
        assert!(!evaluate(&config, 3, 2, true).quorate);
        assert!(evaluate(&config, 3, 3, true).quorate);
    }

    #[test]
    fn two_node_is_quorate_with_one_vote_after_both_were_seen() {
        let config = QuorumConfig {
            two_node: true,
            ..QuorumConfig::default()
        };
        let before = evaluate(&config, 2, 1, false);
        assert!(!before.quorate && before.waiting_for_all);
        let after = evaluate(&config, 2, 1, true);
        assert!(after.quorate && after.two_node && after.wait_for_all);
    }

    #[test]
    fn wait_for_all_alone_blocks_until_all_seen() {
        let config = QuorumConfig {
            wait_for_all: true,
            ..QuorumConfig::default()
        };
        assert!(!evaluate(&config, 3, 3, false).quorate);
        assert!(evaluate(&config, 3, 2, true).quorate);
        assert!(!evaluate(&config, 3, 2, true).two_node);
    }

    #[test]
    fn two_node_is_inactive_with_more_expected_votes() {
        let config = QuorumConfig {
            two_node: true,
            ..QuorumConfig::default()
        };
        assert!(!evaluate(&config, 3, 1, true).quorate);
    }
}
