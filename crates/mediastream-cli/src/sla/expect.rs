//! `--expect EXPR`: an expectation over the metrics of the JSON document,
//! parsed before any traffic and evaluated over the finished document.
//!
//! Grammar (docs/metrics.md, "SLA checks"):
//!
//! ```text
//! EXPR   := TARGET OP NUMBER [UNIT]
//! TARGET := METRIC                      every stream that measured it
//!         | AGG "(" METRIC ")"          AGG: max, min, mean, sum over those streams
//!         | "totals." KEY               the document's totals object
//! METRIC := a short name (loss, frame_delay_p99, ...) or a dotted JSON
//!           path in a stream object (metrics.datagrams.lost)
//! OP     := < <= > >= == !=
//! UNIT   := % | us | ms | s | bit/s | kbit/s | Mbit/s | Gbit/s
//! ```
//!
//! Counts take no unit; ratios, times and rates must have one.

use std::fmt;

use serde_json::Value;

/// What a metric measures, and how its JSON number is stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A plain number: no unit.
    Count,
    /// A ratio; the JSON number is a fraction (0-1).
    Fraction,
    /// A ratio; the JSON number is in percent.
    Percent,
    /// A time; the JSON number is in this many seconds per unit.
    Time(f64),
    /// Bits per second.
    Rate,
}

impl Kind {
    /// The canonical value (fraction, seconds, bit/s) of a JSON number.
    fn canonical(self, json: f64) -> f64 {
        match self {
            Kind::Count | Kind::Fraction | Kind::Rate => json,
            Kind::Percent => json / 100.0,
            Kind::Time(scale) => json * scale,
        }
    }

    fn dimension(self) -> &'static str {
        match self {
            Kind::Count => "a count",
            Kind::Fraction | Kind::Percent => "a ratio",
            Kind::Time(_) => "a time",
            Kind::Rate => "a rate",
        }
    }

    fn example(self) -> &'static str {
        match self {
            Kind::Count => "",
            Kind::Fraction | Kind::Percent => "%, e.g. 0.1%",
            Kind::Time(_) => "us, ms or s, e.g. 50ms",
            Kind::Rate => "bit/s, kbit/s, Mbit/s or Gbit/s, e.g. 8Mbit/s",
        }
    }
}

/// A unit as written, and what one of it is in canonical terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub name: String,
    scale: f64,
    ratio: bool,
    time: bool,
}

const UNITS: [(&str, f64, bool, bool); 12] = [
    ("%", 0.01, true, false),
    ("us", 1e-6, false, true),
    ("µs", 1e-6, false, true),
    ("ms", 1e-3, false, true),
    ("s", 1.0, false, true),
    ("bit/s", 1.0, false, false),
    ("kbit/s", 1e3, false, false),
    ("Mbit/s", 1e6, false, false),
    ("Gbit/s", 1e9, false, false),
    ("kbps", 1e3, false, false),
    ("Mbps", 1e6, false, false),
    ("Gbps", 1e9, false, false),
];

fn unit(text: &str) -> Option<Unit> {
    UNITS
        .iter()
        .find(|u| u.0 == text)
        .map(|&(name, scale, ratio, time)| Unit {
            name: name.to_owned(),
            scale,
            ratio,
            time,
        })
}

/// The comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    const ALL: [(&'static str, Op); 6] = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];

    /// Whether `measured OP bound` holds; == and != within a relative
    /// 1e-9, so a ratio written as 0.1% matches 0.001.
    pub fn holds(self, measured: f64, bound: f64) -> bool {
        let same = (measured - bound).abs() <= 1e-9 * bound.abs().max(measured.abs());
        match self {
            Op::Lt => measured < bound,
            Op::Le => measured <= bound || same,
            Op::Gt => measured > bound,
            Op::Ge => measured >= bound || same,
            Op::Eq => same,
            Op::Ne => !same,
        }
    }
}

/// Over which streams, or the totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every stream that measured the metric must meet it.
    Each,
    Max,
    Min,
    Mean,
    Sum,
    /// `totals.KEY`.
    Totals,
}

