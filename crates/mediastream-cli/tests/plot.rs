//! `mediastream plot` as a user runs it, on tests/data/plot-fixture.json
//! (written by tests/data/make-plot-fixture.py): the SVG is well-formed
//! XML with the title, one marker per dropped frame and the freeze
//! labelled; the HTML page holds the SVG and the key numbers; bad input
//! fails with a message naming the file, bad usage with exit code 2.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

mod common;
use common::finish;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

fn temp(name: &str) -> PathBuf {
    common::temp_in("plot", name)
}

const LIMIT: Duration = Duration::from_secs(30);
/// The fill of the delay panel's dropped-frame markers, and of nothing
/// else (`DROPPED_MARKER` in src/plot/svg.rs).
const DROPPED_MARKER: &str = "#C81E2D";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/plot-fixture.json")
}

fn plot(args: &[&str]) -> Output {
    let child = common::spawn_piped(
        Command::new(env!("CARGO_BIN_EXE_mediastream"))
            .arg("plot")
            .args(args)
            .env("RUST_LOG", "warn"),
    );
    finish(child, LIMIT)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The fixture's receiving stream, and how many of its frames dropped.
fn fixture_dropped() -> usize {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(fixture()).unwrap()).unwrap();
    let timeline = doc["streams"][1]["timeline"].as_array().unwrap();
    let dropped = timeline
        .iter()
        .filter(|f| f["outcome"] == "dropped")
        .count();
    assert_eq!(dropped, 8, "the fixture as make-plot-fixture.py writes it");
    dropped
}

fn texts(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_owned())
        .collect()
}

