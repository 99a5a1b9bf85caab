//! Arbitrary message bodies sealed with the cluster's real key, so they pass authentication
//! and reach the protocol core's handlers, fed to a node that is forming a ring. None may
//! panic or break the core's invariants (checked after every input in debug builds).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hakit::ring::fuzz::feed_sealed_bodies(std::time::Instant::now(), data);
});
