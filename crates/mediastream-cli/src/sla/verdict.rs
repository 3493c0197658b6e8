//! A stream's verdicts (`streams[].verdicts`): Y.1541 class, E-model R
//! and MOS, W3C freezes, each from the stream's own JSON object, labelled
//! with its source and the values it used (docs/metrics.md).

use serde_json::{json, Value};

use super::emodel::{self, Codec};
use super::freeze;
use super::y1541;

pub const Y1541_SOURCE: &str = "ITU-T Y.1541 (12/2011) clause 5.3, Table 1";
pub const EMODEL_SOURCE: &str = "ITU-T G.107 (06/2015) clauses 7.1-7.7, Annex B (MOS)";
pub const FREEZE_SOURCE: &str =
    "W3C webrtc-stats, RTCInboundRtpStreamStats.freezeCount / totalFreezesDuration";

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_f64()
}

/// Where a delay came from, and its value, ms.
struct Delay {
    ms: Option<f64>,
    from: &'static str,
}

/// What Y.1541 and the E-model are computed from: the receiving end's
/// metrics, or (a v1 sender) the receiver's report and the RTT.
struct Basis {
    y: y1541::Measured,
    delay: Delay,
    /// Datagram loss, fraction.
    loss: Option<f64>,
    /// Datagrams the ratios are over: a ratio bound below 1 / this is
    /// not resolved by the run.
    datagrams: Option<f64>,
}

fn receiving(s: &Value, m: &Value) -> Basis {
    let same_host = m.get("delay_basis").and_then(Value::as_str) == Some("same_host");
    let delay = if same_host {
        Delay {
            ms: num(m, &["datagram_delay_ms", "mean"]),
            from: "mean one-way delay of every datagram (both ends on this host's clock)",
        }
    } else {
        Delay {
            ms: None,
            from: "not measured: two hosts' clocks give relative delays only",
        }
    };
    let expected = num(m, &["datagrams", "expected"]).unwrap_or(0.0);
    let loss = (expected > 0.0)
        .then(|| num(m, &["datagrams", "lost"]).map(|l| l / expected))
        .flatten();
    let received = num(s, &["datagrams_received"]).unwrap_or(0.0);
    let iper = (received > 0.0)
        .then(|| num(s, &["datagrams_corrupt"]).map(|c| c / received))
        .flatten();
    Basis {
        y: y1541::Measured {
            iptd_ms: delay.ms,
            ipdv_ms: num(m, &["pdv_ms", "p999"]),
            iplr: loss,
            iper,
        },
        delay,
        loss,
        datagrams: Some(expected),
    }
}

fn sending(s: &Value) -> Option<Basis> {
    let report = s.get("peer")?.get("report").filter(|r| r.is_object())?;
    let sent = num(s, &["datagrams_sent"]).filter(|&n| n > 0.0)?;
    let received = num(report, &["datagrams_received"]).unwrap_or(0.0);
    let loss = Some((1.0 - received / sent).max(0.0));
    let delay = Delay {
        ms: num(s, &["rtt_ms", "mean"]).map(|rtt| rtt / 2.0),
        from: "half the mean RTT (assumes a symmetric path; this end sent)",
    };
    Some(Basis {
        y: y1541::Measured {
            iptd_ms: delay.ms,
            ipdv_ms: None,
            iplr: loss,
            iper: (received > 0.0)
                .then(|| num(report, &["datagrams_corrupt"]).map(|c| c / received))
                .flatten(),
        },
        delay,
        loss,
        datagrams: Some(sent),
    })
}

/// A stream that looks like voice: one datagram per frame, 10 to 60 ms
/// apart, at most 256 kbit/s.
pub fn voice_like(s: &Value) -> bool {
    let set = |k| num(s, &["settings", k]).unwrap_or(0.0);
    set("frame_size") <= set("datagram_size")
        && (50.0 / 3.0..=100.0).contains(&set("frame_rate"))
        && set("bits_per_second") <= 256_000.0
}

fn y1541_json(b: &Basis) -> Value {
    let v = y1541::classify(&b.y);
    let next = v
        .best_class
        .and_then(|best| missed_next(&v, best))
        .map(|o| json!({"class": o.class, "why": y1541::why(o)}));
    json!({
        "source": Y1541_SOURCE,
        "measured": {
            "iptd_ms": b.y.iptd_ms, "iptd_from": b.delay.from,
            "ipdv_ms": b.y.ipdv_ms, "ipdv_from": "p99.9 of delay minus the minimum delay (pdv_ms.p999)",
            "iplr": b.y.iplr, "iper": b.y.iper,
            "datagrams": b.datagrams,
        },
        "best_class": v.best_class,
        "next_missed": next,
        "classes": v.classes,
    })
}

