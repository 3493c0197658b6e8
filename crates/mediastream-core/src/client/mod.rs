//! The client session: asks a server for a stream (plain START for a
//! ctsTraffic server, or a v1 REQUEST / JOIN), retries, then runs the same
//! patterns as the server. A [`ClientSession`] is itself an
//! [`IoPattern`](crate::pattern::IoPattern), so a backend drives it like
//! any stream.

mod session;

pub use session::{ClientConfig, ClientError, ClientSession, Direction, ParseDirectionError};

/// A new stream token for [`ClientConfig::token`]: 64 bits from
/// [`crate::rand::random_seed`], different on every call. A v1 token only
/// has to differ between a client's concurrent streams and be hard for
/// an off-path spoofer to guess; it is not a secret (keyed access, see
/// [`crate::auth`], is what authenticates).
///
/// ```
/// use mediastream_core::client::{random_token, ClientConfig};
/// use mediastream_core::settings::StreamSettings;
///
/// let config = ClientConfig::new(StreamSettings::new(8_000_000, 50, 3), random_token());
/// assert_ne!(config.token, random_token());
/// ```
pub fn random_token() -> u64 {
    crate::rand::random_seed()
}

#[cfg(test)]
mod tests;