/// A parsed `--expect`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// As the user wrote it.
    pub text: String,
    pub scope: Scope,
    /// The metric's name as written (without `max(`).
    pub metric: String,
    /// Where it is in a stream object (or in `totals`).
    pub path: Vec<String>,
    pub kind: Kind,
    pub op: Op,
    /// The bound, canonical (fraction, seconds, bit/s).
    pub bound: f64,
    pub unit: Option<Unit>,
}

/// Why an expression was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadExpression {
    pub text: String,
    pub reason: String,
}

impl fmt::Display for BadExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--expect '{}': {}", self.text, self.reason)
    }
}

/// The short names: name, path in a stream object.
pub const NAMES: &[(&str, &str)] = &[
    ("loss", "metrics.datagrams.loss_percent"),
    ("lost", "metrics.datagrams.lost"),
    ("duplicates", "metrics.datagrams.duplicates"),
    ("reordered", "metrics.datagrams.reordered"),
    ("late_datagrams", "metrics.datagrams.late"),
    ("frames_completed", "frames_completed"),
    ("frames_dropped", "frames_dropped"),
    ("frames_repeated", "frames_repeated"),
    ("frames_error", "frames_error"),
    ("frames_skipped", "frames_skipped"),
    ("datagrams_unsent", "datagrams_unsent"),
    ("datagrams_corrupt", "datagrams_corrupt"),
    ("datagrams_malformed", "datagrams_malformed"),
    ("timestamps_implausible", "timestamps_implausible"),
    ("jitter", "jitter_ms"),
    ("bits_per_second", "bits_per_second"),
    ("goodput", "metrics.goodput_bps"),
    ("packets_per_second", "metrics.packets_per_second"),
    ("freezes", "metrics.playout.freezes"),
    ("freeze_total", "metrics.playout.freeze_ms_total"),
    ("freeze_longest", "metrics.playout.freeze_ms_longest"),
    ("late_frames", "metrics.playout.late_frames"),
    ("bursts", "metrics.loss_runs.bursts"),
    ("burst_density", "metrics.loss_runs.burst_density"),
    ("gap_density", "metrics.loss_runs.gap_density"),
    ("longest_loss_run", "metrics.loss_runs.longest_loss_run"),
    ("duration", "duration_secs"),
    ("r_factor", "verdicts.emodel.r"),
    ("mos", "verdicts.emodel.mos"),
    ("webrtc_freezes", "verdicts.webrtc_freeze.freezes"),
    (
        "webrtc_freeze_total",
        "verdicts.webrtc_freeze.freeze_ms_total",
    ),
];

/// Families of short names: prefix, object path, statistics.
const FAMILIES: &[(&str, &str, &[&str])] = &[
    (
        "frame_delay_first_",
        "metrics.frame_delay_ms.first",
        &PCT_STATS,
    ),
    ("frame_delay_", "metrics.frame_delay_ms.last", &PCT_STATS),
    ("datagram_delay_", "metrics.datagram_delay_ms", &PCT_STATS),
    ("pdv_", "metrics.pdv_ms", &PCT_STATS),
    ("ipdv_", "metrics.ipdv_ms", &PCT_STATS),
    ("rtt_", "rtt_ms", &["min", "mean", "max"]),
    (
        "lateness_",
        "lateness_us",
        &["p50", "p99", "max", "steady_max"],
    ),
];

const PCT_STATS: [&str; 7] = ["min", "mean", "p50", "p90", "p99", "p999", "max"];

/// Top-level keys of a stream object a dotted path may start with.
const STREAM_KEYS: &[&str] = &[
    "settings",
    "duration_secs",
    "frames_completed",
    "frames_dropped",
    "frames_repeated",
    "frames_error",
    "bytes_received",
    "datagrams_received",
    "jitter_ms",
    "bits_per_second",
    "datagrams_corrupt",
    "datagrams_malformed",
    "timestamps_implausible",
    "frames_sent",
    "datagrams_sent",
    "bytes_sent",
    "frames_skipped",
    "datagrams_unsent",
    "lateness_us",
    "rtt_ms",
    "peer",
    "metrics",
    "verdicts",
];

