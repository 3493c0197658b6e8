//! ITU-T Y.1541 network QoS classes 0-7 (clause 5.3, Table 1): the upper
//! bounds on mean IPTD, IPDV (the 1 - 10^-3 quantile of IPTD minus the
//! minimum IPTD), IPLR and IPER, "U" where the class leaves one
//! unspecified. Classes 6 and 7 are provisional in Y.1541 and also bound
//! IPRR (reordering), which is not evaluated here (docs/metrics.md).

use serde::Serialize;

/// The four parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Parameter {
    #[serde(rename = "IPTD")]
    Iptd,
    #[serde(rename = "IPDV")]
    Ipdv,
    #[serde(rename = "IPLR")]
    Iplr,
    #[serde(rename = "IPER")]
    Iper,
}

impl Parameter {
    pub fn name(self) -> &'static str {
        match self {
            Parameter::Iptd => "IPTD",
            Parameter::Ipdv => "IPDV",
            Parameter::Iplr => "IPLR",
            Parameter::Iper => "IPER",
        }
    }

    /// A value of this parameter as text: ms for delays, else a ratio.
    pub fn show(self, v: f64) -> String {
        match self {
            Parameter::Iptd | Parameter::Ipdv => format!("{} ms", super::expect::number(v)),
            Parameter::Iplr | Parameter::Iper => format!("{v:.1e}"),
        }
    }
}

/// One class's bounds; `None` is "U" (unspecified). Delays in ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Class {
    pub number: u8,
    pub iptd_ms: Option<f64>,
    pub ipdv_ms: Option<f64>,
    pub iplr: Option<f64>,
    pub iper: Option<f64>,
}

const fn class(
    number: u8,
    iptd_ms: Option<f64>,
    ipdv_ms: Option<f64>,
    iplr: Option<f64>,
    iper: Option<f64>,
) -> Class {
    Class {
        number,
        iptd_ms,
        ipdv_ms,
        iplr,
        iper,
    }
}

/// Y.1541 Table 1, in the order the classifier tries them: every class
/// before any class whose bounds are all looser or equal, so the first
/// class met is the best (the met classes always have a strictest one:
/// the bounds of any two met classes, combined, are those of a class).
pub const CLASSES: [Class; 8] = [
    class(6, Some(100.0), Some(50.0), Some(1e-5), Some(1e-6)),
    class(7, Some(400.0), Some(50.0), Some(1e-5), Some(1e-6)),
    class(0, Some(100.0), Some(50.0), Some(1e-3), Some(1e-4)),
    class(1, Some(400.0), Some(50.0), Some(1e-3), Some(1e-4)),
    class(2, Some(100.0), None, Some(1e-3), Some(1e-4)),
    class(3, Some(400.0), None, Some(1e-3), Some(1e-4)),
    class(4, Some(1000.0), None, Some(1e-3), Some(1e-4)),
    class(5, None, None, None, None),
];

/// What was measured; `None` when this end could not measure it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Measured {
    pub iptd_ms: Option<f64>,
    pub ipdv_ms: Option<f64>,
    pub iplr: Option<f64>,
    pub iper: Option<f64>,
}

/// A bound a class sets that the stream did not meet (or could not be
/// checked: `measured` null).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Failed {
    pub parameter: Parameter,
    pub measured: Option<f64>,
    pub bound: f64,
}

/// One class and how the stream fared against it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassOutcome {
    pub class: u8,
    pub met: bool,
    pub failed: Vec<Failed>,
    /// Parameters this class leaves unspecified ("U").
    pub unspecified: Vec<Parameter>,
}

impl Class {
    fn bounds(&self) -> [(Parameter, Option<f64>); 4] {
        [
            (Parameter::Iptd, self.iptd_ms),
            (Parameter::Ipdv, self.ipdv_ms),
            (Parameter::Iplr, self.iplr),
            (Parameter::Iper, self.iper),
        ]
    }

    /// Every bound is an upper bound, met at equality.
    pub fn judge(&self, m: &Measured) -> ClassOutcome {
        let values = [m.iptd_ms, m.ipdv_ms, m.iplr, m.iper];
        let mut failed = Vec::new();
        let mut unspecified = Vec::new();
        for ((parameter, bound), measured) in self.bounds().into_iter().zip(values) {
            match bound {
                None => unspecified.push(parameter),
                Some(bound) if measured.is_none_or(|v| v > bound) => failed.push(Failed {
                    parameter,
                    measured,
                    bound,
                }),
                Some(_) => {}
            }
        }
        ClassOutcome {
            class: self.number,
            met: failed.is_empty(),
            failed,
            unspecified,
        }
    }
}

/// The verdict: the best class met, and every class's outcome in class
/// number order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub best_class: Option<u8>,
    pub classes: Vec<ClassOutcome>,
}

pub fn classify(m: &Measured) -> Verdict {
    let best_class = CLASSES
        .iter()
        .map(|c| c.judge(m))
        .find(|o| o.met)
        .map(|o| o.class);
    let mut classes: Vec<ClassOutcome> = CLASSES.iter().map(|c| c.judge(m)).collect();
    classes.sort_by_key(|o| o.class);
    Verdict {
        best_class,
        classes,
    }
}

