//! Kernel truth: two network namespaces made by this test, joined by a
//! veth pair, with a tbf qdisc shaping the server's side below the
//! stream's rate. Every datagram the qdisc reports dropped must be a
//! datagram our receiver reports lost, exactly. Runs as root (CI); skips,
//! saying why, where namespaces cannot be made. Addresses 10.213.0.1 and
//! .2 exist only inside the two namespaces, which are always removed.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;
use common::{finish, ok, sh};

use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Namespaces {
    a: String,
    b: String,
}

impl Namespaces {
    /// Makes the pair, or says why it cannot.
    fn make() -> Result<Self, String> {
        let id = std::process::id();
        let ns = Self {
            a: format!("ms-a-{id}"),
            b: format!("ms-b-{id}"),
        };
        let out = sh(&["ip", "netns", "add", &ns.a]);
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        ok(&["ip", "netns", "add", &ns.b]);
        ok(&[
            "ip", "-n", &ns.a, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns",
            &ns.b,
        ]);
        for (n, dev, addr) in [
            (&ns.a, "va", "10.213.0.1/30"),
            (&ns.b, "vb", "10.213.0.2/30"),
        ] {
            // No IPv6 chatter through the shaper.
            ok(&[
                "ip",
                "netns",
                "exec",
                n,
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{dev}.disable_ipv6=1"),
            ]);
            ok(&["ip", "-n", n, "addr", "add", addr, "dev", dev]);
            ok(&["ip", "-n", n, "link", "set", dev, "up"]);
            ok(&["ip", "-n", n, "link", "set", "lo", "up"]);
        }
        // Static neighbours: no ARP through the shaper during the stream.
        let mac = |n: &str, dev: &str| {
            let out = sh(&[
                "ip",
                "netns",
                "exec",
                n,
                "cat",
                &format!("/sys/class/net/{dev}/address"),
            ]);
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        let (mac_a, mac_b) = (mac(&ns.a, "va"), mac(&ns.b, "vb"));
        ok(&[
            "ip",
            "-n",
            &ns.a,
            "neigh",
            "replace",
            "10.213.0.2",
            "lladdr",
            &mac_b,
            "dev",
            "va",
            "nud",
            "permanent",
        ]);
        ok(&[
            "ip",
            "-n",
            &ns.b,
            "neigh",
            "replace",
            "10.213.0.1",
            "lladdr",
            &mac_a,
            "dev",
            "vb",
            "nud",
            "permanent",
        ]);
        // 20 Mbit/s out of the server's side; a burst of one datagram, so
        // tbf splits every GSO run and counts datagrams, not runs.
        ok(&[
            "ip", "netns", "exec", &ns.a, "tc", "qdisc", "add", "dev", "va", "root", "tbf", "rate",
            "20mbit", "burst", "1600", "limit", "60000",
        ]);
        Ok(ns)
    }

    fn qdisc_drops(&self) -> u64 {
        let out = sh(&[
            "ip", "netns", "exec", &self.a, "tc", "-s", "qdisc", "show", "dev", "va",
        ]);
        let text = String::from_utf8_lossy(&out.stdout);
        text.split("dropped ")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no drop count in: {text}"))
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        let _ = sh(&["ip", "netns", "del", &self.a]);
        let _ = sh(&["ip", "netns", "del", &self.b]);
    }
}

fn spawn_in(ns: &str, args: &[&str]) -> Child {
    Command::new("ip")
        .args(["netns", "exec", ns, env!("CARGO_BIN_EXE_mediastream")])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn kernel_drops_equal_our_lost_datagrams() {
    let ns = match Namespaces::make() {
        Ok(ns) => ns,
        Err(why) => return common::skip_without_netns(&why),
    };
    // Plain ctsTraffic stream (no v1 control datagrams cross the shaper
    // but the one connection id): 40 Mbit/s, twice the shaped rate.
    let stream = [
        "--bits-per-second",
        "40M",
        "--frame-rate",
        "50",
        "--stream-length",
        "3",
    ];
    let mut server_args = vec![
        "server",
        "--listen",
        "10.213.0.1:4444",
        "--server-exit-limit",
        "1",
        "--status-interval",
        "0",
        "--compat-allow",
        "10.213.0.0/24",
    ];
    server_args.extend(stream);
    let server = spawn_in(&ns.a, &server_args);
    std::thread::sleep(Duration::from_millis(300));
    let json = std::env::temp_dir().join(format!("ms-netns-{}.json", std::process::id()));
    let mut client_args = vec![
        "client",
        "--target",
        "10.213.0.1:4444",
        "--compat",
        "--status-interval",
        "0",
    ];
    client_args.extend(stream);
    client_args.extend(["--buffer-depth", "2", "--json", json.to_str().unwrap()]);
    let out = finish(spawn_in(&ns.b, &client_args), Duration::from_secs(60));
    assert!(
        out.status.code().is_some(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    finish(server, Duration::from_secs(30));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let _ = std::fs::remove_file(&json);
    let s = &doc["streams"][0];
    let frames = s["settings"]["stream_frames"].as_u64().unwrap();
    let per_frame = s["settings"]["frame_size"].as_u64().unwrap().div_ceil(1400);
    let sent = frames * per_frame + 1; // every data datagram and the connection id
    let received =
        s["datagrams_received"].as_u64().unwrap() + u64::from(!s["connection_id"].is_null());
    let lost = sent - received;
    let drops = ns.qdisc_drops();
    eprintln!(
        "tbf dropped {drops}; sent {sent}, received {received}: lost {lost}; frames completed {}",
        s["frames_completed"]
    );
    assert!(
        drops > 1000,
        "the shaper really dropped (the stream is twice its rate)"
    );
    assert_eq!(drops, lost, "kernel drops == our lost datagrams");
}
