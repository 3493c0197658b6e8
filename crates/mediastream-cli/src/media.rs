//! `--frame-sizes SPEC` and `--profile NAME`: the frame-size model and the
//! media profiles (docs/profiles.md), checked before any socket.
//!
//! SPEC: `cbr`, `lognormal:STDEV[,seed=N]` (STDEV a rate, 2M),
//! `gop:EVERY,RATIO[,VARIATION][,seed=N]` (EVERY frames, or a time with
//! s or ms: 2s, 500ms), `trace:FILE[,loop|stop][,scale]`.

use mediastream_core::pattern::model::{
    profile, FrameSizes, Gop, GopInterval, LogNormal, Profile, Trace, TraceEnd, PROFILE_NAMES,
};

use crate::cmd::CliError;
use crate::values;

const ACCEPTED: &str = "cbr, lognormal:STDEV[,seed=N], gop:EVERY,RATIO[,VARIATION][,seed=N], trace:FILE[,loop|stop][,scale]";

fn usage(what: String) -> CliError {
    CliError::Usage(format!("--frame-sizes {what}"))
}

/// Splits `seed=N` off the parameters.
fn seed_of<'a>(params: &[&'a str]) -> Result<(Vec<&'a str>, u64), CliError> {
    let mut seed = 1;
    let mut rest = Vec::new();
    for p in params {
        match p.strip_prefix("seed=") {
            Some(n) => {
                seed = n
                    .parse()
                    .map_err(|_| usage(format!("seed '{n}': accepted a whole number")))?
            }
            None => rest.push(*p),
        }
    }
    Ok((rest, seed))
}

fn number(what: &str, value: &str, range: (f64, f64)) -> Result<f64, CliError> {
    match value.parse::<f64>() {
        Ok(v) if (range.0..=range.1).contains(&v) => Ok(v),
        _ => Err(usage(format!(
            "{what} '{value}': accepted {} to {}",
            range.0, range.1
        ))),
    }
}

fn gop(params: &[&str]) -> Result<FrameSizes, CliError> {
    let (params, seed) = seed_of(params)?;
    let [every, ratio, rest @ ..] = &params[..] else {
        return Err(usage(
            "gop needs EVERY and RATIO: gop:2s,8 or gop:60,8,0.2".into(),
        ));
    };
    let interval = if every.ends_with('s') {
        GopInterval::Millis(
            values::seconds_as_millis(every).map_err(|e| usage(format!("gop interval {e}")))?,
        )
    } else {
        GopInterval::Frames(number("gop interval", every, (1.0, 100_000.0))? as u32)
    };
    let mut g = Gop::every_frames(1, number("gop ratio", ratio, (1.0, 1000.0))?);
    g.interval = interval;
    g.seed = seed;
    g.variation = match rest {
        [] => 0.0,
        [v] => number("gop variation", v, (0.0, 4.0))?,
        _ => {
            return Err(usage(format!(
                "gop takes EVERY,RATIO[,VARIATION][,seed=N]: accepted {ACCEPTED}"
            )))
        }
    };
    Ok(FrameSizes::Gop(g))
}

fn trace(params: &[&str]) -> Result<FrameSizes, CliError> {
    let [file, flags @ ..] = params else {
        return Err(usage(
            "trace needs a FILE: trace:FILE[,loop|stop][,scale]".into(),
        ));
    };
    let text = std::fs::read_to_string(file).map_err(|e| usage(format!("trace:{file}: {e}")))?;
    let mut t = Trace::parse(&text).map_err(|e| usage(format!("trace:{file}: {e}")))?;
    for flag in flags {
        match *flag {
            "loop" => t.at_end = TraceEnd::Loop,
            "stop" => t.at_end = TraceEnd::Stop,
            "scale" => t.scale = true,
            other => {
                return Err(usage(format!(
                    "trace option '{other}': accepted loop, stop, scale"
                )))
            }
        }
    }
    Ok(FrameSizes::Trace(t))
}

/// The model `spec` names (a trace file is read now).
pub fn frame_sizes(spec: &str) -> Result<FrameSizes, CliError> {
    let (name, rest) = spec.split_once(':').unwrap_or((spec, ""));
    let params: Vec<&str> = rest.split(',').filter(|p| !p.is_empty()).collect();
    match name {
        "cbr" if params.is_empty() => Ok(FrameSizes::Cbr),
        "lognormal" => {
            let (params, seed) = seed_of(&params)?;
            let [stdev] = params[..] else {
                return Err(usage("lognormal needs STDEV, a rate: lognormal:2M".into()));
            };
            let stdev = values::rate(stdev).map_err(|e| usage(format!("lognormal {e}")))?;
            Ok(FrameSizes::LogNormal(LogNormal::new(stdev, seed)))
        }
        "gop" => gop(&params),
        "trace" => trace(&params),
        _ => Err(usage(format!("'{spec}': accepted {ACCEPTED}"))),
    }
}

/// The streams of every `--profile` given, in order.
pub fn profiles(names: &[String]) -> Result<Vec<Profile>, CliError> {
    let mut out = Vec::new();
    for name in names {
        let found = profile(name).ok_or_else(|| {
            CliError::Usage(format!(
                "--profile '{name}': accepted {}",
                PROFILE_NAMES.join(", ")
            ))
        })?;
        out.extend(found);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(e: CliError) -> String {
        match e {
            CliError::Usage(t) | CliError::Runtime(t) => t,
        }
    }

    #[test]
    fn specs_parse_and_errors_name_the_option() {
        assert_eq!(frame_sizes("cbr").unwrap(), FrameSizes::Cbr);
        assert_eq!(
            frame_sizes("lognormal:2M,seed=7").unwrap(),
            FrameSizes::LogNormal(LogNormal::new(2_000_000, 7))
        );
        let FrameSizes::Gop(g) = frame_sizes("gop:2s,8,0.25").unwrap() else {
            panic!("gop")
        };
        assert_eq!(
            (g.interval, g.key_ratio, g.variation),
            (GopInterval::Millis(2000), 8.0, 0.25)
        );
        let FrameSizes::Gop(g) = frame_sizes("gop:60,5").unwrap() else {
            panic!("gop")
        };
        assert_eq!(g.interval, GopInterval::Frames(60));
        let err = |s: &str| text(frame_sizes(s).unwrap_err());
        assert_eq!(
            err("gop:60,0.5"),
            "--frame-sizes gop ratio '0.5': accepted 1 to 1000"
        );
        assert!(
            err("vbr").starts_with("--frame-sizes 'vbr': accepted cbr, lognormal"),
            "{}",
            err("vbr")
        );
        assert!(err("trace:/nonexistent/t.csv").contains("--frame-sizes trace:/nonexistent/t.csv"));
        assert!(err("lognormal:2X").contains("--frame-sizes lognormal"));
    }

    #[test]
    fn profiles_expand_and_unknown_names_are_refused() {
        let call = profiles(&["call".into()]).unwrap();
        assert_eq!(
            call.iter().map(|p| p.name).collect::<Vec<_>>(),
            ["voice", "720p30"]
        );
        let err = text(profiles(&["8k".into()]).unwrap_err());
        assert_eq!(
            err,
            "--profile '8k': accepted voice, 720p30, 1080p30, 4k60, screen, call"
        );
    }
}