/// Every accepted short name, for error messages.
pub fn accepted_names() -> String {
    let mut names: Vec<String> = NAMES.iter().map(|(n, _)| (*n).to_owned()).collect();
    for (prefix, _, stats) in FAMILIES {
        names.push(format!("{prefix}{{{}}}", stats.join(",")));
    }
    format!(
        "{}; or a dotted path in a stream object of the JSON (metrics.datagrams.lost, \
         settings.frame_rate), or totals.KEY; max(...), min(...), mean(...), sum(...) over streams",
        names.join(", ")
    )
}

/// The path of a short name or dotted path.
fn resolve(metric: &str) -> Option<String> {
    if let Some((_, path)) = NAMES.iter().find(|(n, _)| *n == metric) {
        return Some((*path).to_owned());
    }
    for (prefix, object, stats) in FAMILIES {
        if let Some(stat) = metric.strip_prefix(prefix) {
            if stats.contains(&stat) {
                return Some(format!("{object}.{stat}"));
            }
        }
    }
    let first = metric.split('.').next().unwrap_or_default();
    let dotted = metric.contains('.')
        && metric
            .split('.')
            .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    (STREAM_KEYS.contains(&first) && (dotted || !metric.contains('.'))).then(|| metric.to_owned())
}

/// What the JSON number at `path` measures, from the key names' suffixes
/// (`_ms`, `_us`, `_secs`, `_percent`, `_bps`, `density`).
pub fn kind_of(path: &str) -> Kind {
    let mut kind = Kind::Count;
    for seg in path.split('.') {
        kind = if seg.ends_with("_ms")
            || seg.starts_with("freeze_ms")
            || seg.starts_with("burst_ms")
            || seg.starts_with("gap_ms")
        {
            Kind::Time(1e-3)
        } else if seg.ends_with("_us") {
            Kind::Time(1e-6)
        } else if seg.ends_with("_secs") {
            Kind::Time(1.0)
        } else if seg.ends_with("percent") {
            Kind::Percent
        } else if seg.ends_with("_bps") || seg == "bits_per_second" {
            Kind::Rate
        } else if seg.ends_with("density") || seg == "iplr" || seg == "iper" {
            Kind::Fraction
        } else {
            continue;
        };
    }
    kind
}

/// Splits `text` at its comparison operator.
fn split_op(text: &str) -> Option<(&str, Op, &str)> {
    let (at, len, op) = text.char_indices().find_map(|(i, _)| {
        Op::ALL
            .iter()
            .find(|(s, _)| text[i..].starts_with(s))
            .map(|(s, op)| (i, s.len(), *op))
    })?;
    Some((text[..at].trim(), op, text[at + len..].trim()))
}

/// The target: scope and metric name.
fn target(lhs: &str) -> Result<(Scope, &str), String> {
    for (name, scope) in [
        ("max", Scope::Max),
        ("min", Scope::Min),
        ("mean", Scope::Mean),
        ("sum", Scope::Sum),
    ] {
        if let Some(rest) = lhs.strip_prefix(name).map(str::trim_start) {
            if let Some(inner) = rest.strip_prefix('(') {
                let inner = inner
                    .strip_suffix(')')
                    .ok_or_else(|| format!("{name}( has no closing )"))?;
                return Ok((scope, inner.trim()));
            }
        }
    }
    if let Some(key) = lhs.strip_prefix("totals.") {
        return Ok((Scope::Totals, key));
    }
    Ok((Scope::Each, lhs))
}

/// The number and unit on the right of the operator.
fn bound(rhs: &str) -> Result<(f64, Option<Unit>), String> {
    let split = rhs
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_digit()
                || c == '.'
                || ((c == '-' || c == '+') && (i == 0 || rhs[..i].ends_with(['e', 'E'])))
                || ((c == 'e' || c == 'E') && i > 0))
        })
        .map_or(rhs.len(), |(i, _)| i);
    let (number, unit_text) = (&rhs[..split], rhs[split..].trim());
    let value: f64 = number
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| format!("'{rhs}' is not a number with an optional unit"))?;
    if unit_text.is_empty() {
        return Ok((value, None));
    }
    let u = unit(unit_text).ok_or_else(|| {
        format!(
            "unknown unit '{unit_text}': accepted {}",
            UNITS.map(|u| u.0).join(", ")
        )
    })?;
    Ok((value, Some(u)))
}

