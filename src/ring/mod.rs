//! Membership, totally ordered delivery and quorum: the core behind `ha-ring`.
