//! Helpers shared by the CLI's integration tests.
#![allow(dead_code, clippy::unwrap_used)] // not every test file uses every helper; a test fails loudly

use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The built `mediastream` binary, logging warnings only.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mediastream"));
    c.env("RUST_LOG", "warn");
    c
}

/// Spawns `cmd` with stdout and stderr piped.
///
/// Wine's process creation now and then fails with ERROR_INTERNAL_ERROR
/// (1359) when the machine is busy (1 of about 300 spawns in one run of
/// the CLI tests under Wine): nothing of ours has run then, so the spawn
/// is tried again, a few times, saying so. Any other outcome is the test's.
#[allow(clippy::print_stderr)] // a retried spawn shows in the test's output
pub fn spawn_piped(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Ok(child) => return child,
            Err(e) if tries < 4 && e.raw_os_error() == Some(1359) && cfg!(windows) => {
                tries += 1;
                eprintln!("spawn failed ({e}), try {tries} of 4 more");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("spawn {cmd:?}: {e}"),
        }
    }
}

/// Where a server says it listens: after "listening on " (ours), or a
/// line that is the address alone (ctsTraffic's settings block).
fn listening_address(line: &str) -> Option<String> {
    if let Some(rest) = line.split("listening on ").nth(1) {
        return rest.split([' ', ',']).next().map(str::to_owned);
    }
    let alone = line.trim();
    alone
        .parse::<std::net::SocketAddr>()
        .is_ok()
        .then(|| alone.to_owned())
}

/// Starts `mediastream ARGS` (stdout and stderr piped) and reads its
/// stdout, a byte at a time so that nothing is lost to the child's later
/// output, until a line says where it listens. The child, that address
/// (`IP:PORT`), and what it printed up to there.
pub fn start_listening(args: &[&str]) -> (Child, String, String) {
    let mut child = spawn_piped(bin().args(args));
    let stdout = child.stdout.as_mut().unwrap();
    let (mut printed, mut line) = (String::new(), Vec::new());
    let mut byte = [0u8];
    while stdout.read(&mut byte).unwrap() == 1 {
        if byte[0] != b'\n' {
            line.push(byte[0]);
            continue;
        }
        let text = String::from_utf8_lossy(&line).into_owned();
        printed += &text;
        printed.push('\n');
        line.clear();
        if let Some(addr) = listening_address(&text) {
            return (child, addr, printed);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server never said where it listens: {printed}");
}

/// Waits for `child` at most `limit`; kills it and fails past that, so no
/// spawned process outlives its test.
pub fn finish(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("process ran past {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Runs a command to its end and returns what it printed.
pub fn sh(args: &[&str]) -> Output {
    Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("runs")
}

/// Runs a command that must succeed.
pub fn ok(args: &[&str]) {
    let out = sh(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes a network namespace named `name` with its loopback up, or says
/// why it cannot (not root, no `ip`).
pub fn netns_add(name: &str) -> Result<(), String> {
    let out = sh(&["ip", "netns", "add", name]);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    ok(&["ip", "-n", name, "link", "set", "lo", "up"]);
    Ok(())
}

/// What a namespace test prints when it cannot run here.
pub fn skip_without_netns(why: &str) {
    let mut err = std::io::stderr();
    let _ = std::io::Write::write_fmt(
        &mut err,
        format_args!(
            "skipped: cannot create network namespaces here ({why}); CI runs as root and can\n"
        ),
    );
}

/// A field of `/proc/PID/status` in KiB (VmRSS:, VmHWM:).
#[cfg(target_os = "linux")]
pub fn vm_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect(key)
}

/// A file `name` in this test binary's own temporary directory
/// (`suite` and the process id name it, so parallel binaries never share).
pub fn temp_in(suite: &str, name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mediastream-{suite}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs the binary with `args`, output captured, killed past `limit`.
pub fn run_bin(args: &[&str], limit: Duration) -> Output {
    let child = spawn_piped(bin().args(args));
    finish(child, limit)
}

/// A JSON document from a file.
pub fn read_json(path: impl AsRef<std::path::Path>) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A server on a free loopback port without status rows (plus `extra`
/// options); it and its address.
pub fn quiet_server(extra: &[&str]) -> (Child, String) {
    let mut args = vec![
        "server",
        "--listen",
        "127.0.0.1:0",
        "--status-interval",
        "0",
    ];
    args.extend(extra);
    let (child, addr, _) = start_listening(&args);
    (child, addr)
}
