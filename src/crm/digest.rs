//! Operation digests as Pacemaker records them in the status (`op-digest`,
//! `op-restart-digest`): the MD5 of the operation's parameters written as one XML element with
//! the attributes sorted by name. Comparing a recorded digest with one computed from the
//! current configuration tells whether a resource's definition changed since it ran.
//! Pure computation, no I/O.

/// The digest of a parameter set: the hex MD5 of ` <parameters a="1" b="2"/>\n`, attributes
/// sorted by name (byte order), values escaped as XML attribute text. The leading space and
/// trailing newline are part of Pacemaker's format, so recorded digests compare equal.
pub fn parameters_digest<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut sorted: Vec<(&str, &str)> = params.into_iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut text = String::new();
    sorted_parameters_digest(&sorted, &mut text)
}

/// [`parameters_digest`] for parameters already sorted by name, building the text in
/// `buffer` (cleared first) so repeated digests reuse one allocation.
pub fn sorted_parameters_digest(sorted: &[(&str, &str)], buffer: &mut String) -> String {
    buffer.clear();
    buffer.push_str(" <parameters");
    for (name, value) in sorted {
        buffer.push(' ');
        buffer.push_str(name);
        buffer.push_str("=\"");
        escape_attribute(value, buffer);
        buffer.push('"');
    }
    buffer.push_str("/>\n");
    md5_hex(buffer.as_bytes())
}

/// XML attribute escaping as Pacemaker writes it: the four markup characters as entities,
/// ASCII control characters as `&#xHH;`, everything else (non-ASCII too) unchanged.
fn escape_attribute(value: &str, out: &mut String) {
    // Runs of bytes that need no escaping are copied whole. Every byte escaped is ASCII, so
    // the runs end on character boundaries; bytes of non-ASCII characters pass unchanged.
    let mut run_start = 0;
    for (i, b) in value.bytes().enumerate() {
        let entity = match b {
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'&' => "&amp;",
            b'"' => "&quot;",
            b if b.is_ascii_control() => "",
            _ => continue,
        };
        out.push_str(&value[run_start..i]);
        run_start = i + 1;
        if entity.is_empty() {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push_str("&#x");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
            out.push(';');
        } else {
            out.push_str(entity);
        }
    }
    out.push_str(&value[run_start..]);
}

/// MD5 (RFC 1321) of `data` as 32 lowercase hex digits. Only for matching Pacemaker's
/// recorded digests; never for anything that needs to resist an adversary.
pub fn md5_hex(data: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(32);
    for b in md5(data) {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

/// Per-round left rotations.
const SHIFTS: [u32; 64] = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9,
    14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15,
    21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];

/// The integer parts of |sin(i + 1)| × 2^32 (RFC 1321's table T).
const SINES: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
];

fn md5(data: &[u8]) -> [u8; 16] {
    let mut state: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
    let mut blocks = data.chunks_exact(64);
    for block in &mut blocks {
        md5_block(&mut state, block);
    }
    // Padding: a 1 bit, zeros to 56 mod 64 bytes, then the bit length, little-endian.
    let rest = blocks.remainder();
    let mut tail = [0u8; 128];
    tail[..rest.len()].copy_from_slice(rest);
    tail[rest.len()] = 0x80;
    let tail_len = if rest.len() < 56 { 64 } else { 128 };
    tail[tail_len - 8..tail_len]
        .copy_from_slice(&(data.len() as u64).wrapping_mul(8).to_le_bytes());
    for block in tail[..tail_len].chunks_exact(64) {
        md5_block(&mut state, block);
    }
    let mut out = [0u8; 16];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    out
}

fn md5_block(state: &mut [u32; 4], block: &[u8]) {
    let mut words = [0u32; 16];
    for (word, bytes) in words.iter_mut().zip(block.chunks_exact(4)) {
        *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    let [mut a, mut b, mut c, mut d] = *state;
    for i in 0..64 {
        let (mixed, index) = match i / 16 {
            0 => ((b & c) | (!b & d), i),
            1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
            2 => (b ^ c ^ d, (3 * i + 5) % 16),
            _ => (c ^ (b | !d), (7 * i) % 16),
        };
        let rotated = a
            .wrapping_add(mixed)
            .wrapping_add(SINES[i])
            .wrapping_add(words[index])
            .rotate_left(SHIFTS[i]);
        a = d;
        d = c;
        c = b;
        b = b.wrapping_add(rotated);
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d]) {
        *s = s.wrapping_add(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1321's test suite.
    #[test]
    fn md5_matches_the_rfc_test_suite() {
        let cases = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "abcdefghijklmnopqrstuvwxyz",
                "c3fcd3d76192e4007dfb496cca67e13b",
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(md5_hex(input.as_bytes()), want, "md5({input:?})");
        }
    }

    /// Lengths where the padding needs a second block, or none of the input is left over.
    #[test]
    fn md5_pads_at_block_boundaries() {
        assert_eq!(md5_hex(&[b'a'; 60]), "cc7ed669cf88f201c3297c6a91e1d18d");
        assert_eq!(md5_hex(&[b'a'; 64]), "014842d480b571495a4a0363793f7367");
    }

    /// Digests recorded by Pacemaker in its regression corpus.
    #[test]
    fn parameter_digests_match_the_ones_pacemaker_records() {
        assert_eq!(
            parameters_digest([]),
            "f2317cad3d54cec5d7d7aa7d0bf35cf8",
            "no parameters"
        );
        assert_eq!(
            parameters_digest([("passwd", "whatever"), ("fake", "foo")]),
            "457016173e548c394dcf3896e3066412",
            "sorted by name whatever the input order"
        );
        assert_eq!(
            parameters_digest([
                ("fake", "foo"),
                ("passwd", "whatever"),
                ("CRM_meta_timeout", "20000")
            ]),
            "f9a51bfe2c3d74c3b72202f3101682b7",
            "upper case sorts first"
        );
    }

    #[test]
    fn markup_and_control_characters_are_escaped() {
        let mut out = String::new();
        escape_attribute("a<b>&\"c\n", &mut out);
        assert_eq!(out, "a&lt;b&gt;&amp;&quot;c&#x0A;");
        out.clear();
        escape_attribute("é\u{7f}ü<", &mut out);
        assert_eq!(out, "é&#x7F;ü&lt;");
    }
}