/// The bound in canonical terms, checked against what the metric is.
fn canonical(metric: &str, kind: Kind, value: f64, unit: Option<&Unit>) -> Result<f64, String> {
    let fits = |u: &Unit| match kind {
        Kind::Count => false,
        Kind::Fraction | Kind::Percent => u.ratio,
        Kind::Time(_) => u.time,
        Kind::Rate => !u.ratio && !u.time,
    };
    match (kind, unit) {
        (Kind::Count, None) => Ok(value),
        (Kind::Count, Some(u)) => Err(format!(
            "{metric} is a count: write the number without a unit (not {})",
            u.name
        )),
        (_, None) => Err(format!(
            "{metric} is {}: give the number a unit: {}",
            kind.dimension(),
            kind.example()
        )),
        (_, Some(u)) if !fits(u) => Err(format!(
            "{metric} is {}: {} does not fit; use {}",
            kind.dimension(),
            u.name,
            kind.example()
        )),
        (_, Some(u)) => Ok(value * u.scale),
    }
}

/// Parses one `--expect` expression.
pub fn parse(text: &str) -> Result<Expectation, BadExpression> {
    let bad = |reason: String| BadExpression {
        text: text.to_owned(),
        reason,
    };
    let (lhs, op, rhs) = split_op(text).ok_or_else(|| {
        bad(
            "no comparison: write METRIC OP VALUE, OP one of < <= > >= == !=, e.g. 'loss < 0.1%'"
                .into(),
        )
    })?;
    let (scope, metric) = target(lhs).map_err(bad)?;
    if metric.is_empty() {
        return Err(bad("no metric before the comparison".into()));
    }
    let path = if scope == Scope::Totals {
        Some(format!("totals.{metric}"))
    } else {
        resolve(metric)
    };
    let path = path.ok_or_else(|| {
        bad(format!(
            "unknown metric '{metric}'; accepted: {}",
            accepted_names()
        ))
    })?;
    let kind = kind_of(&path);
    let (value, unit) = bound(rhs).map_err(bad)?;
    let bound = canonical(metric, kind, value, unit.as_ref()).map_err(bad)?;
    let mut path: Vec<String> = path.split('.').map(str::to_owned).collect();
    if scope == Scope::Totals {
        path.remove(0);
    }
    Ok(Expectation {
        text: text.trim().to_owned(),
        scope,
        metric: metric.to_owned(),
        path,
        kind,
        op,
        bound,
        unit,
    })
}

/// One measured value, canonical, and the stream it came from (none for
/// an aggregate or totals).
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub stream: Option<usize>,
    pub value: f64,
    pub met: bool,
}

/// How an expectation came out.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Every value met the bound, and at least one was measured.
    pub met: bool,
    pub measured: Vec<Measured>,
}

fn lookup<'a>(object: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(object, |v, key| v.get(key))
}

impl Expectation {
    /// The metric's canonical value in one stream object, when measured.
    fn value_in(&self, stream: &Value) -> Option<f64> {
        lookup(stream, &self.path)?
            .as_f64()
            .map(|v| self.kind.canonical(v))
    }

