//! SLA checks and verdicts over a finished run's JSON document:
//! `--expect EXPR` ([`expect`]), and per stream the ITU-T Y.1541 class
//! ([`y1541`]), the G.107 E-model ([`emodel`], voice-like streams or
//! `--emodel CODEC`) and the W3C webrtc-stats freezes ([`freeze`]).
//! Formulas, bounds and clauses: docs/metrics.md.

pub mod emodel;
pub mod expect;
pub mod freeze;
pub mod verdict;
pub mod y1541;

use serde_json::{json, Value};

use crate::cmd::CliError;
use expect::{Expectation, Outcome};

/// The checks a run was asked for, parsed before any traffic.
#[derive(Debug, Clone, Default)]
pub struct Sla {
    pub expectations: Vec<Expectation>,
    /// `--emodel CODEC`: the E-model for every stream, with this codec.
    pub codec: Option<emodel::Codec>,
}

impl Sla {
    /// Parses `--expect` and `--emodel`; a bad one is a usage error
    /// (exit 2) naming it.
    pub fn check(expect: &[String], emodel_codec: Option<&str>) -> Result<Self, CliError> {
        let expectations = expect
            .iter()
            .map(|e| expect::parse(e).map_err(|bad| CliError::Usage(bad.to_string())))
            .collect::<Result<_, _>>()?;
        let codec = emodel_codec
            .map(emodel::codec)
            .transpose()
            .map_err(CliError::Usage)?;
        Ok(Sla {
            expectations,
            codec,
        })
    }

    /// Adds `verdicts` to every stream and `expectations` to the document;
    /// the text lines to print, and whether every expectation was met.
    pub fn apply(&self, doc: &mut Value) -> (Vec<String>, bool) {
        let mut lines = Vec::new();
        if let Some(streams) = doc.get_mut("streams").and_then(Value::as_array_mut) {
            for (i, s) in streams.iter_mut().enumerate() {
                let v = verdict::verdicts(s, self.codec);
                lines.extend(verdict_lines(i, &v));
                if let Some(object) = s.as_object_mut() {
                    object.insert("verdicts".into(), v);
                }
            }
        }
        let mut all_met = true;
        let mut results = Vec::new();
        for e in &self.expectations {
            let outcome = e.evaluate(doc);
            all_met &= outcome.met;
            lines.push(expectation_line(e, &outcome, doc));
            results.push(expectation_json(e, &outcome));
        }
        if let Some(object) = doc.as_object_mut() {
            object.insert("expectations".into(), Value::Array(results));
        }
        (lines, all_met)
    }
}

impl Sla {
    /// [`Sla::apply`] to a run's document, its lines printed: verdicts and
    /// met expectations with the other text (not in ctsTraffic's console
    /// below level 6), every expectation not met on stderr. The document
    /// as a value to write, and whether every expectation was met.
    pub fn judge(
        &self,
        doc: &impl serde::Serialize,
        text: &mut crate::report::text::Text,
    ) -> Result<(Value, bool), CliError> {
        let mut doc = serde_json::to_value(doc).map_err(|e| CliError::Runtime(e.to_string()))?;
        let (lines, met) = self.apply(&mut doc);
        for line in lines {
            if line.starts_with("expect ") && !line.contains(": met (") {
                text.warn(&line);
            } else {
                text.line(&line);
            }
        }
        Ok((doc, met))
    }
}

fn expectation_json(e: &Expectation, o: &Outcome) -> Value {
    let outcome = match (o.met, o.measured.is_empty()) {
        (true, _) => "met",
        (false, true) => "not_measured",
        (false, false) => "violated",
    };
    let measured: Vec<Value> = o
        .measured
        .iter()
        .map(|m| json!({"stream": m.stream, "value": e.in_unit(m.value), "met": m.met}))
        .collect();
    json!({
        "expression": e.text,
        "outcome": outcome,
        "met": o.met,
        "unit": e.unit.as_ref().map(|u| u.name.clone()),
        "measured": measured,
    })
}

/// Which stream, for a text line: its index, role and peer.
fn stream_name(doc: &Value, i: usize) -> String {
    let s = &doc["streams"][i];
    format!(
        "stream {i} ({} {})",
        s["role"].as_str().unwrap_or("?"),
        s["remote"].as_str().unwrap_or("?")
    )
}

fn expectation_line(e: &Expectation, o: &Outcome, doc: &Value) -> String {
    let shown = |m: &expect::Measured| match m.stream {
        Some(i) => format!("{}: {}", stream_name(doc, i), e.shown(m.value)),
        None => e.shown(m.value),
    };
    if o.measured.is_empty() {
        return format!(
            "expect {}: NOT MET: no stream measured {}",
            e.text, e.metric
        );
    }
    if o.met {
        let values: Vec<String> = o.measured.iter().map(shown).collect();
        return format!("expect {}: met ({})", e.text, values.join("; "));
    }
    let failed: Vec<String> = o.measured.iter().filter(|m| !m.met).map(shown).collect();
    format!("expect {}: VIOLATED: {}", e.text, failed.join("; "))
}

/// The verdict lines of stream `i`.
fn verdict_lines(i: usize, v: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    let y = &v["y1541"];
    if y.is_object() {
        let best = y["best_class"]
            .as_u64()
            .map_or("none".to_owned(), |c| format!("class {c}"));
        let next = match y["next_missed"].as_object() {
            Some(n) => format!(
                "; misses class {}: {}",
                n["class"],
                n["why"].as_str().unwrap_or_default()
            ),
            None => String::new(),
        };
        lines.push(format!("stream {i}: ITU-T Y.1541: {best}{next}"));
    }
    let e = &v["emodel"];
    if let Some(r) = e["r"].as_f64() {
        lines.push(format!(
            "stream {i}: ITU-T G.107 E-model estimate: R {:.1}, MOS {:.2} ({}, Ppl {:.2}%, BurstR {:.2}, Ta {:.1} ms: {})",
            r,
            e["mos"].as_f64().unwrap_or_default(),
            e["codec"].as_str().unwrap_or_default(),
            e["ppl_percent"].as_f64().unwrap_or_default(),
            e["burst_r"].as_f64().unwrap_or_default(),
            e["ta_ms"].as_f64().unwrap_or_default(),
            e["ta_from"].as_str().unwrap_or_default(),
        ));
    }
    let f = &v["webrtc_freeze"];
    if let Some(n) = f["freezes"].as_u64() {
        lines.push(format!(
            "stream {i}: W3C webrtc-stats freezes: {n} ({} ms); ours: {} ({} ms)",
            expect::number(f["freeze_ms_total"].as_f64().unwrap_or_default()),
            f["ours"]["freezes"],
            expect::number(f["ours"]["freeze_ms_total"].as_f64().unwrap_or_default()),
        ));
    }
    lines
}
