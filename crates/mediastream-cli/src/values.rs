//! Parsers for option values: rates with suffixes, durations, addresses.
//! Each returns a message that says what was wrong and what is accepted;
//! argh puts the option's name in front.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

/// An I/O backend by name: `mio` or `iocp` (Windows only).
pub fn backend(value: &str) -> Result<mediastream_core::sys::Backend, String> {
    value
        .parse()
        .map_err(|e: mediastream_core::sys::BackendError| e.to_string())
}

/// A DSCP: a name (`ef`, `af41`, `cs5`, ...) or a number 0 to 63.
pub fn dscp(value: &str) -> Result<mediastream_core::marking::Dscp, String> {
    value
        .parse()
        .map_err(|e: mediastream_core::marking::MarkingParseError| e.to_string())
}

/// An ECN code point a sender may set: `ect0` or `ect1`.
pub fn ecn(value: &str) -> Result<mediastream_core::marking::Ecn, String> {
    value
        .parse()
        .map_err(|e: mediastream_core::marking::MarkingParseError| e.to_string())
}

/// Bits per second, from `8000000`, `8M`, `1.5G`, `500k`.
pub fn rate(value: &str) -> Result<u64, String> {
    let v = value.trim();
    let (number, scale) = match v.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let scale = match c {
                'k' | 'K' => 1e3,
                'm' | 'M' => 1e6,
                'g' | 'G' => 1e9,
                't' | 'T' => 1e12,
                _ => {
                    return Err(format!(
                        "'{value}' has an unknown suffix: use k, M, G or T (bits per second)"
                    ))
                }
            };
            (&v[..i], scale)
        }
        _ => (v, 1.0),
    };
    let n: f64 = number.parse().map_err(|_| {
        format!("'{value}' is not a rate: write bits per second like 8000000, 8M, 1.5G or 500k")
    })?;
    if !n.is_finite() || n < 0.0 {
        return Err(format!("'{value}' must be a positive rate"));
    }
    let bits = (n * scale).round();
    if bits > u64::MAX as f64 {
        return Err(format!("'{value}' is too large"));
    }
    Ok(bits as u64)
}

/// Whole seconds, from `10` or `10s`.
pub fn seconds(value: &str) -> Result<u32, String> {
    let v = value.trim();
    v.strip_suffix('s')
        .unwrap_or(v)
        .parse()
        .map_err(|_| format!("'{value}' is not a whole number of seconds"))
}

/// Milliseconds, from seconds with a fraction (`0.2`, `1`, `1.5s`) or
/// `200ms`.
pub fn seconds_as_millis(value: &str) -> Result<u32, String> {
    let v = value.trim();
    let millis = if let Some(ms) = v.strip_suffix("ms") {
        ms.parse::<f64>().ok()
    } else {
        v.strip_suffix('s')
            .unwrap_or(v)
            .parse::<f64>()
            .ok()
            .map(|s| s * 1000.0)
    };
    match millis {
        Some(ms) if ms.is_finite() && ms >= 0.0 && ms <= f64::from(u32::MAX) => Ok(ms.round() as u32),
        _ => Err(format!("'{value}' is not a duration: write seconds like 1, 0.2 or 1.5, or milliseconds like 200ms")),
    }
}

/// A `-ConsoleVerbosity` level, 0 to 6 as ctsTraffic accepts.
pub fn verbosity(value: &str) -> Result<u8, String> {
    match value.trim().parse::<u8>() {
        Ok(level) if level <= 6 => Ok(level),
        _ => Err(format!(
            "'{value}' is not a console verbosity: accepted 0 to 6"
        )),
    }
}

/// `HOST[:PORT]`, `IPv4[:PORT]`, `[IPv6][:PORT]` or a bare IPv6 address;
/// the host is resolved and the first address used.
pub fn target(value: &str, default_port: u16) -> Result<SocketAddr, String> {
    let v = value.trim();
    if let Ok(addr) = v.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = v
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Ok(SocketAddr::new(ip, default_port));
    }
    let (host, port) = match v.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (
            h,
            p.parse()
                .map_err(|_| format!("'{value}': '{p}' is not a port (1 to 65535)"))?,
        ),
        _ => (v, default_port),
    };
    if host.is_empty() {
        return Err(format!("'{value}' has no host: write HOST[:PORT]"));
    }
    (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("'{value}' cannot be resolved: {e}"))?
        .next()
        .ok_or_else(|| format!("'{value}' resolves to no address"))
}

/// A listening address: `*` (all IPv4 and IPv6), an IP, or IP:PORT.
pub fn listen(value: &str, default_port: u16) -> Result<Vec<SocketAddr>, String> {
    let v = value.trim();
    if v == "*" {
        return Ok(vec![
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, default_port)),
            SocketAddr::from((Ipv6Addr::UNSPECIFIED, default_port)),
        ]);
    }
    if let Ok(addr) = v.parse::<SocketAddr>() {
        return Ok(vec![addr]);
    }
    v.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .map(|ip| vec![SocketAddr::new(ip, default_port)])
        .map_err(|_| {
            format!("'{value}' is not a listening address: write *, an IP address, or IP:PORT")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(rate("8000000"), Ok(8_000_000));
        assert_eq!(rate("8M"), Ok(8_000_000));
        assert_eq!(rate("1.5G"), Ok(1_500_000_000));
        assert_eq!(rate("500k"), Ok(500_000));
        assert_eq!(rate("0"), Ok(0), "range checks belong to the settings");
        assert!(rate("-5").unwrap_err().contains("positive"));
        assert!(rate("8X").unwrap_err().contains("suffix"));
        assert!(rate("fast").is_err());
        assert!(rate("1e30").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(seconds("10"), Ok(10));
        assert_eq!(seconds("10s"), Ok(10));
        assert!(seconds("1.5").is_err());
        assert_eq!(seconds_as_millis("0.2"), Ok(200));
        assert_eq!(seconds_as_millis("1.5s"), Ok(1500));
        assert_eq!(seconds_as_millis("250ms"), Ok(250));
        assert!(seconds_as_millis("-1").is_err());
        assert!(seconds_as_millis("soon").is_err());
    }

    #[test]
    fn addresses() {
        assert_eq!(
            target("127.0.0.1", 4444),
            Ok("127.0.0.1:4444".parse().unwrap())
        );
        assert_eq!(
            target("127.0.0.1:5000", 4444),
            Ok("127.0.0.1:5000".parse().unwrap())
        );
        assert_eq!(target("::1", 4444), Ok("[::1]:4444".parse().unwrap()));
        assert_eq!(target("[::1]:9", 4444), Ok("[::1]:9".parse().unwrap()));
        assert_eq!(target("localhost:7", 4444).map(|a| a.port()), Ok(7));
        assert!(target("localhost:99999", 4444)
            .unwrap_err()
            .contains("port"));
        assert!(target("no such host!", 4444).is_err());
        assert_eq!(listen("*", 1).unwrap().len(), 2);
        assert_eq!(listen("::1", 5), Ok(vec!["[::1]:5".parse().unwrap()]));
        assert!(listen("nope", 5).is_err());
    }
}