    /// Evaluates over a document (`streams` and `totals`). Nothing
    /// measured is not met.
    pub fn evaluate(&self, doc: &Value) -> Outcome {
        let streams: Vec<(usize, f64)> = doc
            .get("streams")
            .and_then(Value::as_array)
            .map(|s| {
                s.iter()
                    .enumerate()
                    .filter_map(|(i, v)| Some((i, self.value_in(v)?)))
                    .collect()
            })
            .unwrap_or_default();
        let one = |value: Option<f64>| match value {
            Some(value) => vec![Measured {
                stream: None,
                value,
                met: self.op.holds(value, self.bound),
            }],
            None => Vec::new(),
        };
        let values = || streams.iter().map(|&(_, v)| v);
        let n = streams.len() as f64;
        let measured = match self.scope {
            Scope::Each => streams
                .iter()
                .map(|&(i, value)| Measured {
                    stream: Some(i),
                    value,
                    met: self.op.holds(value, self.bound),
                })
                .collect(),
            Scope::Totals => one(doc.get("totals").and_then(|t| self.value_in(t))),
            Scope::Max => one(values().reduce(f64::max)),
            Scope::Min => one(values().reduce(f64::min)),
            Scope::Sum => one((n > 0.0).then(|| values().sum())),
            Scope::Mean => one((n > 0.0).then(|| values().sum::<f64>() / n)),
        };
        Outcome {
            met: !measured.is_empty() && measured.iter().all(|m| m.met),
            measured,
        }
    }

    /// A canonical value in the unit the expression was written in.
    pub fn shown(&self, canonical: f64) -> String {
        match &self.unit {
            Some(u) => format!("{}{}", number(canonical / u.scale), u.name),
            None => number(canonical),
        }
    }

    /// A canonical value as a number in the expression's unit.
    pub fn in_unit(&self, canonical: f64) -> f64 {
        let x = self
            .unit
            .as_ref()
            .map_or(canonical, |u| canonical / u.scale);
        // 12 significant digits: no 59.17000000000001 from the scaling.
        format!("{x:.11e}").parse().unwrap_or(x)
    }
}

