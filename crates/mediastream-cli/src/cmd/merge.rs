//! `mediastream merge`: result documents written by `--json` (one per
//! client, host or pod) into one document of the same schema.
//!
//! Streams are kept as JSON objects, so every key of every input stream
//! survives, including keys this build does not know (newer optional
//! keys); `totals` is recomputed from them by [`json::totals_of`], the
//! code that computes it for a run.

use std::io::Write;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{CliError, Exit};
use crate::args::MergeArgs;
use crate::report::json::{self, Counts, Document, SCHEMA};

/// What merge reads of an input's top level besides `schema`; `tool`,
/// `version`, `command` and `totals` are not needed (totals are
/// recomputed).
#[derive(Deserialize)]
struct Input {
    interrupted: bool,
    streams: Vec<Map<String, Value>>,
}

/// Merges documents given as (name, text) pairs, in order. Each stream
/// gains `source`: its document's name (a stream that already has one,
/// from an earlier merge, keeps it). Errors name the input.
pub fn merge(inputs: &[(String, String)]) -> Result<Document<'static, Value>, String> {
    let mut streams = Vec::new();
    let mut counts = Vec::new();
    let mut interrupted = false;
    for (name, text) in inputs {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("{name}: not JSON: {e}"))?;
        let schema = match value.get("schema") {
            Some(s) => s,
            None if value.is_object() => {
                return Err(format!(
                    "{name}: not a mediastream result document: no \"schema\" key"
                ))
            }
            None => {
                return Err(format!(
                    "{name}: not a mediastream result document: not a JSON object"
                ))
            }
        };
        if schema.as_u64() != Some(u64::from(SCHEMA)) {
            return Err(format!(
                "{name}: schema {schema} is not supported: this build reads schema {SCHEMA}"
            ));
        }
        let input = Input::deserialize(&value)
            .map_err(|e| format!("{name}: not a mediastream result document: {e}"))?;
        interrupted |= input.interrupted;
        for (i, mut stream) in input.streams.into_iter().enumerate() {
            stream
                .entry("source")
                .or_insert_with(|| Value::String(name.clone()));
            let stream = Value::Object(stream);
            counts.push(
                Counts::deserialize(&stream).map_err(|e| format!("{name}: streams[{i}]: {e}"))?,
            );
            streams.push(stream);
        }
    }
    Ok(Document {
        schema: SCHEMA,
        tool: "mediastream",
        version: env!("CARGO_PKG_VERSION"),
        command: "merge",
        interrupted,
        totals: json::totals_of(&counts),
        streams,
        server: None,
    })
}

