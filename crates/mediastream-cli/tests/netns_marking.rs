//! Kernel truth for DSCP and ECN: two network namespaces made by this
//! test, joined by a veth pair. Both ends send with `--dscp ef --ecn
//! ect0`; on the receiving side the kernel rewrites the stream's data
//! datagrams before they reach the socket: every one gets another DSCP,
//! and those of every fourth (or eighth) frame get CE. The receiver's
//! DSCP and ECN counts must equal what the rewriting rules' own counters
//! say they did, exactly, and the sender must learn the same numbers
//! from the receiver's v1 report. Both directions (REQUEST and JOIN).
//!
//! The rewrite is tc's `pedit` action (with `csum` to fix the IPv4
//! header checksum) on a u32 filter in the receiving namespace's ingress
//! where the kernel has those actions; where it has not (a minimal
//! kernel with no tc actions, like the VMs this was written on), the same
//! rules in nftables (`ip dscp set`, `ip ecn set ce`, with counters).
//! Either way the numbers compared are the kernel's own statistics. Runs
//! as root (CI); skips, saying why, where namespaces cannot be made or
//! neither tool can rewrite. Addresses 10.213.7.1 and .2 exist only
//! inside the two namespaces, which are always removed.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;
use common::{finish, ok, sh};

use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SERVER: &str = "10.213.7.1";
const CLIENT: &str = "10.213.7.2";

/// One direction's rewrite: data datagrams from `from` get `dscp`; those
/// whose frame's sequence number has `(seq & mask) == value` also get CE.
struct Rewrite {
    /// The namespace that receives (and rewrites).
    ns: String,
    dev: &'static str,
    from: &'static str,
    /// `sport 4444` (the server sends) or `dport 4444` (it receives).
    port_match: &'static str,
    dscp: u8,
    ce_mask: u8,
    ce_value: u8,
}

/// Which kernel facility does the rewriting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Tc,
    Nft,
}

impl Rewrite {
    /// Installs the rules with `tool`; false when the kernel or the tool
    /// cannot.
    fn install(&self, tool: Tool) -> bool {
        match tool {
            Tool::Tc => self.install_tc(),
            Tool::Nft => self.install_nft(),
        }
    }

    fn tc(&self, args: &[&str]) -> bool {
        let mut all = vec!["ip", "netns", "exec", &self.ns, "tc"];
        all.extend(args);
        sh(&all).status.success()
    }

