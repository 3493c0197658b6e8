//! Keyed access (`--key-file`): every v1 datagram ends with a 16-byte tag,
//! HMAC-SHA256 over the datagram's bytes before it, keyed by a secret both
//! ends were given, truncated to its first 16 bytes (128 bits, as
//! RFC 2104 section 5 allows for at least half the hash). Unkeyed peers
//! leave the tag zero. Tags are compared in constant time.
//!
//! The key is the input of whoever sends and receives (a server, a client
//! session); nothing here is global.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::wire::v1::TAG_LEN;

type HmacSha256 = Hmac<Sha256>;

/// The shortest key accepted, bytes.
pub const MIN_KEY_LEN: usize = 16;

/// A shared secret for keyed access. Its `Debug` never shows the bytes.
#[derive(Clone)]
pub struct AccessKey {
    bytes: Arc<[u8]>,
    mac: HmacSha256,
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessKey({} bytes)", self.bytes.len())
    }
}

impl PartialEq for AccessKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for AccessKey {}

/// Why a key could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Shorter than [`MIN_KEY_LEN`] bytes.
    #[error("the key is {len} bytes; at least {MIN_KEY_LEN} are needed")]
    TooShort {
        /// Its length (after trimming a trailing newline).
        len: usize,
    },
    /// The file could not be read.
    #[error("cannot read the key file: {0}")]
    Read(#[from] std::io::Error),
}

impl AccessKey {
    /// A key from its bytes (at least [`MIN_KEY_LEN`]).
    pub fn new(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() < MIN_KEY_LEN {
            return Err(KeyError::TooShort { len: bytes.len() });
        }
        let mac = HmacSha256::new_from_slice(bytes).map_err(|_| KeyError::TooShort { len: 0 })?;
        Ok(Self {
            bytes: bytes.into(),
            mac,
        })
    }

    /// A key from a file: the key is the file's bytes, with one trailing
    /// `\n` (or `\r\n`) removed, at least [`MIN_KEY_LEN`] bytes.
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let raw = std::fs::read(path)?;
        Self::new(trim_newline(&raw))
    }

    fn tag_of(&self, body: &[u8]) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(body);
        mac
    }

    /// Writes the tag into the last [`TAG_LEN`] bytes of `datagram`, over
    /// the bytes before them. Does nothing to a datagram shorter than a tag.
    pub fn seal(&self, datagram: &mut [u8]) {
        let Some(split) = datagram.len().checked_sub(TAG_LEN) else {
            return;
        };
        let (body, tag) = datagram.split_at_mut(split);
        let full = self.tag_of(body).finalize().into_bytes();
        tag.copy_from_slice(&full[..TAG_LEN]);
    }

    /// True when the last [`TAG_LEN`] bytes of `datagram` are its tag
    /// (constant-time comparison).
    pub fn verify(&self, datagram: &[u8]) -> bool {
        let Some(split) = datagram.len().checked_sub(TAG_LEN) else {
            return false;
        };
        let (body, tag) = datagram.split_at(split);
        self.tag_of(body).verify_truncated_left(tag).is_ok()
    }
}

fn trim_newline(raw: &[u8]) -> &[u8] {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    raw.strip_suffix(b"\r").unwrap_or(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_verify_and_any_change_fails() {
        let key = AccessKey::new(b"0123456789abcdef").unwrap();
        let other = AccessKey::new(b"0123456789abcdeF").unwrap();
        let mut d = [7u8; 40];
        key.seal(&mut d);
        assert!(key.verify(&d));
        assert!(!other.verify(&d));
        for i in 0..d.len() {
            let mut bad = d;
            bad[i] ^= 1;
            assert!(!key.verify(&bad), "flipped byte {i}");
        }
        assert!(!key.verify(&d[..TAG_LEN - 1]));
        let zero_tag = [7u8; 24];
        assert!(!key.verify(&zero_tag));
    }

    #[test]
    fn key_rules() {
        assert!(matches!(
            AccessKey::new(b"short"),
            Err(KeyError::TooShort { len: 5 })
        ));
        assert_eq!(trim_newline(b"abc\n"), b"abc");
        assert_eq!(trim_newline(b"abc\r\n"), b"abc");
        assert_eq!(trim_newline(b"abc\n\n"), b"abc\n");
        assert_eq!(
            format!("{:?}", AccessKey::new(&[1; 20]).unwrap()),
            "AccessKey(20 bytes)"
        );
    }
}
