//! Return routability: the stateless cookie a server's CHALLENGE carries.
//!
//! cookie = HMAC-SHA256(epoch key, IP (16 bytes, IPv4 mapped) || port ||
//! token || flag)[..16], where the epoch key = HMAC-SHA256(secret,
//! "mediastream cookie" || epoch) rotates every [`COOKIE_EPOCH`]: a cookie
//! is accepted in the epoch it was made and the next one (2 to 4 s). The
//! server keeps nothing per requester; the secret is an input (see
//! [`CookieSecret::random`]).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::wire::v1::{Cookie, COOKIE_LEN};

type HmacSha256 = Hmac<Sha256>;

/// How long one cookie epoch lasts; a cookie is good for this epoch and
/// the next.
pub const COOKIE_EPOCH: Duration = Duration::from_secs(2);

/// The server's cookie secret (32 bytes). Its `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct CookieSecret([u8; 32]);

impl fmt::Debug for CookieSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CookieSecret(..)")
    }
}

impl Default for CookieSecret {
    /// A random secret ([`CookieSecret::random`]).
    fn default() -> Self {
        Self::random()
    }
}

impl CookieSecret {
    /// A secret from the given bytes (tests, or a server that wants its
    /// cookies to survive a restart).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A secret from the operating system's random source (feature
    /// `io`). Should that fail (it does not on any supported system), or
    /// in the sans-IO build, std's randomly keyed hasher stands in: its
    /// keys also come from the OS, once per thread.
    pub fn random() -> Self {
        let mut bytes = [0u8; 32];
        #[cfg(feature = "io")]
        let filled = getrandom::fill(&mut bytes).is_ok();
        #[cfg(not(feature = "io"))]
        let filled = false;
        if !filled {
            use std::hash::{BuildHasher, Hasher};
            let state = std::collections::hash_map::RandomState::new();
            for (i, chunk) in bytes.chunks_mut(8).enumerate() {
                let mut h = state.build_hasher();
                h.write_usize(i);
                chunk.copy_from_slice(&h.finish().to_le_bytes());
            }
        }
        Self(bytes)
    }

    fn epoch_key(&self, epoch: u64) -> HmacSha256 {
        let mut derive = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        derive.update(b"mediastream cookie");
        derive.update(&epoch.to_le_bytes());
        let key = derive.finalize().into_bytes();
        HmacSha256::new_from_slice(&key).expect("HMAC takes any key length")
    }

    fn mac(&self, epoch: u64, remote: SocketAddr, token: u64, flag: u16) -> HmacSha256 {
        let ip = match remote.ip() {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6,
        };
        let mut mac = self.epoch_key(epoch);
        mac.update(&ip.octets());
        mac.update(&remote.port().to_le_bytes());
        mac.update(&token.to_le_bytes());
        mac.update(&flag.to_le_bytes());
        mac
    }

    /// The cookie for a request (`flag`: REQUEST or JOIN) from `remote`
    /// with `token`, in `epoch`.
    pub fn cookie(&self, epoch: u64, remote: SocketAddr, token: u64, flag: u16) -> Cookie {
        let full = self.mac(epoch, remote, token, flag).finalize().into_bytes();
        let mut cookie = [0u8; COOKIE_LEN];
        cookie.copy_from_slice(&full[..COOKIE_LEN]);
        cookie
    }

    /// True when `cookie` was made for this request in `epoch` or the one
    /// before (constant-time comparison).
    pub fn verify(
        &self,
        epoch: u64,
        remote: SocketAddr,
        token: u64,
        flag: u16,
        cookie: &Cookie,
    ) -> bool {
        [Some(epoch), epoch.checked_sub(1)]
            .into_iter()
            .flatten()
            .any(|e| {
                self.mac(e, remote, token, flag)
                    .verify_truncated_left(cookie)
                    .is_ok()
            })
    }
}