#[test]
fn svg_report_is_well_formed_with_title_and_one_marker_per_dropped_frame() {
    let out = temp("report.svg");
    let o = plot(&[fixture().to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("the SVG is well-formed XML");
    let root = doc.root_element();
    assert!(root.has_tag_name("svg"));
    assert_eq!(root.attribute("width"), Some("1200"));
    assert_eq!(root.attribute("height"), Some("900"));
    let texts = texts(&doc);
    assert!(
        texts
            .iter()
            .any(|t| t == "mediastream: plot-fixture.json, stream 1 (receiver)"),
        "default title: {texts:?}"
    );
    // The headline numbers and the labels drawn where things are.
    let has = |needle: &str| texts.iter().any(|t| t.contains(needle));
    assert!(
        has("completed 290 \u{b7} dropped 9 (1 late) \u{b7} loss 1.82 %"),
        "{texts:?}"
    );
    assert!(has("p99 frame delay 3.00 ms") && has("freezes 5 (150 ms)"));
    assert!(has("dropped 8") && has("late 1") && has("freezes 5"));
    assert!(
        has("5 frames, 83.3 ms"),
        "the freeze run labelled: {texts:?}"
    );
    assert!(has("p50 1.42 ms") && has("p99 3.00 ms"), "histogram lines");
    assert!(
        has("212 ms"),
        "the late frame off the scale, with its delay"
    );
    let markers = doc
        .descendants()
        .filter(|n| n.has_tag_name("polygon") && n.attribute("fill") == Some(DROPPED_MARKER))
        .count();
    assert_eq!(markers, fixture_dropped());
    // No font was needed: text stays text.
    assert!(!text.contains("<image"), "no embedded bitmaps");
}

#[test]
fn html_report_holds_the_svg_and_the_key_numbers() {
    let out = temp("report.html");
    let o = plot(&[
        fixture().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--title",
        "Lab <run> & \"co\"",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<title>Lab &lt;run&gt; &amp; &quot;co&quot;</title>"));
    let start = html.find("<svg").expect("the SVG inline");
    let end = html.find("</svg>").expect("closed") + "</svg>".len();
    let svg = roxmltree::Document::parse(&html[start..end]).expect("inline SVG is XML");
    assert!(texts(&svg).iter().any(|t| t == "Lab <run> & \"co\""));
    assert!(html.contains("<table>"));
    assert!(html.contains(
        "<th scope=\"row\">frames completed / dropped / repeated</th><td>290 / 9 / 1</td>"
    ));
    assert!(html.contains("<th scope=\"row\">datagrams lost</th><td>71 of 3900 (1.82 %)</td>"));
    assert!(html
        .contains("<th scope=\"row\">freezes / total / longest</th><td>5 / 150 ms / 83.3 ms</td>"));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "self-contained"
    );
}

#[test]
fn stream_picks_a_stream_and_a_sender_has_nothing_to_plot() {
    let out = temp("chosen.svg");
    let fx = fixture();
    let o = plot(&[
        fx.to_str().unwrap(),
        "--stream",
        "1",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = plot(&[
        fx.to_str().unwrap(),
        "--stream",
        "0",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("stream 0 of") && e.contains("(sender)") && e.contains("streams with one: 1"),
        "{e}"
    );
    let o = plot(&[
        fx.to_str().unwrap(),
        "--stream",
        "7",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--stream 7 is out of range"));
}

#[test]
fn unusable_input_fails_naming_the_file_and_what_to_do() {
    let out = temp("never.svg");
    let out = out.to_str().unwrap();
    // Missing.
    let missing = temp("no-such.json");
    let o = plot(&[missing.to_str().unwrap(), "-o", out]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot read") && stderr(&o).contains("no-such.json"));
    // Not JSON.
    let junk = temp("junk.json");
    std::fs::write(&junk, "TimeSlice,Bits/Sec\n").unwrap();
    let o = plot(&[junk.to_str().unwrap(), "-o", out]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("junk.json is not a mediastream --json document"),
        "{}",
        stderr(&o)
    );
    // A document whose only stream sent: no timeline anywhere.
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture()).unwrap()).unwrap();
    doc["streams"].as_array_mut().unwrap().truncate(1);
    let sender_only = temp("sender-only.json");
    std::fs::write(&sender_only, doc.to_string()).unwrap();
    let o = plot(&[sender_only.to_str().unwrap(), "-o", out]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("sender-only.json") && e.contains("rerun the client with --json"),
        "{e}"
    );
    assert!(e.contains("--timeline"), "{e}");
    assert!(!Path::new(out).exists(), "nothing written on failure");
}

#[test]
fn bad_usage_exits_2() {
    let fx = fixture();
    let fx = fx.to_str().unwrap();
    let o = plot(&[fx, "-o", temp("report.png").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--output") && stderr(&o).contains("FILE.svg or FILE.html"),
        "{}",
        stderr(&o)
    );
    let o = plot(&[fx]);
    assert_eq!(o.status.code(), Some(2), "-o is required");
    let o = plot(&[fx, "-o", temp("x.svg").to_str().unwrap(), "--stream", "one"]);
    assert_eq!(o.status.code(), Some(2));
}

/// The report in the README, from a real run (docs/report-example.json:
/// a client through `mediastream relay` with 1% loss): rendering it again
/// gives one marker per dropped frame of the run and the run's numbers.
#[test]
fn the_recorded_run_in_docs_renders_with_its_own_numbers() {
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/report-example.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&input).unwrap()).unwrap();
    let stream = &doc["streams"][0];
    let dropped = stream["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["outcome"] == "dropped")
        .count();
    assert!(dropped > 0, "the recorded run lost frames");
    let out = temp("recorded.svg");
    let o = plot(&[input.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    let svg = roxmltree::Document::parse(&text).expect("well-formed XML");
    let markers = svg
        .descendants()
        .filter(|n| n.has_tag_name("polygon") && n.attribute("fill") == Some(DROPPED_MARKER))
        .count();
    assert_eq!(markers, dropped);
    let headline = format!(
        "completed {} \u{b7} dropped {}",
        stream["frames_completed"], stream["frames_dropped"]
    );
    let texts = texts(&svg);
    assert!(
        texts.iter().any(|t| t.contains(&headline)),
        "{headline}: {texts:?}"
    );
    assert!(
        texts.iter().any(|t| t == "one-way delay, ms"),
        "same-host basis labelled"
    );
}
