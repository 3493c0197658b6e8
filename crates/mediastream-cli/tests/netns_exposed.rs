//! A server on a reachable address, tried as an attacker would
//! (docs/SECURITY.md). Three network namespaces made by this test:
//!
//! ```text
//!  server 10.99.1.1 --- 10.99.1.2 router 10.99.2.2 --- 10.99.2.1 client
//! ```
//!
//! 1. The router black-holes everything to the client's address, as the
//!    network does for a spoofed source: the requester never sees an
//!    answer. For requests in both directions (our own client, receiving
//!    and sending) and greedy hand-made ones (20 Gbit/s, 65507-byte
//!    datagrams, the longest consent the wire allows), the server sends
//!    the client's address at most 3x the bytes the client sent, counted
//!    on the veth interfaces.
//! 2. With the route back, a raw-socket flood of 100,000 REQUESTs from
//!    1,000 spoofed addresses (10.99.4.0/22; bounded in count and to 20 s)
//!    runs while a legitimate client streams: no slot is taken, the
//!    server's resident memory stays under 16 MB, and the legitimate
//!    stream completes at least 99% of its frames.
//!
//! Runs as root (CI); skips, saying why, where namespaces cannot be made.
//! Every address exists only inside the namespaces, which are removed.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;
use common::{finish, ok, sh, vm_kib};

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use mediastream_core::wire::v1::{RequestRepr, REQUEST_LEN};
use serde_json::Value;

const SERVER: &str = "10.99.1.1";
const CLIENT: &str = "10.99.2.1";

/// Sends datagrams to DST:PORT: COUNT copies of HEX (a new random token
/// at bytes 3..11 in each), RATE a second, for at most LIMIT seconds. With SPOOF=a.b.c.0/N, from a raw socket with a source address
/// picked from the first ADDRS of that block, else from a plain socket.
const SENDER: &str = r#"
import os, random, socket, struct, sys, time
dst, port, payload, count, rate, limit = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
spoof = sys.argv[7] if len(sys.argv) > 7 else None
addrs = int(sys.argv[8]) if len(sys.argv) > 8 else 1
if spoof:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    base = struct.unpack("!I", socket.inet_aton(spoof.split("/")[0]))[0]
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
start = time.monotonic()
sent = 0
while sent < count and time.monotonic() - start < limit:
    body = payload[:3] + os.urandom(8) + payload[11:]
    if spoof:
        src = socket.inet_ntoa(struct.pack("!I", base + sent % addrs))
        sport = 1024 + (sent * 7919) % 60000
        udp = struct.pack("!HHHH", sport, port, 8 + len(body), 0) + body
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), sent & 0xffff, 0, 64, 17, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
        s.sendto(ip + udp, (dst, 0))
    else:
        s.sendto(body, (dst, port))
    sent += 1
    ahead = start + sent / rate - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)
print(sent)
"#;

struct Net {
    server: String,
    router: String,
    client: String,
}

