//! Many hosts, in namespaces: one server and two clients, each in its own
//! network namespace, joined by a Linux bridge that lives in a fourth
//! namespace (nothing touches the host's interfaces). The server listens
//! on two addresses; one client receives a stream from each (two
//! `--target`), the other sends two streams to one of them. Then
//! `mediastream merge` of the two clients' documents must hold every
//! stream, totals that are the sums of the parts, every frame (a clean
//! bridge loses none), and as many streams as the server saw.
//!
//! Runs as root (CI); skips, saying why, where namespaces cannot be made.
//! Addresses 10.214.7.0/24 exist only inside the namespaces, which are
//! always removed.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;
use common::finish;

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

const SERVER_A: &str = "10.214.7.1";
const SERVER_B: &str = "10.214.7.4";

fn sh(args: &[&str]) -> std::io::Result<Output> {
    Command::new(args[0]).args(&args[1..]).output()
}

fn ok(args: &[&str]) {
    let out = sh(args).expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The four namespaces; dropping them removes them, and with them every
/// veth and the bridge.
struct Net {
    bridge: String,
    server: String,
    clients: [String; 2],
}

impl Net {
    /// Makes the namespaces and the bridge, or says why it cannot.
    fn make() -> Result<Self, String> {
        let uid = sh(&["id", "-u"]).map_err(|e| format!("cannot run id: {e}"))?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Err("not root".into());
        }
        let id = std::process::id();
        let net = Net {
            bridge: format!("ms-br-{id}"),
            server: format!("ms-srv-{id}"),
            clients: [format!("ms-c1-{id}"), format!("ms-c2-{id}")],
        };
        match sh(&["ip", "netns", "add", &net.bridge]) {
            Ok(out) if out.status.success() => {}
            Ok(out) => return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
            Err(e) => return Err(format!("cannot run ip: {e}")),
        }
        // From here on, Drop cleans up whatever was made.
        for ns in [&net.server, &net.clients[0], &net.clients[1]] {
            ok(&["ip", "netns", "add", ns]);
        }
        let br = net.bridge.as_str();
        ok(&["ip", "-n", br, "link", "add", "br0", "type", "bridge"]);
        ok(&["ip", "-n", br, "link", "set", "br0", "up"]);
        let ends = [
            (&net.server, "p0", vec![SERVER_A, SERVER_B]),
            (&net.clients[0], "p1", vec!["10.214.7.2"]),
            (&net.clients[1], "p2", vec!["10.214.7.3"]),
        ];
        for (ns, port, addrs) in ends {
            ok(&[
                "ip", "-n", br, "link", "add", port, "type", "veth", "peer", "name", "eth0",
                "netns", ns,
            ]);
            ok(&["ip", "-n", br, "link", "set", port, "master", "br0"]);
            ok(&["ip", "-n", br, "link", "set", port, "up"]);
            // No IPv6 chatter on the bridge.
            ok(&[
                "ip",
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.eth0.disable_ipv6=1",
            ]);
            for addr in addrs {
                ok(&[
                    "ip",
                    "-n",
                    ns,
                    "addr",
                    "add",
                    &format!("{addr}/24"),
                    "dev",
                    "eth0",
                ]);
            }
            ok(&["ip", "-n", ns, "link", "set", "eth0", "up"]);
            ok(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        Ok(net)
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in [
            &self.bridge,
            &self.server,
            &self.clients[0],
            &self.clients[1],
        ] {
            let _ = sh(&["ip", "netns", "del", ns]);
        }
    }
}

/// A scratch directory, removed at the end (also when the test fails).
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("ms-netns-merge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn spawn_in(ns: &str, args: &[&str]) -> Child {
    Command::new("ip")
        .args(["netns", "exec", ns, env!("CARGO_BIN_EXE_mediastream")])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn json(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn u64_of(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn three_namespaces_on_a_bridge_merge_to_the_sums() {
    let net = match Net::make() {
        Ok(net) => net,
        Err(why) => {
            eprintln!(
                "skipped: cannot create network namespaces here ({why}); CI runs as root and can"
            );
            return;
        }
    };
    let scratch = Scratch::new();
    let (server_json, a_json, b_json, all_json) = (
        scratch.path("server.json"),
        scratch.path("client-a.json"),
        scratch.path("client-b.json"),
        scratch.path("all.json"),
    );
    let (listen_a, listen_b) = (format!("{SERVER_A}:4444"), format!("{SERVER_B}:4444"));
    let mut server = spawn_in(
        &net.server,
        &[
            "server",
            "--listen",
            &listen_a,
            "--listen",
            &listen_b,
            "--server-exit-limit",
            "4",
            "--status-interval",
            "0",
            "--json",
            &server_json,
        ],
    );
    // Wait (at most 10 s) for the server to say it listens; keep reading
    // its output so it never blocks on a full pipe.
    let stdout = server.stdout.take().unwrap();
    let (tx, first_line) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout);
        let mut first = String::new();
        let _ = lines.read_line(&mut first);
        let _ = tx.send(first.clone());
        let mut rest = String::new();
        let _ = lines.read_to_string(&mut rest);
        first + &rest
    });
    let first = first_line
        .recv_timeout(Duration::from_secs(10))
        .expect("the server starts");
    assert!(
        first.contains(&listen_a) && first.contains(&listen_b),
        "{first}"
    );

    let stream = [
        "--bits-per-second",
        "4M",
        "--frame-rate",
        "50",
        "--stream-length",
        "2",
        "--status-interval",
        "0",
    ];
    let mut receiving = vec![
        "client", "--target", &listen_a, "--target", &listen_b, "--json", &a_json,
    ];
    receiving.extend(stream);
    let mut sending = vec![
        "client",
        "--target",
        &listen_a,
        "--connections",
        "2",
        "--direction",
        "send",
        "--json",
        &b_json,
    ];
    sending.extend(stream);
    let clients = [
        spawn_in(&net.clients[0], &receiving),
        spawn_in(&net.clients[1], &sending),
    ];
    for child in clients {
        let out = finish(child, Duration::from_secs(60));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = finish(server, Duration::from_secs(30));
    let text = reader.join().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Merge, as a user would, outside the namespaces.
    let merge = Command::new(env!("CARGO_BIN_EXE_mediastream"))
        .args(["merge", &a_json, &b_json, "-o", &all_json])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = finish(merge, Duration::from_secs(10));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (a, b, all, server) = (
        json(&a_json),
        json(&b_json),
        json(&all_json),
        json(&server_json),
    );
    let parts = [&a, &b];
    let streams = all["streams"].as_array().unwrap();
    let count = |d: &Value| d["streams"].as_array().unwrap().len();
    assert_eq!(count(&a), 2);
    assert_eq!(count(&b), 2);
    assert_eq!(streams.len(), count(&a) + count(&b), "every stream merged");
    assert_eq!(
        count(&server),
        streams.len(),
        "the server saw as many streams"
    );
    assert_eq!(all["command"], "merge");
    assert_eq!(all["interrupted"], false);

    // Every counter of the merged totals is the sum of the parts'.
    let totals = all["totals"].as_object().unwrap();
    let mut counters = 0;
    for (key, value) in totals {
        if value.is_u64() {
            let sum: u64 = parts.iter().map(|d| u64_of(&d["totals"][key])).sum();
            assert_eq!(u64_of(value), sum, "totals.{key}");
            counters += 1;
        }
    }
    assert!(counters >= 12, "{totals:?}");

    // Every frame arrived whole: a clean bridge loses nothing.
    let expected: u64 = streams
        .iter()
        .map(|s| u64_of(&s["settings"]["stream_frames"]))
        .sum();
    assert_eq!(expected, 4 * 100, "4 streams of 50 frames/s for 2 s");
    assert_eq!(u64_of(&all["totals"]["frames_completed"]), expected);
    for key in ["frames_dropped", "frames_repeated", "frames_error"] {
        assert_eq!(u64_of(&all["totals"][key]), 0, "{key}");
    }
    assert_eq!(all["totals"]["succeeded"], 4);

    // Where each stream went and which document it came from.
    let seen: Vec<(&str, &str, &str)> = streams
        .iter()
        .map(|s| {
            (
                s["source"].as_str().unwrap(),
                s["role"].as_str().unwrap(),
                s["remote"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (a_json.as_str(), "receiver", listen_a.as_str()),
            (a_json.as_str(), "receiver", listen_b.as_str()),
            (b_json.as_str(), "sender", listen_a.as_str()),
            (b_json.as_str(), "sender", listen_a.as_str()),
        ]
    );
    let server_locals: Vec<&str> = server["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["local"].as_str().unwrap())
        .collect();
    assert_eq!(
        server_locals.iter().filter(|l| **l == listen_b).count(),
        1,
        "one stream came in on the second listening address: {server_locals:?}"
    );
    eprintln!(
        "merged {} streams from 2 namespaces: {} frames completed of {expected}; server saw {}",
        streams.len(),
        all["totals"]["frames_completed"],
        count(&server)
    );
}
