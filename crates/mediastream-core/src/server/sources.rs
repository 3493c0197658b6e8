//! Per-source limits: how many requests each source address may make per
//! second, and how many streams it may hold, so that one host (or one
//! spoofer) cannot take the whole server.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// The per-source bounds. Sources are IP addresses: a client's ports all
/// count as one.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct SourceLimits {
    /// New requests (START, REQUEST, JOIN) per second per source, on
    /// average.
    pub requests_per_second: f64,
    /// Requests a source may make at once before the rate applies.
    pub burst: f64,
    /// Streams one source may hold at once.
    pub streams_per_source: usize,
    /// Sources remembered at once; past that, idle ones are forgotten
    /// first and new ones refused while none is idle.
    pub max_sources: usize,
}

impl Default for SourceLimits {
    fn default() -> Self {
        // Generous for one host running many connections (ctsTraffic's
        // -connections, a 2000-stream test); tighten for a public server.
        Self {
            requests_per_second: 200.0,
            burst: 2000.0,
            streams_per_source: 4096,
            max_sources: 65_536,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Source {
    tokens: f64,
    last: Instant,
    streams: usize,
}

/// The table behind [`SourceLimits`]. One lock, taken only on the
/// request path (never for stream data).
#[derive(Debug)]
pub(crate) struct Sources {
    limits: SourceLimits,
    table: Mutex<HashMap<IpAddr, Source>>,
}

impl Sources {
    pub(crate) fn new(limits: SourceLimits) -> Self {
        Self {
            limits,
            table: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Source>> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Charges one request to `ip`; false when it is over its rate (or
    /// the table is full of busy sources).
    pub(crate) fn allow_request(&self, ip: IpAddr, now: Instant) -> bool {
        let l = self.limits;
        let mut table = self.lock();
        if !table.contains_key(&ip) && table.len() >= l.max_sources {
            // Forget sources that hold nothing and have refilled.
            table.retain(|_, s| {
                let refilled = s.tokens + l.requests_per_second * (now - s.last).as_secs_f64();
                s.streams > 0 || refilled < l.burst
            });
            if table.len() >= l.max_sources {
                return false;
            }
        }
        let s = table.entry(ip).or_insert(Source {
            tokens: l.burst,
            last: now,
            streams: 0,
        });
        let elapsed = now.saturating_duration_since(s.last).as_secs_f64();
        s.tokens = (s.tokens + l.requests_per_second * elapsed).min(l.burst);
        s.last = now.max(s.last);
        if s.tokens >= 1.0 {
            s.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Counts a new stream for `ip`; false when it holds its maximum.
    pub(crate) fn add_stream(&self, ip: IpAddr, now: Instant) -> bool {
        let mut table = self.lock();
        let s = table.entry(ip).or_insert(Source {
            tokens: self.limits.burst,
            last: now,
            streams: 0,
        });
        if s.streams >= self.limits.streams_per_source {
            return false;
        }
        s.streams += 1;
        true
    }

    /// A stream of `ip` ended.
    pub(crate) fn remove_stream(&self, ip: IpAddr) {
        if let Some(s) = self.lock().get_mut(&ip) {
            s.streams = s.streams.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rate_burst_and_stream_caps() {
        let limits = SourceLimits {
            requests_per_second: 10.0,
            burst: 3.0,
            streams_per_source: 2,
            max_sources: 2,
        };
        let s = Sources::new(limits);
        let t = Instant::now();
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        assert!((0..3).all(|_| s.allow_request(a, t)), "the burst");
        assert!(!s.allow_request(a, t), "then the rate");
        assert!(
            s.allow_request(a, t + Duration::from_millis(100)),
            "10/s refills one in 100 ms"
        );
        assert!(!s.allow_request(a, t + Duration::from_millis(100)));
        assert!(s.add_stream(a, t) && s.add_stream(a, t));
        assert!(!s.add_stream(a, t), "two streams per source");
        s.remove_stream(a);
        assert!(s.add_stream(a, t));
        // The table holds two sources; a third waits until one is idle.
        let b: IpAddr = "127.0.0.3".parse().unwrap();
        let c: IpAddr = "127.0.0.4".parse().unwrap();
        assert!(s.allow_request(b, t));
        assert!(!s.allow_request(c, t), "full of sources that are not idle");
        assert!(
            s.allow_request(c, t + Duration::from_secs(10)),
            "b refilled and holds nothing: forgotten"
        );
    }
}
