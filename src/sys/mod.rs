//! The OS-facing helpers daemons and commands share. Cores never call into this module.

pub mod child;
pub mod clock;
pub mod fs;
pub mod heap;
pub mod log;
pub mod net;
pub mod netns;
pub mod packet;
pub mod proc;
pub mod signal;
pub mod supervise;