/// Why a class was missed, e.g. "IPLR 1.0e-2 > 1.0e-3".
pub fn why(o: &ClassOutcome) -> String {
    o.failed
        .iter()
        .map(|f| match f.measured {
            Some(v) => format!(
                "{} {} > {}",
                f.parameter.name(),
                f.parameter.show(v),
                f.parameter.show(f.bound)
            ),
            None => format!("{} not measured", f.parameter.name()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(iptd: f64, ipdv: f64, iplr: f64, iper: f64) -> Measured {
        Measured {
            iptd_ms: Some(iptd),
            ipdv_ms: Some(ipdv),
            iplr: Some(iplr),
            iper: Some(iper),
        }
    }

    fn met(m: &Measured) -> Vec<u8> {
        classify(m)
            .classes
            .iter()
            .filter(|o| o.met)
            .map(|o| o.class)
            .collect()
    }

    /// Just past a bound: the next representable step up, or 1% more.
    fn past(x: f64) -> f64 {
        x * 1.01
    }

    #[test]
    fn a_perfect_path_meets_every_class_and_class_6_is_best() {
        let m = all(0.0, 0.0, 0.0, 0.0);
        assert_eq!(met(&m), [0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(classify(&m).best_class, Some(6));
    }

    #[test]
    fn at_every_bound_the_class_is_met_and_just_past_it_is_not() {
        for c in CLASSES.iter().filter(|c| c.number != 5) {
            let at = all(
                c.iptd_ms.unwrap_or(10_000.0),
                c.ipdv_ms.unwrap_or(10_000.0),
                c.iplr.unwrap_or(1.0),
                c.iper.unwrap_or(1.0),
            );
            assert!(c.judge(&at).met, "class {} at its bounds", c.number);
            for (i, (parameter, bound)) in c.bounds().into_iter().enumerate() {
                let Some(bound) = bound else { continue };
                let mut values = [at.iptd_ms, at.ipdv_ms, at.iplr, at.iper];
                values[i] = Some(past(bound));
                let m = Measured {
                    iptd_ms: values[0],
                    ipdv_ms: values[1],
                    iplr: values[2],
                    iper: values[3],
                };
                let o = c.judge(&m);
                assert!(!o.met, "class {} past {parameter:?}", c.number);
                assert_eq!(o.failed.len(), 1);
                assert_eq!(o.failed[0].parameter, parameter);
                assert_eq!(o.failed[0].bound, bound);
            }
        }
    }

    #[test]
    fn the_best_class_at_each_classes_bounds() {
        // At class N's bounds (U as large values) the best class is N.
        let cases = [
            (all(100.0, 50.0, 1e-5, 1e-6), 6),
            (all(400.0, 50.0, 1e-5, 1e-6), 7),
            (all(100.0, 50.0, 1e-3, 1e-4), 0),
            (all(400.0, 50.0, 1e-3, 1e-4), 1),
            (all(100.0, 5000.0, 1e-3, 1e-4), 2),
            (all(400.0, 5000.0, 1e-3, 1e-4), 3),
            (all(1000.0, 5000.0, 1e-3, 1e-4), 4),
            (all(5000.0, 5000.0, 0.5, 0.5), 5),
        ];
        for (m, best) in cases {
            assert_eq!(classify(&m).best_class, Some(best), "{m:?}");
        }
        // Just past: 100.1 ms of IPTD with class 0's other values is class 1.
        assert_eq!(
            classify(&all(past(100.0), 50.0, 1e-3, 1e-4)).best_class,
            Some(1)
        );
        assert_eq!(
            classify(&all(past(1000.0), 1.0, 0.0, 0.0)).best_class,
            Some(5)
        );
        assert_eq!(
            classify(&all(1.0, past(50.0), 0.0, 0.0)).best_class,
            Some(2)
        );
        assert_eq!(
            classify(&all(1.0, 1.0, past(1e-5), 0.0)).best_class,
            Some(0)
        );
        assert_eq!(
            classify(&all(1.0, 1.0, 0.0, past(1e-6))).best_class,
            Some(0)
        );
        assert_eq!(
            classify(&all(1.0, 1.0, past(1e-3), 0.0)).best_class,
            Some(5)
        );
        assert_eq!(
            classify(&all(1.0, 1.0, 0.0, past(1e-4))).best_class,
            Some(5)
        );
    }

    #[test]
    fn unspecified_bounds_are_listed_and_never_fail() {
        let v = classify(&all(5000.0, 5000.0, 1.0, 1.0));
        let c5 = &v.classes[5];
        assert!(c5.met);
        assert_eq!(
            c5.unspecified,
            [
                Parameter::Iptd,
                Parameter::Ipdv,
                Parameter::Iplr,
                Parameter::Iper
            ]
        );
        assert_eq!(v.classes[2].unspecified, [Parameter::Ipdv]);
        assert!(v.classes[0].unspecified.is_empty());
    }

    #[test]
    fn an_unmeasured_parameter_fails_the_classes_that_bound_it() {
        // A sender with only an RTT: no IPDV.
        let m = Measured {
            iptd_ms: Some(10.0),
            ipdv_ms: None,
            iplr: Some(0.0),
            iper: Some(0.0),
        };
        let v = classify(&m);
        assert_eq!(v.best_class, Some(2));
        assert_eq!(why(&v.classes[0]), "IPDV not measured");
        let relay = classify(&all(3.0, 5.0, 0.01, 0.0));
        assert_eq!(relay.best_class, Some(5));
        assert_eq!(why(&relay.classes[4]), "IPLR 1.0e-2 > 1.0e-3");
    }
}
