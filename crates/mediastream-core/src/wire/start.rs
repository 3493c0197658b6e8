/// The START request: exactly these 5 ASCII bytes, no terminator.
pub const START: &[u8; 5] = b"START";

/// Writes START into `buf` and returns its length, or `None` when `buf` is
/// shorter than 5 bytes.
pub fn emit_start(buf: &mut [u8]) -> Option<usize> {
    let dst = buf.get_mut(..START.len())?;
    dst.copy_from_slice(START);
    Some(START.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_is_five_ascii_bytes() {
        let mut buf = [0xffu8; 8];
        assert_eq!(emit_start(&mut buf), Some(5));
        assert_eq!(&buf[..5], &[0x53, 0x54, 0x41, 0x52, 0x54]);
        assert_eq!(buf[5], 0xff, "nothing written past the 5 bytes");
        assert_eq!(emit_start(&mut buf[..4]), None);
    }
}
