use std::sync::atomic::{AtomicU64, Ordering};

/// Generates the counter block and its plain snapshot from one list, so
/// the two can never disagree.
macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Live server counters (atomics, shared by every thread).
        #[derive(Debug, Default)]
        pub(crate) struct Counters {
            $(pub(crate) $name: AtomicU64,)*
        }

        /// A snapshot of the server's counters.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct ServerStats {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl Counters {
            pub(crate) fn snapshot(&self) -> ServerStats {
                ServerStats { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }

        impl ServerStats {
            /// Every counter as (name, value), in declaration order: for
            /// output that should show them all (JSON, a status line)
            /// without listing them again.
            pub fn fields(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($name), self.$name),)*]
            }
        }
    };
}

counters! {
    /// Datagrams handed to the server.
    datagrams,
    /// Bytes the server sent to addresses that had not proven they
    /// receive there (CHALLENGE, a REFUSE of another version): never more
    /// than each such datagram's request.
    unverified_bytes,
    /// Plain START requests.
    starts,
    /// START from a peer that already had a stream.
    repeated_starts,
    /// v1 REQUEST (server sends).
    requests,
    /// v1 JOIN (server receives).
    joins,
    /// v1 requests answered with a CHALLENGE (no valid cookie yet).
    challenged,
    /// v1 requests whose cookie was wrong, stale or for another address.
    cookie_refused,
    /// v1 requests with a valid cookie (the address receives).
    verified,
    /// v1 datagrams without a valid key tag on a keyed server (dropped
    /// unanswered).
    unkeyed,
    /// Requests refused with a REFUSE.
    refused,
    /// Requests refused for asking over a limit (rate, length, buffer,
    /// datagram size, report interval).
    refused_limits,
    /// Datagrams with a flag we do not know.
    unknown,
    /// Datagrams that could not be parsed.
    malformed,
    /// Stream datagrams for no known stream.
    no_stream,
    /// Well-formed datagrams a server never expects.
    unexpected,
    /// Requests that had to wait for a slot.
    queued,
    /// Requests turned away because the server was full: no free slot,
    /// the awaiting table full, or the total rate or receive memory taken.
    busy,
    /// Waiting requests that expired.
    expired,
    /// Plain START ignored: compatibility is off, or the source is not in
    /// a `compat_allow` block.
    compat_refused,
    /// Requests refused or ignored by the per-source limits.
    rate_limited,
    /// Streams started.
    streams_started,
    /// Streams that completed.
    streams_completed,
    /// Streams that failed.
    streams_failed,
    /// Streams the factory could not create.
    factory_failed,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}