/// True when `output` names the same file as `input`.
fn same_file(output: &str, input: &str) -> bool {
    if output == input {
        return true;
    }
    match (
        Path::new(output).canonicalize(),
        Path::new(input).canonicalize(),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

pub fn run(args: MergeArgs) -> Result<Exit, CliError> {
    if args.inputs.is_empty() {
        return Err(CliError::Usage(
            "merge needs one or more documents written by --json: mediastream merge A.json B.json -o all.json".into(),
        ));
    }
    if args.output != "-" {
        if let Some(input) = args.inputs.iter().find(|i| same_file(&args.output, i)) {
            return Err(CliError::Usage(format!(
                "--output {} is also an input ({input}): write the merged document elsewhere",
                args.output
            )));
        }
    }
    json::check("--output", &args.output)?;
    let mut inputs = Vec::with_capacity(args.inputs.len());
    for name in &args.inputs {
        let text = std::fs::read_to_string(name)
            .map_err(|e| CliError::Runtime(format!("{name}: cannot read: {e}")))?;
        inputs.push((name.clone(), text));
    }
    let doc = merge(&inputs).map_err(CliError::Runtime)?;
    json::write_as("--output", &args.output, &doc)?;
    if args.output != "-" {
        let _ = writeln!(
            std::io::stdout(),
            "mediastream merge: {} stream(s) from {} document(s) -> {}",
            doc.streams.len(),
            inputs.len(),
            args.output
        );
    }
    Ok(Exit::Success)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stream(remote: &str, completed: u64, view: &str, jitter: f64) -> Value {
        json!({
            "role": "receiver",
            "remote": remote,
            "status": "completed",
            "error_kind": null,
            "view": view,
            "frames_completed": completed,
            "frames_dropped": 1,
            "frames_repeated": 2,
            "frames_error": 3,
            "bytes_received": completed * 1000,
            "datagrams_received": completed,
            "jitter_ms": jitter,
            "bytes_sent": 7,
            "datagrams_sent": 5,
        })
    }

    fn doc(streams: Vec<Value>, interrupted: bool) -> String {
        let counts: Vec<Counts> = streams
            .iter()
            .map(|s| Counts::deserialize(s).unwrap())
            .collect();
        json!({
            "schema": 1,
            "tool": "mediastream",
            "version": "0.0.0",
            "command": "client",
            "interrupted": interrupted,
            "streams": streams,
            "totals": json::totals_of(&counts),
        })
        .to_string()
    }

    fn totals(text: &str) -> Value {
        serde_json::from_str::<Value>(text).unwrap()["totals"].clone()
    }

    #[test]
    fn totals_are_the_sums_of_the_parts() {
        let mut failed = stream("10.0.0.2:4444", 10, "own", 0.5);
        failed["status"] = json!("failed");
        failed["error_kind"] = json!("network");
        let a = doc(
            vec![
                stream("10.0.0.1:4444", 100, "own", 1.0),
                stream("10.0.0.1:4444", 50, "peer", 3.0),
            ],
            false,
        );
        let b = doc(vec![failed, stream("10.0.0.3:4444", 0, "none", 9.0)], true);
        let merged = merge(&[("a.json".into(), a.clone()), ("b.json".into(), b.clone())]).unwrap();
        let out = serde_json::to_value(&merged).unwrap();
        assert_eq!(out["command"], "merge");
        assert_eq!(out["schema"], 1);
        assert_eq!(out["interrupted"], true, "b was interrupted");
        let streams = out["streams"].as_array().unwrap();
        assert_eq!(streams.len(), 4);
        let sources: Vec<&str> = streams
            .iter()
            .map(|s| s["source"].as_str().unwrap())
            .collect();
        assert_eq!(sources, ["a.json", "a.json", "b.json", "b.json"]);
        assert_eq!(streams[2]["remote"], "10.0.0.2:4444", "input order kept");
        let (ta, tb, t) = (totals(&a), totals(&b), &out["totals"]);
        for key in [
            "streams",
            "succeeded",
            "network_errors",
            "protocol_errors",
            "frames_completed",
            "frames_dropped",
            "frames_repeated",
            "frames_error",
            "bytes_received",
            "datagrams_received",
            "bytes_sent",
            "datagrams_sent",
        ] {
            assert_eq!(
                t[key].as_u64().unwrap(),
                ta[key].as_u64().unwrap() + tb[key].as_u64().unwrap(),
                "{key}"
            );
        }
        assert_eq!(t["streams"], 4);
        assert_eq!(t["succeeded"], 3);
        assert_eq!(t["network_errors"], 1);
        assert_eq!(t["frames_completed"], 160);
        // Jitter over streams with a known view that got data: 1, 3, 0.5.
        assert_eq!(t["jitter_ms_max"], 3.0);
        assert!((t["jitter_ms"].as_f64().unwrap() - 1.5).abs() < 1e-12);
    }

    #[test]
    fn unknown_keys_are_kept() {
        let mut s = stream("10.0.0.1:4444", 100, "own", 1.0);
        s["metrics"] = json!({"future": [1, 2, 3]});
        s["timeline"] = json!([{"t": 1.0, "bits_per_second": 8e6}]);
        let mut text: Value = serde_json::from_str(&doc(vec![s.clone()], false)).unwrap();
        text["new_top_level_key"] = json!(true);
        let merged = merge(&[("x.json".into(), text.to_string())]).unwrap();
        let out = &merged.streams[0];
        for (key, value) in s.as_object().unwrap() {
            assert_eq!(&out[key], value, "{key}");
        }
        assert_eq!(out["source"], "x.json");
        // Key order kept, `source` last; floats exactly as written.
        let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
        let mut expected: Vec<&String> = s.as_object().unwrap().keys().collect();
        let source = "source".to_owned();
        expected.push(&source);
        assert_eq!(keys, expected);
        let exact = r#"{"schema": 1, "interrupted": false, "streams": [{"error_kind": null, "view": "own", "frames_completed": 1, "frames_dropped": 0, "frames_repeated": 0, "frames_error": 0, "bytes_received": 1, "datagrams_received": 1, "jitter_ms": 0.0009502700634824739, "bytes_sent": 0, "datagrams_sent": 0, "duration_secs": 3.9807039939999997}]}"#;
        let merged_exact = merge(&[("e.json".into(), exact.into())]).unwrap();
        let text = serde_json::to_string(&merged_exact).unwrap();
        assert!(text.contains("3.9807039939999997"), "{text}");
        assert!(text.contains("0.0009502700634824739"), "{text}");
        // Merging a merged document keeps the first source.
        let again = serde_json::to_string(&merged).unwrap();
        let twice = merge(&[("all.json".into(), again)]).unwrap();
        assert_eq!(twice.streams[0]["source"], "x.json");
        assert_eq!(twice.totals, merged.totals);
    }

    #[test]
    fn bad_inputs_are_refused_naming_the_file() {
        let good = doc(vec![stream("10.0.0.1:4444", 1, "own", 0.0)], false);
        let mut v2: Value = serde_json::from_str(&good).unwrap();
        v2["schema"] = json!(2);
        let mut no_counts: Value = serde_json::from_str(&good).unwrap();
        no_counts["streams"][0]
            .as_object_mut()
            .unwrap()
            .remove("frames_completed");
        let cases = [
            ("v2.json", v2.to_string(), "schema 2 is not supported"),
            ("text.json", "hello".to_owned(), "not JSON"),
            ("array.json", "[1]".to_owned(), "not a JSON object"),
            ("other.json", r#"{"a": 1}"#.to_owned(), "no \"schema\""),
            (
                "nostreams.json",
                r#"{"schema": 1, "interrupted": false}"#.to_owned(),
                "streams",
            ),
            ("short.json", no_counts.to_string(), "streams[0]"),
        ];
        for (name, text, why) in cases {
            let err = merge(&[("ok.json".into(), good.clone()), (name.into(), text)])
                .err()
                .unwrap_or_else(|| panic!("{name} accepted"));
            assert!(err.starts_with(name), "{err}");
            assert!(err.contains(why), "{name}: {err}");
        }
    }

    #[test]
    fn a_run_and_its_merge_agree() {
        // One document merged alone: the same totals it was written with.
        let a = doc(
            vec![
                stream("10.0.0.1:4444", 100, "own", 1.0),
                stream("10.0.0.1:4444", 0, "none", 0.0),
            ],
            false,
        );
        let merged = merge(&[("a.json".into(), a.clone())]).unwrap();
        assert_eq!(serde_json::to_value(&merged.totals).unwrap(), totals(&a));
    }
}
