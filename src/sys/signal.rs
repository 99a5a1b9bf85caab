//! Signals as events: blocked in the calling thread and read from a signalfd registered in
//! a mio poll, so nothing runs inside a signal handler.

use std::io;
use std::os::fd::AsRawFd;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// A set of blocked signals readable as events.
pub struct Signals {
    fd: SignalFd,
}

impl Signals {
    /// Blocks `signals` in this thread and opens a non-blocking signalfd for them.
    pub fn block(signals: &[Signal]) -> io::Result<Signals> {
        let mut mask = SigSet::empty();
        for signal in signals {
            mask.add(*signal);
        }
        mask.thread_block().map_err(io::Error::from)?;
        let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(io::Error::from)?;
        Ok(Signals { fd })
    }

    /// Registers the descriptor for readability under `token`.
    pub fn register(&self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(
            &mut SourceFd(&self.fd.as_raw_fd()),
            token,
            Interest::READABLE,
        )
    }

    /// Signals received since the last call.
    pub fn pending(&mut self) -> Vec<Signal> {
        let mut received = Vec::new();
        while let Ok(Some(info)) = self.fd.read_signal() {
            if let Ok(signal) = Signal::try_from(info.ssi_signo as i32) {
                received.push(signal);
            }
        }
        received
    }
}