    fn install_tc(&self) -> bool {
        // UDP (protocol 17), the source address, the server port, and the
        // data flag 0x0000 in the first two payload bytes (offset 28: a
        // 20-byte IPv4 header and the 8-byte UDP header).
        let port = if self.port_match.starts_with("sport") {
            "sport"
        } else {
            "dport"
        };
        let from = format!("{}/32", self.from);
        let base = |prio: &'static str| {
            vec![
                "filter", "add", "dev", self.dev, "ingress", "protocol", "ip", "prio", prio, "u32",
                "match", "ip", "src", &from, "match", "ip", port, "4444", "0xffff", "match", "u16",
                "0x0000", "0xffff", "at", "28",
            ]
        };
        if !self.tc(&["qdisc", "add", "dev", self.dev, "clsact"]) {
            return false;
        }
        let tos = format!("{:#04x}", self.dscp << 2);
        let mut dscp = base("1");
        // Continue to the next filter after rewriting.
        dscp.extend([
            "action", "pedit", "ex", "munge", "ip", "dsfield", "set", &tos, "retain", "0xfc",
            "pipe", "action", "csum", "ip4h", "continue",
        ]);
        // The sequence number's low byte is payload byte 2: offset 30.
        let (mask, value) = (
            format!("{:#04x}", self.ce_mask),
            format!("{:#04x}", self.ce_value),
        );
        let mut ce = base("2");
        ce.extend([
            "match", "u8", &value, &mask, "at", "30", "action", "pedit", "ex", "munge", "ip",
            "dsfield", "set", "0x03", "retain", "0x03", "pipe", "action", "csum", "ip4h",
        ]);
        self.tc(&dscp) && self.tc(&ce)
    }

    fn install_nft(&self) -> bool {
        let rule = |extra: String, set: &str| {
            format!(
                "ip saddr {} udp {} @th,64,16 0x0000 {extra}{set} counter",
                self.from, self.port_match
            )
        };
        let ruleset = format!(
            "table ip mstest {{\n chain pre {{\n  type filter hook prerouting priority -150; policy accept;\n  {}\n  {}\n }}\n}}\n",
            rule(String::new(), &format!("ip dscp set {}", self.dscp)),
            rule(
                format!("@th,80,8 & {:#x} == {:#x} ", self.ce_mask, self.ce_value),
                "ip ecn set ce"
            ),
        );
        let file = std::env::temp_dir().join(format!("ms-nft-{}-{}", std::process::id(), self.ns));
        std::fs::write(&file, ruleset).unwrap();
        let done = sh(&[
            "ip",
            "netns",
            "exec",
            &self.ns,
            "nft",
            "-f",
            file.to_str().unwrap(),
        ])
        .status
        .success();
        let _ = std::fs::remove_file(&file);
        done
    }

    /// Takes back whatever [`install`](Self::install) left (a tc filter
    /// that went in before another failed), so the next tool starts
    /// clean.
    fn remove(&self, tool: Tool) {
        match tool {
            Tool::Tc => {
                let _ = self.tc(&["qdisc", "del", "dev", self.dev, "clsact"]);
            }
            Tool::Nft => {
                let _ = sh(&[
                    "ip", "netns", "exec", &self.ns, "nft", "delete", "table", "ip", "mstest",
                ]);
            }
        }
    }

    /// What the rules did: (datagrams re-marked, datagrams marked CE).
    fn counters(&self, tool: Tool) -> (u64, u64) {
        let counts: Vec<u64> = match tool {
            Tool::Tc => {
                let out = sh(&[
                    "ip", "netns", "exec", &self.ns, "tc", "-s", "filter", "show", "dev", self.dev,
                    "ingress",
                ]);
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                eprintln!("{text}");
                // Each pedit action's "Sent B bytes N pkt" line, in
                // filter order (the csum actions count the same packets).
                let mut counts = Vec::new();
                let mut in_pedit = false;
                for line in text.lines() {
                    if line.contains("action order") || line.contains("pedit") {
                        in_pedit = line.contains("pedit");
                    }
                    if in_pedit && line.trim_start().starts_with("Sent ") {
                        counts.push(number_before(line, " pkt"));
                        in_pedit = false;
                    }
                }
                counts
            }
            Tool::Nft => {
                let out = sh(&[
                    "ip", "netns", "exec", &self.ns, "nft", "list", "table", "ip", "mstest",
                ]);
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                eprintln!("{text}");
                text.lines()
                    .filter(|l| l.contains("counter packets"))
                    .map(|l| number_after(l, "counter packets "))
                    .collect()
            }
        };
        assert_eq!(counts.len(), 2, "two rules' counters");
        (counts[0], counts[1])
    }
}

fn number_after(text: &str, key: &str) -> u64 {
    let rest = text
        .split(key)
        .nth(1)
        .unwrap_or_else(|| panic!("{key} in {text}"));
    rest.split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a number after {key} in {text}"))
}

fn number_before(text: &str, key: &str) -> u64 {
    let head = text.split(key).next().unwrap();
    head.rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a number before {key} in {text}"))
}

struct Namespaces {
    a: String,
    b: String,
}

