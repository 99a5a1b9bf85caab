//! Arbitrary bytes as they arrive from the network, through every decoder a datagram meets
//! before and after authentication. None may panic; a body that decodes must encode back to
//! the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hakit::ring::fuzz::decode_datagram(data);
});
