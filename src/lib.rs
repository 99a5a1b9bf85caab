//! hakit: a high-availability cluster toolkit.
//!
//! One library behind five small commands. Daemons are a pure *core* (a state machine in
//! this crate) plus a thin *shell* in `src/bin/` that owns sockets, clocks and processes.
//!
//! Crate map:
//! - [`cli`]: argument definitions, output and exit codes shared by every command.
//! - [`paths`]: where configuration, state and sockets live (`HA_*_DIR` overrides).
//! - [`conf`]: the corosync.conf-syntax cluster configuration (`ha.conf`).
//! - [`ipc`]: newline-delimited JSON over Unix sockets between commands and daemons.
//! - [`rng`]: a small seeded generator for cores (deterministic in tests).
//! - [`sys`]: the few places that touch the OS: atomic writes, signals, loop helpers.
//! - [`ring`]: membership, ordered delivery and quorum (the `ha-ring` core).
//! - [`lrmd`]: resource-agent conventions and the executor core (`ha-lrmd`).
//! - [`crm`]: the CIB, the crm shell language, the scheduler and the controller (`ha-crm`).
//! - [`lab`]: a local multi-node lab in network namespaces (`ha-lab`).
#![deny(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod cli;
pub mod conf;
pub mod crm;
pub mod ipc;
pub mod lab;
pub mod lrmd;
pub mod paths;
pub mod ring;
pub mod rng;
pub mod sys;
