//! A model in a v1 request's media fields, and back.

use super::{FrameSizes, Gop, GopInterval, LogNormal, ModelError, Trace, TraceEnd};
use crate::wire::{
    MediaModel, MediaRequest, MEDIA_GOP_MILLIS, MEDIA_TRACE_SCALE, MEDIA_TRACE_STOP,
};

fn milli(x: f64) -> u32 {
    (x * 1000.0).round().clamp(0.0, f64::from(u32::MAX)) as u32
}

impl FrameSizes {
    /// The media fields a request carries for this model (a trace's
    /// frames stay with the sender: the request says only "trace").
    pub fn to_request(&self) -> MediaRequest {
        match self {
            FrameSizes::Cbr => MediaRequest::new(MediaModel::Cbr),
            FrameSizes::LogNormal(l) => {
                let mut m = MediaRequest::new(MediaModel::LogNormal);
                m.stdev_bps = l.stdev_bps;
                m.seed = l.seed;
                m
            }
            FrameSizes::Gop(g) => {
                let mut m = MediaRequest::new(MediaModel::Gop);
                (m.gop_interval, m.flags) = match g.interval {
                    GopInterval::Frames(n) => (n, 0),
                    GopInterval::Millis(ms) => (ms, MEDIA_GOP_MILLIS),
                };
                m.key_ratio_milli = milli(g.key_ratio);
                m.variation_milli = milli(g.variation);
                m.seed = g.seed;
                m
            }
            FrameSizes::Trace(t) => {
                let mut m = MediaRequest::new(MediaModel::Trace);
                if t.at_end == TraceEnd::Stop {
                    m.flags |= MEDIA_TRACE_STOP;
                }
                if t.scale {
                    m.flags |= MEDIA_TRACE_SCALE;
                }
                m
            }
        }
    }

    /// The model a request asks its sender for; a trace is the sender's
    /// own (`trace`), with the request's loop/stop and scaling.
    pub fn from_request(m: &MediaRequest, trace: Option<&Trace>) -> Result<Self, ModelError> {
        Ok(match m.model {
            MediaModel::Cbr => FrameSizes::Cbr,
            MediaModel::LogNormal => FrameSizes::LogNormal(LogNormal::new(m.stdev_bps, m.seed)),
            MediaModel::Gop => {
                let interval = if m.flags & MEDIA_GOP_MILLIS != 0 {
                    GopInterval::Millis(m.gop_interval)
                } else {
                    GopInterval::Frames(m.gop_interval)
                };
                FrameSizes::Gop(Gop {
                    interval,
                    key_ratio: f64::from(m.key_ratio_milli) / 1000.0,
                    variation: f64::from(m.variation_milli) / 1000.0,
                    seed: m.seed,
                })
            }
            MediaModel::Trace => {
                let mut t = trace
                    .ok_or_else(|| {
                        ModelError::new(
                            "this end has no trace to replay",
                            "a sender started with a trace file",
                        )
                    })?
                    .clone();
                t.at_end = if m.flags & MEDIA_TRACE_STOP != 0 {
                    TraceEnd::Stop
                } else {
                    TraceEnd::Loop
                };
                t.scale = m.flags & MEDIA_TRACE_SCALE != 0;
                FrameSizes::Trace(t)
            }
            MediaModel::Other(code) => {
                return Err(ModelError::new(
                    format!("model code {code}"),
                    "cbr, lognormal, gop, trace (1 to 4)",
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_survive_a_request() {
        let mut g = Gop::every_frames(0, 7.5);
        g.interval = GopInterval::Millis(2000);
        g.variation = 0.25;
        g.seed = 99;
        let mut t = Trace::parse("0,100,K\n40,50,D\n").unwrap();
        t.at_end = TraceEnd::Stop;
        t.scale = true;
        let models = [
            FrameSizes::Cbr,
            FrameSizes::LogNormal(LogNormal::new(3_000_000, 5)),
            FrameSizes::Gop(g),
            FrameSizes::Trace(t.clone()),
        ];
        for model in models {
            let request = model.to_request();
            let mut buf = [0u8; 128];
            let mut repr = crate::client::ClientConfig::new(
                crate::settings::StreamSettings::new(1_000_000, 25, 2),
                1,
            )
            .request();
            repr.media = Some(request);
            repr.emit(false, &mut buf).unwrap();
            let Ok(crate::wire::Datagram::V1(crate::wire::v1::V1Message::Request(parsed))) =
                crate::wire::parse(&buf)
            else {
                panic!("a request");
            };
            let back = FrameSizes::from_request(
                &parsed.media.unwrap(),
                Some(&Trace::parse("0,100,K\n40,50,D\n").unwrap()),
            )
            .unwrap();
            assert_eq!(back, model);
        }
        let err = FrameSizes::from_request(&FrameSizes::Trace(t).to_request(), None).unwrap_err();
        assert!(err.to_string().contains("no trace"), "{err}");
    }
}