/// The class just stricter than `best` in Y.1541's usual reading (5 -> 4
/// -> 3/2 -> 1/0 -> 7/6): the first of those it missed.
fn missed_next(v: &y1541::Verdict, best: u8) -> Option<&y1541::ClassOutcome> {
    let stricter: &[u8] = match best {
        5 => &[4],
        4 => &[3],
        3 => &[2, 1],
        2 => &[0],
        1 => &[0, 7],
        0 => &[6],
        7 => &[6],
        _ => &[],
    };
    stricter
        .iter()
        .find_map(|c| v.classes.iter().find(|o| o.class == *c && !o.met))
}

/// Ppl and BurstR: playout loss of single-datagram frames from the
/// timeline when there is one, else datagram loss as random.
fn loss_pattern(s: &Value, b: &Basis) -> (Option<f64>, f64, &'static str) {
    let one_datagram =
        num(s, &["settings", "frame_size"]) <= num(s, &["settings", "datagram_size"]);
    let timeline = s.get("timeline").and_then(Value::as_array);
    if let (true, Some(frames)) = (one_datagram, timeline) {
        let lost: Vec<bool> = frames
            .iter()
            .map(|f| !matches!(f["outcome"].as_str(), Some("completed" | "repeated")))
            .collect();
        let n = lost.len() as f64;
        let losses = lost.iter().filter(|&&l| l).count() as f64;
        let runs = lost.windows(2).filter(|w| w[1] && !w[0]).count()
            + usize::from(lost.first() == Some(&true));
        if n > 0.0 {
            let p = losses / n;
            let burst_r = if runs > 0 && p < 1.0 {
                (losses / runs as f64) * (1.0 - p)
            } else {
                1.0
            };
            let from = "frames not rendered at their tick (lost or late), from the timeline; \
                        BurstR = mean loss run x (1 - Ppl)";
            return (Some(p * 100.0), burst_r, from);
        }
    }
    let from = "datagram loss; BurstR 1 assumed (random loss: no per-frame timeline of \
                single-datagram frames)";
    (b.loss.map(|l| l * 100.0), 1.0, from)
}

fn emodel_json(s: &Value, b: &Basis, codec: Codec) -> Value {
    let (ppl, burst_r, loss_from) = loss_pattern(s, b);
    let Some(ppl) = ppl else {
        return json!({"source": EMODEL_SOURCE, "estimate": true, "r": null, "mos": null,
                      "why": "no loss measured"});
    };
    let (ta, ta_from) = match b.delay.ms {
        Some(ms) => (ms, b.delay.from),
        None => (0.0, "not measured: Ta 0 assumed, so R is an upper bound"),
    };
    let inputs = emodel::Inputs {
        ta_ms: ta,
        ppl_percent: ppl,
        burst_r,
        codec,
    };
    let r = emodel::r_factor(&inputs);
    json!({
        "source": EMODEL_SOURCE,
        "estimate": true,
        "codec": codec.name, "ie": codec.ie, "bpl": codec.bpl, "codec_source": codec.source,
        "ppl_percent": ppl, "burst_r": burst_r, "loss_from": loss_from,
        "ta_ms": ta, "ta_from": ta_from,
        "delays_not_included": "codec, packetization and jitter-buffer delay",
        "other_parameters": "G.107 clause 7.7 defaults; T = Ta, Tr = 2 Ta",
        "r": r,
        "mos": emodel::mos(r),
    })
}

fn freeze_json(s: &Value, m: &Value) -> Value {
    let ours = json!({
        "freezes": m["playout"]["freezes"],
        "freeze_ms_total": m["playout"]["freeze_ms_total"],
    });
    let Some(frames) = s.get("timeline").and_then(Value::as_array) else {
        return json!({"source": FREEZE_SOURCE, "freezes": null, "freeze_ms_total": null,
                      "why": "no per-frame timeline kept", "ours": ours});
    };
    let rendered = frames
        .iter()
        .filter(|f| matches!(f["outcome"].as_str(), Some("completed" | "repeated")))
        .filter_map(|f| f["due_ms"].as_f64());
    let f = freeze::freezes(rendered);
    json!({
        "source": FREEZE_SOURCE,
        "freezes": f.count,
        "freeze_ms_total": f.total_ms,
        "ours": ours,
    })
}

/// The `verdicts` object of a stream object; null when this end knows
/// nothing of how the stream arrived. The E-model is computed for
/// voice-like streams (G.711) or with `codec` for every stream.
pub fn verdicts(s: &Value, codec: Option<Codec>) -> Value {
    let metrics = s.get("metrics").filter(|m| m.is_object());
    let basis = match metrics {
        Some(m) => Some(receiving(s, m)),
        None => sending(s),
    };
    let Some(b) = basis else { return Value::Null };
    let codec = codec.or_else(|| voice_like(s).then_some(emodel::G711));
    json!({
        "y1541": y1541_json(&b),
        "emodel": codec.map(|c| emodel_json(s, &b, c)),
        "webrtc_freeze": metrics.map(|m| freeze_json(s, m)),
    })
}
