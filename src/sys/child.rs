//! Child processes start with no blocked signals, whatever their parent blocks.
//!
//! Daemons block SIGCHLD, SIGTERM and SIGINT to read them from a signalfd, and a signal mask
//! survives fork and exec: without this, every agent and every daemon an agent starts would
//! ignore SIGTERM, and a stop or a timeout could only end them with SIGKILL.

use std::process::Command;

use nix::sys::signal::SigSet;

/// Makes the child of `command` start with an empty signal mask.
#[allow(unsafe_code)]
pub fn unblock_signals_in_child(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the child between fork and exec. It only calls
    // pthread_sigmask on a stack-allocated empty set, which is async-signal-safe, allocates
    // nothing and takes no lock.
    unsafe {
        command.pre_exec(|| {
            SigSet::empty()
                .thread_set_mask()
                .map_err(std::io::Error::from)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::Signal;

    #[test]
    fn child_of_a_thread_blocking_term_starts_with_term_unblocked() {
        let blocked = std::thread::spawn(|| {
            let mut mask = SigSet::empty();
            mask.add(Signal::SIGUSR2);
            mask.thread_block().unwrap();
            let mut command = Command::new("grep");
            command.args(["^SigBlk", "/proc/self/status"]);
            let inherited = command.output().unwrap();
            unblock_signals_in_child(&mut command);
            let cleaned = command.output().unwrap();
            (
                String::from_utf8_lossy(&inherited.stdout).into_owned(),
                String::from_utf8_lossy(&cleaned.stdout).into_owned(),
            )
        });
        let (inherited, cleaned) = blocked.join().unwrap();
        let mask = |line: &str| u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16);
        let usr2 = 1u64 << (Signal::SIGUSR2 as u64 - 1);
        assert_ne!(
            mask(&inherited).unwrap() & usr2,
            0,
            "control: the mask is inherited"
        );
        assert_eq!(mask(&cleaned).unwrap() & usr2, 0);
    }
}
