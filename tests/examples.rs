//! `examples/server.rs` and `examples/client.rs` work against each other:
//! both run as built programs, in both directions, with timeouts.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/<this test> -> target/<profile>/examples/<name>
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    path.pop();
    path.push("examples");
    path.push(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        // `cargo test` builds the examples; a filtered run may not have.
        let status = Command::new(env!("CARGO"))
            .args(["build", "--examples", "-p", "mediastream"])
            .status()
            .unwrap();
        assert!(status.success());
    }
    path
}

/// Waits for `child` at most `limit`, killing it past that.
fn wait(mut child: Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("{child:?} ran past {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn example_server_serves_example_client_both_ways() {
    let mut server = Command::new(example("server"))
        .args(["127.0.0.1:0", "2"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .strip_prefix("listening on ")
        .expect("the server says where it listens");
    for direction in ["recv", "send"] {
        let client = Command::new(example("client"))
            .args([addr, direction])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let output = client.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "client {direction}: {text}");
        assert!(
            text.contains("Completed") && text.contains("completed 150 dropped 0"),
            "{text}"
        );
    }
    let status = wait(server, Duration::from_secs(20));
    assert!(status.success());
    let served: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(served.len(), 2, "{served:?}");
    assert!(served.iter().all(|l| l.contains("Completed")), "{served:?}");
}

#[test]
fn the_readme_shows_the_doctested_example_as_it_is() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let example = std::fs::read_to_string(format!(
        "{root}/crates/mediastream-core/examples/doc_loopback.rs"
    ))
    .unwrap();
    let block = readme
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("README has a rust block");
    assert_eq!(
        block, example,
        "README's library code drifted from the example"
    );
}

#[test]
fn the_async_example_streams_while_its_runtime_ticks() {
    let child = Command::new(example("async_app"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let output = child.wait_with_output().unwrap();
    assert!(start.elapsed() < Duration::from_secs(60));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert_eq!(text.matches("Completed").count(), 2, "{text}");
    let ticks: u64 = text
        .split("runtime ticks while streaming: ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the tick count is printed");
    // Two 2 s streams at once: about 200 ticks of 10 ms even on a busy host.
    assert!(ticks >= 100, "{text}");
}