/// A number with at most 4 significant digits after the point, no
/// trailing zeros.
pub fn number(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        return format!("{x:.0}");
    }
    let digits = (4 - x.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let s = format!("{x:.digits$}");
    if digits == 0 {
        // No point: every zero is significant (16800, not 168).
        return s;
    }
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "streams": [
                {"jitter_ms": 1.5, "frames_dropped": 0, "bits_per_second": 8e6,
                 "metrics": {"datagrams": {"loss_percent": 0.05, "lost": 1},
                             "frame_delay_ms": {"last": {"p99": 12.0}},
                             "loss_runs": {"burst_density": 0.25},
                             "playout": {"freezes": 0}}},
                {"jitter_ms": 3.0, "frames_dropped": 2, "bits_per_second": 4e6, "metrics": null},
                {"jitter_ms": 0.5, "frames_dropped": 1, "bits_per_second": 2e6,
                 "lateness_us": {"p99": 300.0},
                 "metrics": {"datagrams": {"loss_percent": 2.0, "lost": 40},
                             "frame_delay_ms": {"last": {"p99": 60.0}},
                             "loss_runs": {"burst_density": 0.5},
                             "playout": {"freezes": 3}}}
            ],
            "totals": {"frames_dropped": 3, "jitter_ms": 1.6666}
        })
    }

    fn eval(text: &str) -> Outcome {
        parse(text).unwrap().evaluate(&doc())
    }

    #[test]
    fn every_operator() {
        let cases = [
            ("jitter < 1.5ms", [false, false, true]),
            ("jitter <= 1.5ms", [true, false, true]),
            ("jitter > 1.5ms", [false, true, false]),
            ("jitter >= 1.5ms", [true, true, false]),
            ("jitter == 1.5ms", [true, false, false]),
            ("jitter != 1.5ms", [false, true, true]),
        ];
        for (text, want) in cases {
            let got: Vec<bool> = eval(text).measured.iter().map(|m| m.met).collect();
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn every_unit() {
        // loss 0.05% and 2%; frame delay 12 and 60 ms; 8, 4, 2 Mbit/s.
        assert!(!eval("loss < 0.1%").met);
        assert!(eval("loss <= 2%").met);
        assert!(eval("frame_delay_p99 < 61ms").met);
        assert!(eval("frame_delay_p99 < 0.061s").met);
        assert!(!eval("frame_delay_p99 < 60000us").met);
        assert!(eval("frame_delay_p99 <= 60000µs").met);
        assert!(eval("lateness_p99 == 0.3ms").met);
        assert!(eval("bits_per_second >= 2Mbit/s").met);
        assert!(eval("bits_per_second >= 2000kbit/s").met);
        assert!(eval("bits_per_second >= 2000000bit/s").met);
        assert!(!eval("bits_per_second > 0.004Gbit/s").met);
        assert!(eval("bits_per_second > 1Mbps").met);
        assert!(eval("burst_density <= 50%").met);
        assert!(eval("min(bits_per_second) == 2 Mbit/s").met);
    }

    #[test]
    fn scopes_streams_aggregates_and_totals() {
        // Only streams that measured the metric count.
        let o = eval("freezes == 0");
        assert_eq!(o.measured.len(), 2);
        assert_eq!(o.measured[1].stream, Some(2));
        assert!(!o.met);
        let max = eval("max(frame_delay_p99) < 50ms");
        assert_eq!(max.measured.len(), 1);
        assert!((max.measured[0].value - 0.060).abs() < 1e-12);
        assert!(!max.met);
        assert!(eval("min(frame_delay_p99) < 50ms").met);
        assert!(eval("mean(frame_delay_p99) == 36ms").met);
        assert!(eval("sum(frames_dropped) == 3").met);
        assert!(eval("totals.frames_dropped == 3").met);
        assert!(eval("totals.jitter_ms < 2ms").met);
        assert!(eval("metrics.datagrams.lost <= 40").met);
        // Nothing measured is not met.
        let none = eval("rtt_mean < 10ms");
        assert!(!none.met && none.measured.is_empty());
        assert!(!eval("max(rtt_mean) < 10ms").met);
    }

    #[test]
    fn bad_expressions_say_why() {
        let reason = |text: &str| parse(text).unwrap_err().reason;
        assert!(reason("loss 0.1%").contains("no comparison"));
        assert!(reason("lossy < 1%").contains("unknown metric 'lossy'"));
        assert!(reason("lossy < 1%").contains("frame_delay_{min,mean"));
        assert!(reason("loss < 0.001").contains("loss is a ratio: give the number a unit"));
        assert!(reason("loss < 5ms").contains("ms does not fit"));
        assert!(reason("jitter < 5%").contains("% does not fit"));
        assert!(reason("goodput > 5ms").contains("is a rate"));
        assert!(reason("freezes == 0ms").contains("freezes is a count"));
        assert!(reason("jitter < 5 parsecs").contains("unknown unit 'parsecs'"));
        assert!(reason("jitter < fast").contains("not a number"));
        assert!(reason("jitter < 1e999ms").contains("not a number"));
        assert!(reason("max(jitter < 1ms").contains("no closing"));
        assert!(reason("< 1ms").contains("no metric"));
        assert!(reason("frame_delay_p42 < 1ms").contains("unknown metric"));
        assert!(reason("role.x < 1").contains("unknown metric"));
        assert!(reason("metrics..lost < 1").contains("unknown metric"));
        let shown = parse("lossy < 1%").unwrap_err().to_string();
        assert!(
            shown.starts_with("--expect 'lossy < 1%': unknown metric"),
            "{shown}"
        );
    }

    #[test]
    fn values_show_in_the_expressions_unit() {
        let e = parse("loss < 0.1%").unwrap();
        assert_eq!(e.shown(0.0102), "1.02%");
        assert!((e.bound - 0.001).abs() < 1e-15);
        let e = parse("frame_delay_p99<50ms").unwrap();
        assert_eq!(e.shown(0.0123456), "12.346ms");
        assert_eq!(parse("freezes == 0").unwrap().shown(3.0), "3");
        assert_eq!(number(1.0e-5), "0.00001");
        assert_eq!(number(93.2), "93.2");
        // A large value with a fraction keeps its integer zeros (a CI run
        // under Wine printed an RTT of 16800.3 us as "168us").
        assert_eq!(number(16800.3), "16800");
        assert_eq!(number(100_000.4), "100000");
        assert_eq!(number(-20_500.7), "-20501");
        assert_eq!(number(1000.26), "1000.3");
    }
}
