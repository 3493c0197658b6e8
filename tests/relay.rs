//! The impairment relay between a real client and a real server on
//! loopback: for 20 seeds mixing loss, duplication, reordering, delay and
//! corruption, in both directions, the receiver's counters (and, when the
//! client receives, every frame's outcome) equal what the relay's own log
//! implies. Delays stay far inside the jitter buffer, so no datagram is
//! late and the outcome of each frame depends only on what arrived.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

mod support;

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use mediastream::client::{ClientConfig, Direction};
use mediastream::impair::Impairments;
use mediastream::pattern::{FrameRecord, Status, StreamError};
use mediastream::server::{Server, ServerConfig, StreamResult};
use mediastream::settings::{StreamPlan, StreamSettings};
use mediastream::sys::{
    run_client, start_server, Backend, ClientObserver, ClientOptions, ServerOptions,
};
use mediastream::tools::relay::{start_relay, RelayOptions, RelayRecord, Way};
use support::model::{self, Expected};

/// 2 Mbit/s, 50 frames/s, 1 s: 50 frames of 5000 bytes (3 x 1400 + 800).
fn settings() -> StreamSettings {
    StreamSettings::new(2_000_000, 50, 1)
}

fn impairments() -> Impairments {
    let mut impairments = Impairments::default();
    impairments.loss = 0.03;
    impairments.duplicate = 0.03;
    impairments.reorder = 0.1;
    impairments.reorder_max = Duration::from_millis(30);
    impairments.delay = Duration::from_millis(2);
    impairments.jitter = Duration::from_millis(5);
    impairments.corrupt = 0.02;
    impairments
}

/// What the receiver must count, from the relay's records of one way.
fn expected(plan: &StreamPlan, log: &[RelayRecord], way: Way) -> Expected {
    let frames = plan.stream_frames() as usize;
    let mut bytes = vec![0u64; frames + 1];
    let mut out = Expected::default();
    for r in log.iter().filter(|r| r.way == way) {
        let Some(seq) = r.sequence.filter(|&s| s >= 1 && s as usize <= frames) else {
            continue;
        };
        for copy in &r.copies {
            if copy.corrupt.is_some() {
                out.corrupt += 1;
            } else {
                bytes[seq as usize] += r.len as u64;
            }
        }
    }
    model::render_frames(plan, &bytes, &mut out);
    out
}

#[derive(Default)]
struct Records(Vec<FrameRecord>);

impl ClientObserver for Records {
    fn on_record(&mut self, _: usize, r: FrameRecord) {
        self.0.push(r);
    }
}

fn check_status(status: &Status, corrupt: u64, what: &str) {
    match (status, corrupt) {
        (Status::Completed, 0) => {}
        (Status::Failed(StreamError::CorruptPayload { datagrams, .. }), n) if n > 0 => {
            assert_eq!(*datagrams, n, "{what}");
        }
        (other, n) => panic!("{what}: status {other:?} with {n} corrupt copies"),
    }
}

/// One seed, one direction, through the relay; returns the expectation
/// it checked.
fn run_seed(seed: u64, direction: Direction) -> Expected {
    let (tx, finished) = mpsc::channel();
    let server = Server::with_defaults(ServerConfig::default())
        .unwrap()
        .on_finished(move |r| {
            let _ = tx.send(r.clone());
        });
    let mut options = ServerOptions::new(vec!["127.0.0.1:0".parse().unwrap()]);
    options.shards = 1;
    let handle = start_server(Backend::Mio, Arc::new(server), &options).unwrap();
    let relay = start_relay(&{
        let mut relay_options =
            RelayOptions::new("127.0.0.1:0".parse().unwrap(), handle.local_addrs()[0]);
        relay_options.to_server = impairments();
        relay_options.to_client = impairments();
        relay_options.seed = seed;
        relay_options
    })
    .unwrap();
    let mut config = ClientConfig::new(settings(), seed);
    config.direction = direction;
    config.record_frames = true;
    let mut client_options = ClientOptions::new(relay.local_addr());
    client_options.time_limit = Some(Duration::from_secs(20));
    let mut records = Records::default();
    let client = run_client(Backend::Mio, &client_options, &config, &mut records)
        .unwrap()
        .remove(0);
    let served: StreamResult = finished
        .recv_timeout(Duration::from_secs(20))
        .expect("the server's stream ended");
    let log = relay.stop().unwrap();
    handle.stop().unwrap();
    let plan = settings().plan().unwrap();
    let what = format!("seed {seed} {direction:?}");
    match direction {
        Direction::Receive => {
            let want = expected(&plan, &log, Way::ToClient);
            let s = &client.stats;
            assert_eq!(
                (
                    s.frames_completed,
                    s.frames_dropped,
                    s.frames_repeated,
                    s.frames_error
                ),
                (want.completed, want.dropped, want.repeated, 0),
                "{what}"
            );
            assert_eq!(s.datagrams_corrupt, want.corrupt, "{what}");
            let outcomes: Vec<_> = records.0.iter().map(|r| r.outcome).collect();
            assert_eq!(outcomes, want.outcomes, "{what}: every frame");
            check_status(&client.status, want.corrupt, &what);
            want
        }
        Direction::Send => {
            let want = expected(&plan, &log, Way::ToServer);
            let s = &served.stats;
            assert_eq!(
                (
                    s.frames_completed,
                    s.frames_dropped,
                    s.frames_repeated,
                    s.frames_error
                ),
                (want.completed, want.dropped, want.repeated, 0),
                "{what}"
            );
            assert_eq!(s.datagrams_corrupt, want.corrupt, "{what}");
            check_status(&served.status, want.corrupt, &what);
            want
        }
    }
}

#[test]
fn relay_log_predicts_every_frame_both_ways() {
    let seeds: Vec<u64> = (1..=20).collect();
    // Four seeds at a time: each run is a real 1 s stream.
    for chunk in seeds.chunks(4) {
        let runs: Vec<_> = chunk
            .iter()
            .flat_map(|&seed| [(seed, Direction::Receive), (seed, Direction::Send)])
            .map(|(seed, d)| std::thread::spawn(move || run_seed(seed, d)))
            .collect();
        for r in runs {
            r.join().unwrap();
        }
    }
}

#[test]
fn impairments_actually_happen() {
    // The mix above must exercise every outcome, or the test proves less
    // than it claims.
    let totals: Vec<Expected> = (1..=6)
        .map(|seed| run_seed(seed, Direction::Receive))
        .collect();
    assert!(totals.iter().any(|e| e.dropped > 0), "some frames dropped");
    assert!(
        totals.iter().any(|e| e.repeated > 0),
        "some frames repeated"
    );
    assert!(
        totals.iter().any(|e| e.corrupt > 0),
        "some copies corrupted"
    );
    assert!(
        totals.iter().all(|e| e.completed > 30),
        "most frames complete"
    );
}
