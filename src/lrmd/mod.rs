//! Resource agents (OCF, LSB, systemd, built-in) and the executor core behind `ha-lrmd`.
//!
//! - [`agent`]: agent names, lookup, OCF environment, exit-code meanings, meta-data.
//! - [`executor`]: the pure executor core (ordering, deadlines, kill escalation, recurrence).
//! - [`spawn`]: the only code that starts, signals and reaps agent processes.
//! - [`builtin`]: hakit's own IPaddr2, IPaddr, Dummy and anything agents.
//! - [`compliance`]: the `ha-lrmd test` run: steps, expectations, findings.
//! - [`protocol`] and [`client`]: the `ha-lrmd` control socket, for the controller and CLI.
//! - [`plan`]: from an agent, an action and parameters to an [`executor::ActionSpec`].

pub mod agent;
pub mod builtin;
pub mod client;
pub mod compliance;
pub mod executor;
pub mod plan;
pub mod protocol;
pub mod spawn;