impl Namespaces {
    /// Makes the pair, or says why it cannot.
    fn make() -> Result<Self, String> {
        let id = std::process::id();
        let ns = Self {
            a: format!("ms-ma-{id}"),
            b: format!("ms-mb-{id}"),
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
        for (n, dev, addr) in [(&ns.a, "va", SERVER), (&ns.b, "vb", CLIENT)] {
            ok(&[
                "ip",
                "netns",
                "exec",
                n,
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{dev}.disable_ipv6=1"),
            ]);
            ok(&[
                "ip",
                "-n",
                n,
                "addr",
                "add",
                &format!("{addr}/30"),
                "dev",
                dev,
            ]);
            ok(&["ip", "-n", n, "link", "set", dev, "up"]);
            ok(&["ip", "-n", n, "link", "set", "lo", "up"]);
            // A GSO run crosses a veth whole; the rules count packets, and
            // must see each datagram as one. tbf with a one-datagram burst
            // (far above the stream's rate) splits every run on the way
            // out, as in netns_tbf.rs.
            ok(&[
                "ip", "netns", "exec", n, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate",
                "1gbit", "burst", "1600", "limit", "1000000",
            ]);
        }
        Ok(ns)
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        let _ = sh(&["ip", "netns", "del", &self.a]);
        let _ = sh(&["ip", "netns", "del", &self.b]);
    }
}

fn spawn_in(ns: &str, args: &[&str]) -> Child {
    Command::new("timeout")
        .args([
            "120",
            "ip",
            "netns",
            "exec",
            ns,
            env!("CARGO_BIN_EXE_mediastream"),
        ])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn read_json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let _ = std::fs::remove_file(path);
    serde_json::from_str(&text).unwrap()
}

/// Checks one stream's `marking` against what the rules did: `re_marked`
/// datagrams got DSCP `dscp` (all of them), `ce` of those got CE, the
/// rest kept the sender's ECT(0).
fn assert_marking(what: &str, s: &serde_json::Value, view: &str, rule: (u64, u64), dscp: u8) {
    let (re_marked, ce) = rule;
    let m = &s["marking"];
    eprintln!("{what}: {m}");
    assert_eq!(m["view"], view, "{what}");
    assert_eq!(
        m["datagrams"], re_marked,
        "{what}: every data datagram read"
    );
    assert_eq!(
        m["dscp"],
        serde_json::json!({ dscp.to_string(): re_marked }),
        "{what}: all re-marked, no other DSCP"
    );
    assert_eq!(m["ecn"]["ce"], ce, "{what}: CE == the rule's count");
    assert_eq!(m["ecn"]["ect0"], re_marked - ce, "{what}: the rest ECT(0)");
    assert_eq!(
        (m["ecn"]["ect1"].as_u64(), m["ecn"]["not_ect"].as_u64()),
        (Some(0), Some(0))
    );
}

#[test]
fn the_receivers_dscp_and_ecn_counts_equal_the_kernels_rewrites() {
    let ns = match Namespaces::make() {
        Ok(ns) => ns,
        Err(why) => return common::skip_without_netns(&why),
    };
    // The server sends (REQUEST): the client's namespace rewrites to cs1
    // (8), CE on frames 1, 5, 9, ...; the client sends (JOIN): the
    // server's rewrites to af11 (10), CE on frames 8, 16, 24, ...
    let to_client = Rewrite {
        ns: ns.b.clone(),
        dev: "vb",
        from: SERVER,
        port_match: "sport 4444",
        dscp: 8,
        ce_mask: 3,
        ce_value: 1,
    };
    let to_server = Rewrite {
        ns: ns.a.clone(),
        dev: "va",
        from: CLIENT,
        port_match: "dport 4444",
        dscp: 10,
        ce_mask: 7,
        ce_value: 0,
    };
    let Some(tool) = [Tool::Tc, Tool::Nft].into_iter().find(|&t| {
        let both = to_client.install(t) && to_server.install(t);
        if !both {
            to_client.remove(t);
            to_server.remove(t);
        }
        both
    }) else {
        let mut err = std::io::stderr();
        let _ = std::io::Write::write_fmt(
            &mut err,
            format_args!("skipped: neither tc pedit nor nft can rewrite DSCP / ECN here\n"),
        );
        return;
    };
    eprintln!("rewriting with {tool:?}");
    let id = std::process::id();
    let path = |name: &str| std::env::temp_dir().join(format!("ms-marking-{id}-{name}.json"));
    let (server_json, recv_json, send_json) = (path("server"), path("recv"), path("send"));
    let listen = format!("{SERVER}:4444");
    let server = spawn_in(
        &ns.a,
        &[
            "server",
            "--listen",
            &listen,
            "--server-exit-limit",
            "2",
            "--status-interval",
            "0",
            "--dscp",
            "ef",
            "--ecn",
            "ect0",
            "--json",
            server_json.to_str().unwrap(),
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    // 2 Mbit/s, 50 frames/s, 3 s: 150 frames of 5000 bytes, 4 datagrams
    // each.
    for (direction, json) in [("recv", &recv_json), ("send", &send_json)] {
        let out = finish(
            spawn_in(
                &ns.b,
                &[
                    "client",
                    "--target",
                    &listen,
                    "--direction",
                    direction,
                    "--bits-per-second",
                    "2M",
                    "--frame-rate",
                    "50",
                    "--stream-length",
                    "3",
                    "--buffer-depth",
                    "0.5",
                    "--status-interval",
                    "0",
                    "--dscp",
                    "ef",
                    "--ecn",
                    "ect0",
                    "--json",
                    json.to_str().unwrap(),
                ],
            ),
            Duration::from_secs(60),
        );
        assert!(
            out.status.success(),
            "client {direction}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = finish(server, Duration::from_secs(30));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (to_client_did, to_server_did) = (to_client.counters(tool), to_server.counters(tool));
    let (recv, send, server) = (
        read_json(&recv_json),
        read_json(&send_json),
        read_json(&server_json),
    );
    let client_rx = &recv["streams"][0];
    let client_tx = &send["streams"][0];
    let stream_of = |role: &str| {
        server["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["role"] == role)
            .unwrap_or_else(|| panic!("the server's {role} stream"))
            .clone()
    };
    let (server_tx, server_rx) = (stream_of("sender"), stream_of("receiver"));
    eprintln!(
        "{tool:?}: toward the client re-marked {} (CE {}); toward the server re-marked {} (CE {})",
        to_client_did.0, to_client_did.1, to_server_did.0, to_server_did.1
    );
    // The rules saw every data datagram that arrived, and only those.
    assert_eq!(client_rx["datagrams_received"], to_client_did.0);
    assert_eq!(server_rx["datagrams_received"], to_server_did.0);
    assert_eq!(to_client_did.0, 600, "no loss between namespaces");
    assert_eq!(to_server_did.0, 600, "no loss between namespaces");
    // Frames 1, 5, ..., 149 (38) and 8, 16, ..., 144 (18), 4 datagrams each.
    assert_eq!((to_client_did.1, to_server_did.1), (38 * 4, 18 * 4));
    // The receiving ends counted exactly that...
    assert_marking("client receiving", client_rx, "own", to_client_did, 8);
    assert_marking("server receiving", &server_rx, "own", to_server_did, 10);
    // ...and the sending ends heard it in the final report, and judge
    // their ef marking changed, their ECT(0) kept (CE is ECN working).
    assert_marking("server sending", &server_tx, "peer", to_client_did, 8);
    assert_marking("client sending", client_tx, "peer", to_server_did, 10);
    for (what, s) in [("server", &server_tx), ("client", client_tx)] {
        assert_eq!(s["marking"]["requested"]["dscp"], 46, "{what}");
        assert_eq!(s["marking"]["dscp_kept"], false, "{what}");
        assert_eq!(s["marking"]["ecn_kept"], true, "{what}");
    }
}
