//! Cross test: the Windows build of `mediastream` (IOCP backend) under
//! Wine against the native Linux build (mio backend) on loopback, each
//! serving the other in both directions.
//!
//! `.ci/run` builds the Windows binary and sets MEDIASTREAM_WINDOWS_EXE
//! and MEDIASTREAM_WINE; without them (a plain `cargo test`) the test
//! says so and does nothing.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

mod common;
use common::finish;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn windows() -> Option<Command> {
    let exe = std::env::var_os("MEDIASTREAM_WINDOWS_EXE")?;
    let wine = std::env::var_os("MEDIASTREAM_WINE")?;
    let mut c = Command::new(wine);
    c.arg(exe).env("WINEDEBUG", "-all");
    Some(c)
}

fn native() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mediastream"))
}

/// Starts a server for two streams; returns it and the address it printed.
fn serve(mut command: Command) -> (Child, String) {
    let mut child = command
        .args([
            "server",
            "--listen",
            "127.0.0.1:0",
            "--server-exit-limit",
            "2",
            "--status-interval",
            "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .split("listening on ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .to_owned();
    (child, addr)
}

fn stream(mut command: Command, addr: &str, direction: &str) -> String {
    let child = command
        .args([
            "client",
            "--target",
            addr,
            "--direction",
            direction,
            "--status-interval",
            "0",
        ])
        .args([
            "--bits-per-second",
            "8M",
            "--frame-rate",
            "50",
            "--stream-length",
            "3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = finish(child, Duration::from_secs(60));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{direction}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn check_both_ways(server: Command, client: impl Fn() -> Command) {
    let (server, addr) = serve(server);
    let recv = stream(client(), &addr, "recv");
    assert!(
        recv.contains("Completed [150]  Dropped [0]  Repeated [0]  Errors [0]"),
        "{recv}"
    );
    let send = stream(client(), &addr, "send");
    // Sending: the counts shown are the server's, from its final report.
    assert!(send.contains("Completed [150]  Dropped [0]"), "{send}");
    let out = finish(server, Duration::from_secs(30));
    let served = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{served}");
    assert_eq!(
        served.matches("UDP connection succeeded").count(),
        2,
        "{served}"
    );
}

#[test]
fn windows_server_serves_linux_client_and_back() {
    let Some(_) = windows() else {
        eprintln!(
            "skipped: MEDIASTREAM_WINDOWS_EXE and MEDIASTREAM_WINE are not set (.ci/run sets them)"
        );
        return;
    };
    check_both_ways(windows().unwrap(), native);
    check_both_ways(native(), || windows().unwrap());
}
