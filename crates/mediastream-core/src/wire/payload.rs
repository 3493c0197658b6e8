//! The payload pattern: byte `j` of every payload is byte `j` of the
//! little-endian u16 sequence 0, 1, 2, ... 32767, repeating every 65536
//! bytes, restarted at the beginning of each datagram's payload.
//!
//! The whole period is one static 64 KiB table, so [`fill`] is a `memcpy`
//! and [`verify`] a `memcmp` (word-at-a-time in every libc), and neither
//! allocates. A payload can never exceed 65481 bytes (65507 - 26), which is
//! less than one period, but both functions handle any length.

/// The length of one period of the pattern.
pub const PERIOD: usize = 65_536;

/// One period of the pattern.
pub static PATTERN: [u8; PERIOD] = build();

const fn build() -> [u8; PERIOD] {
    let mut table = [0u8; PERIOD];
    let mut i = 0;
    while i < PERIOD / 2 {
        let word = (i as u16).to_le_bytes();
        table[2 * i] = word[0];
        table[2 * i + 1] = word[1];
        i += 1;
    }
    table
}

/// Writes the pattern into `payload` from its first byte.
pub fn fill(payload: &mut [u8]) {
    for chunk in payload.chunks_mut(PERIOD) {
        chunk.copy_from_slice(&PATTERN[..chunk.len()]);
    }
}

/// Checks `payload` against the pattern. On a mismatch returns the offset
/// of the first wrong byte.
pub fn verify(payload: &[u8]) -> Result<(), usize> {
    for (index, chunk) in payload.chunks(PERIOD).enumerate() {
        let expected = &PATTERN[..chunk.len()];
        if chunk != expected {
            return Err(index * PERIOD + first_difference(chunk, expected));
        }
    }
    Ok(())
}

/// Only reached on a mismatch, so a byte loop costs nothing in the hot path.
fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_starts_with_little_endian_counter() {
        assert_eq!(
            &PATTERN[..8],
            &[0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00]
        );
        // 0x0100 = 256 sits at byte 512.
        assert_eq!(&PATTERN[512..514], &[0x00, 0x01]);
        // The last word of the period is 32767 = 0x7fff.
        assert_eq!(&PATTERN[PERIOD - 2..], &[0xff, 0x7f]);
    }

    #[test]
    fn fill_then_verify_any_length() {
        for len in [
            0,
            1,
            2,
            3,
            1374,
            65_481,
            PERIOD,
            PERIOD + 3,
            3 * PERIOD + 17,
        ] {
            let mut buf = vec![0xa5; len];
            fill(&mut buf);
            assert_eq!(verify(&buf), Ok(()), "len {len}");
            if len >= PERIOD + 4 {
                assert_eq!(&buf[PERIOD..PERIOD + 4], &[0, 0, 1, 0], "repeats");
            }
        }
    }

    #[test]
    fn verify_reports_first_wrong_byte() {
        let mut buf = vec![0; 70_000];
        fill(&mut buf);
        for at in [0, 1, 777, PERIOD - 1, PERIOD, 69_999] {
            let mut bad = buf.clone();
            bad[at] ^= 0x10;
            assert_eq!(verify(&bad), Err(at));
        }
    }
}
