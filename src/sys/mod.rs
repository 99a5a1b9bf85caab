//! The OS-facing helpers daemons and commands share. Cores never call into this module.

pub mod fs;
pub mod packet;
pub mod process;