impl Net {
    fn make() -> Result<Self, String> {
        let id = std::process::id();
        let net = Self {
            server: format!("ms-xs-{id}"),
            router: format!("ms-xr-{id}"),
            client: format!("ms-xc-{id}"),
        };
        let out = sh(&["ip", "netns", "add", &net.server]);
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        ok(&["ip", "netns", "add", &net.router]);
        ok(&["ip", "netns", "add", &net.client]);
        let links = [
            (&net.server, "s0", &net.router, "r0"),
            (&net.client, "c0", &net.router, "r1"),
        ];
        for (a, dev_a, b, dev_b) in links {
            ok(&[
                "ip", "-n", a, "link", "add", dev_a, "type", "veth", "peer", "name", dev_b,
                "netns", b,
            ]);
        }
        let addrs = [
            (&net.server, "s0", "10.99.1.1/24"),
            (&net.router, "r0", "10.99.1.2/24"),
            (&net.router, "r1", "10.99.2.2/24"),
            (&net.client, "c0", "10.99.2.1/24"),
        ];
        for (ns, dev, addr) in addrs {
            // Only this test's traffic on the counted interfaces.
            net.sysctl(ns, &format!("net.ipv6.conf.{dev}.disable_ipv6=1"));
            ok(&["ip", "-n", ns, "addr", "add", addr, "dev", dev]);
            ok(&["ip", "-n", ns, "link", "set", dev, "up"]);
            ok(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        ok(&[
            "ip",
            "-n",
            &net.server,
            "route",
            "add",
            "default",
            "via",
            "10.99.1.2",
        ]);
        ok(&[
            "ip",
            "-n",
            &net.client,
            "route",
            "add",
            "default",
            "via",
            "10.99.2.2",
        ]);
        net.sysctl(&net.router, "net.ipv4.ip_forward=1");
        for ns in [&net.server, &net.router] {
            for conf in ["all", "default", "r0", "r1", "s0"] {
                // Spoofed sources must reach the server, as on the Internet.
                let _ = sh(&[
                    "ip",
                    "netns",
                    "exec",
                    ns,
                    "sysctl",
                    "-qw",
                    &format!("net.ipv4.conf.{conf}.rp_filter=0"),
                ]);
            }
        }
        // The spoofed block goes nowhere beyond the router.
        ok(&[
            "ip",
            "-n",
            &net.router,
            "route",
            "add",
            "blackhole",
            "10.99.4.0/22",
        ]);
        Ok(net)
    }

    fn sysctl(&self, ns: &str, setting: &str) {
        ok(&["ip", "netns", "exec", ns, "sysctl", "-qw", setting]);
    }

    fn tx_bytes(&self, ns: &str, dev: &str) -> u64 {
        let path = format!("/sys/class/net/{dev}/statistics/tx_bytes");
        let out = sh(&["ip", "netns", "exec", ns, "cat", &path]);
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    fn blackhole_client(&self, on: bool) {
        let verb = if on { "add" } else { "del" };
        let host = format!("{CLIENT}/32");
        ok(&["ip", "-n", &self.router, "route", verb, "blackhole", &host]);
    }

    fn spawn(&self, ns: &str, args: &[&str]) -> Child {
        Command::new("ip")
            .args(["netns", "exec", ns, env!("CARGO_BIN_EXE_mediastream")])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn python(&self, ns: &str, script: &Path, args: &[&str]) -> Child {
        Command::new("ip")
            .args(["netns", "exec", ns, "python3"])
            .arg(script)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in [&self.server, &self.router, &self.client] {
            let _ = sh(&["ip", "netns", "del", ns]);
        }
    }
}

fn request_hex(bits_per_second: u64, datagram_size: u32, consent_ms: u32, join: bool) -> String {
    let r = RequestRepr {
        token: 1,
        bits_per_second,
        frame_rate: 50,
        stream_length_secs: 600,
        datagram_size,
        buffer_depth_ms: 1000,
        report_interval_ms: 250,
        consent_timeout_ms: consent_ms,
        cookie: None,
        media: None,
    };
    let mut buf = [0u8; REQUEST_LEN];
    let len = r.emit(join, &mut buf).unwrap();
    buf[..len].iter().map(|b| format!("{b:02x}")).collect()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn temp(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

#[test]
fn a_reachable_server_amplifies_nothing_and_shrugs_off_a_spoofed_flood() {
    let net = match Net::make() {
        Ok(net) => net,
        Err(why) => return common::skip_without_netns(&why),
    };
    let dir = std::env::temp_dir().join(format!("ms-exposed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = temp(&dir, "send.py");
    std::fs::write(&script, SENDER).unwrap();
    let server_json = temp(&dir, "server.json");
    let listen = format!("{SERVER}:4444");
    let mut server = net.spawn(
        &net.server,
        &[
            "server",
            "--listen",
            &listen,
            "--status-interval",
            "0",
            "--json",
            server_json.to_str().unwrap(),
        ],
    );
    let mut first = String::new();
    BufReader::new(server.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("listening on"), "{first}");
    let server_pid = server.id();

    // 1. Nothing comes back to the client: what does the server send it?
    net.blackhole_client(true);
    let (sent_before, got_before) = (
        net.tx_bytes(&net.client, "c0"),
        net.tx_bytes(&net.server, "s0"),
    );
    for direction in ["recv", "send"] {
        let client = net.spawn(
            &net.client,
            &[
                "client",
                "--target",
                &listen,
                "--direction",
                direction,
                "--bits-per-second",
                "8M",
                "--frame-rate",
                "50",
                "--stream-length",
                "3",
                "--status-interval",
                "0",
            ],
        );
        let out = finish(client, Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(1), "no answer can arrive");
    }
    for join in [false, true] {
        let greedy = request_hex(20_000_000_000, 65_507, 600_000, join);
        let p = net.python(
            &net.client,
            &script,
            &[SERVER, "4444", &greedy, "20", "20", "10"],
        );
        let out = finish(p, Duration::from_secs(20));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "20");
    }
    std::thread::sleep(Duration::from_millis(300));
    let client_sent = net.tx_bytes(&net.client, "c0") - sent_before;
    let server_sent = net.tx_bytes(&net.server, "s0") - got_before;
    eprintln!(
        "unverified: client sent {client_sent} B, the server sent it {server_sent} B ({:.2}x)",
        server_sent as f64 / client_sent as f64
    );
    assert!(client_sent > 0);
    assert!(
        server_sent <= 3 * client_sent,
        "amplification: {server_sent} B for {client_sent} B"
    );
    net.blackhole_client(false);

    // 2. A spoofed flood while a legitimate client streams.
    let legit_json = temp(&dir, "legit.json");
    let legit = net.spawn(
        &net.client,
        &[
            "client",
            "--target",
            &listen,
            "--bits-per-second",
            "8M",
            "--frame-rate",
            "50",
            "--stream-length",
            "5",
            "--status-interval",
            "0",
            "--json",
            legit_json.to_str().unwrap(),
        ],
    );
    let request = request_hex(1_000_000, 1400, 3000, false);
    let flood = net.python(
        &net.client,
        &script,
        &[
            SERVER,
            "4444",
            &request,
            "100000",
            "10000",
            "20",
            "10.99.4.0/22",
            "1000",
        ],
    );
    let flood_out = finish(flood, Duration::from_secs(40));
    let flooded: u64 = String::from_utf8_lossy(&flood_out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&flood_out.stderr)));
    let legit_out = finish(legit, Duration::from_secs(40));
    let rss_peak = vm_kib(server_pid, "VmHWM:");
    let _ = sh(&["kill", "-INT", &server_pid.to_string()]);
    let server_out = finish(server, Duration::from_secs(10));
    let doc = json(&server_json);
    let counters = &doc["server"];
    let frames = json(&legit_json)["streams"][0]["frames_completed"]
        .as_u64()
        .unwrap();
    eprintln!(
        "flood: {flooded} spoofed requests; server counters {counters}; peak RSS {rss_peak} KiB; legit {frames}/250"
    );
    assert_eq!(flooded, 100_000, "the whole flood was sent");
    assert!(
        counters["challenged"].as_u64().unwrap() >= 50_000,
        "the flood reached the server: {counters}"
    );
    assert_eq!(
        counters["streams_started"],
        1,
        "only the legitimate stream took a slot: {counters}\n{}",
        String::from_utf8_lossy(&server_out.stdout)
    );
    assert!(rss_peak < 16 * 1024, "server peak RSS {rss_peak} KiB");
    // Every request here was 128 bytes; each challenge is 43.
    let asked = counters["requests"].as_u64().unwrap() + counters["joins"].as_u64().unwrap();
    let unverified = counters["unverified_bytes"].as_u64().unwrap();
    assert!(
        unverified > 0 && unverified <= 43 * asked,
        "{unverified} B to unverified addresses for {asked} requests"
    );
    assert!(
        frames >= 248,
        "legitimate stream: {frames} of 250\n{}",
        String::from_utf8_lossy(&legit_out.stdout)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
