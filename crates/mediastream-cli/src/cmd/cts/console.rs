//! `--cts-console LEVEL`: turns on ctsTraffic's console for a server or
//! a client, starting with ctsTraffic's "Configured Settings" block
//! built from the command's options (the layout of ctsTraffic's
//! PrintSettings for `-Protocol:udp`; docs/cts.md says what differs).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use mediastream_core::settings::StreamSettings;

use crate::args::{ClientArgs, ServerArgs};
use crate::report::ctsconsole::CtsConsole;
use crate::report::text::Text;

/// ctsTraffic's limit on pended connection attempts (its default).
const THROTTLE: u64 = 1000;

/// `N [0xN]`, as ctsTraffic prints counts.
fn dec_hex(n: u64) -> String {
    format!("{n} [0x{n:x}]")
}

/// A count that may be "forever": past 2^31-1 only in hexadecimal.
fn limit(n: u64) -> String {
    if n > 0x7fff_ffff {
        format!("0x{n:x}")
    } else {
        dec_hex(n)
    }
}

/// An address as ctsTraffic formats one: no port when it is 0.
fn address(a: &SocketAddr) -> String {
    if a.port() == 0 {
        a.ip().to_string()
    } else {
        a.to_string()
    }
}

/// The lines both ends print, up to the stream's own.
fn head(
    io_function: &str,
    socket_buffer: usize,
    prepost_recvs: Option<usize>,
    port: u16,
    sending_client: bool,
) -> Vec<String> {
    let mut lines = vec![
        "  Configured Settings  ".to_owned(),
        "-".repeat(23),
        "\tProtocol: UDP".to_owned(),
        format!("\tOptions: SO_RCVBUF({socket_buffer}) SO_SNDBUF({socket_buffer})"),
        format!("\tIO function: {io_function}"),
        format!(
            "\tIoPattern: MediaStream <UDP controlled stream from {}>",
            if sending_client {
                "client to server"
            } else {
                "server to client"
            }
        ),
    ];
    if let Some(n) = prepost_recvs {
        lines.push(format!("\tPrePostRecvs: {n}"));
    }
    lines.push("\tPrePostSends: 1".to_owned());
    lines.push("\tLevel of verification: Connections & Data".to_owned());
    lines.push(format!("\tPort: {port}"));
    lines
}

/// The stream's lines: its frame size, transfer, rate, buffer depth
/// (the client's) and length.
fn stream_lines(stream: &StreamSettings, buffer_depth: bool) -> Vec<String> {
    let Ok(plan) = stream.plan() else {
        return Vec::new();
    };
    let size = plan.frame_size();
    let mut lines = vec![
        format!("\tBuffer used for each IO request: {}", dec_hex(size)) + " bytes",
        format!(
            "\tTotal transfer per connection: {} bytes",
            plan.total_bytes()
        ),
        format!(
            "\t\tUDP Stream BitsPerSecond: {} bits per second",
            plan.bits_per_second()
        ),
        format!(
            "\t\tUDP Stream FrameRate: {} frames per second",
            stream.frame_rate
        ),
    ];
    if buffer_depth {
        let ms = stream.buffer_depth_ms;
        let secs = if ms.is_multiple_of(1000) {
            (ms / 1000).to_string()
        } else {
            format!("{:.3}", f64::from(ms) / 1000.0)
        };
        lines.push(format!("\t\tUDP Stream BufferDepth: {secs} seconds"));
    }
    lines.push(format!(
        "\t\tUDP Stream StreamLength: {} seconds ({} frames)",
        stream.stream_length_secs,
        plan.stream_frames()
    ));
    lines.push(format!("\t\tUDP Stream FrameSize: {size} bytes"));
    lines
}

/// With `--cts-console`: ctsTraffic's console for this client, its
/// settings printed now.
pub fn client(
    text: &mut Text,
    args: &ClientArgs,
    stream: &StreamSettings,
    targets: &[SocketAddr],
    bind: Option<SocketAddr>,
) {
    let Some(level) = args.cts_console else {
        return;
    };
    let sending = args.direction == "send";
    let mut lines = head(
        "MediaStream Client",
        args.socket_buffer,
        None,
        args.port,
        sending,
    );
    lines.extend(stream_lines(stream, true));
    lines.push("\tConnecting out to addresses:".to_owned());
    lines.extend(targets.iter().map(|t| format!("\t\t{}", address(t))));
    lines.push("\tBinding to local addresses for outgoing connections:".to_owned());
    let any = match targets.first() {
        Some(SocketAddr::V6(_)) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    let bind = bind.unwrap_or(SocketAddr::new(any, 0));
    lines.push(format!("\t\t{}", address(&bind)));
    let connections = (args.connections * targets.len()) as u64;
    lines.push(format!(
        "\tConnection limit (maximum established connections): {}",
        dec_hex(connections)
    ));
    lines.push(format!(
        "\tConnection throttling rate (maximum pended connection attempts): {}",
        dec_hex(THROTTLE)
    ));
    // mediastream cts runs "forever" as u32::MAX iterations.
    let total = match args.iterations {
        u32::MAX => u64::MAX,
        n => u64::from(n) * connections,
    };
    lines.push(format!(
        "\tTotal outgoing connections before exit (iterations * concurrent connections) : {}",
        limit(total)
    ));
    lines.push(String::new());
    text.use_cts(CtsConsole::new(level, false, args.time_limit), &lines);
}

/// With `--cts-console`: ctsTraffic's console for this server, its
/// settings printed now (`listening`: the bound addresses).
pub fn server(
    text: &mut Text,
    args: &ServerArgs,
    stream: Option<&StreamSettings>,
    listening: &[SocketAddr],
    shards: usize,
) {
    let Some(level) = args.cts_console else {
        return;
    };
    let mut lines = head(
        "MediaStream Server",
        args.socket_buffer,
        Some(args.pre_post_recvs),
        args.port,
        false,
    );
    if let Some(stream) = stream {
        lines.extend(stream_lines(stream, false));
    }
    lines.push("\tAccepting connections on addresses:".to_owned());
    lines.extend(listening.iter().map(|a| format!("\t\t{}", address(a))));
    lines.push(format!(
        "\tServer-accepted connections before exit : {}",
        limit(args.server_exit_limit.unwrap_or(u64::MAX))
    ));
    if shards > 1 {
        lines.push("\tReceive sharding is enabled".to_owned());
        lines.push(format!("\t\tShardCount: {shards}"));
    }
    lines.push(String::new());
    text.use_cts(CtsConsole::new(level, true, args.time_limit), &lines);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_printed_as_ctstraffic_prints_them() {
        assert_eq!(dec_hex(1000), "1000 [0x3e8]");
        assert_eq!(limit(2), "2 [0x2]");
        assert_eq!(limit(0x7fff_ffff), "2147483647 [0x7fffffff]");
        assert_eq!(limit(u64::MAX), "0xffffffffffffffff");
        let any: SocketAddr = "0.0.0.0:0".parse().unwrap();
        assert_eq!(address(&any), "0.0.0.0");
        let v6: SocketAddr = "[::1]:4444".parse().unwrap();
        assert_eq!(address(&v6), "[::1]:4444");
    }
}
