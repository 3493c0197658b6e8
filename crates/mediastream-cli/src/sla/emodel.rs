//! The ITU-T G.107 E-model (06/2015): the transmission rating factor R
//! from the default values of every parameter (clause 7.7, Table 1)
//! except those a network measures: the one-way delay Ta (with T = Ta,
//! Tr = 2 Ta), the packet-loss probability Ppl and the burst ratio
//! BurstR, and the codec's Ie and Bpl (ITU-T G.113 Appendix I). R maps
//! to MOS by G.107 Annex B (B-4). An estimate: the E-model is a planning
//! tool, and our Ta is the network delay only (docs/metrics.md).

use serde::Serialize;

/// A codec's equipment impairment Ie and packet-loss robustness Bpl.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Codec {
    pub name: &'static str,
    pub ie: f64,
    pub bpl: f64,
    pub source: &'static str,
}

/// G.711 without packet-loss concealment: G.113 Appendix I, Table I.3.
pub const G711: Codec = Codec {
    name: "G.711",
    ie: 0.0,
    bpl: 4.3,
    source: "ITU-T G.113 Appendix I (Ie 0, Bpl 4.3, no PLC)",
};

/// G.711 with the packet-loss concealment of G.711 Appendix I.
pub const G711_PLC: Codec = Codec {
    name: "G.711 with PLC",
    ie: 0.0,
    bpl: 25.1,
    source: "ITU-T G.113 Appendix I (Ie 0, Bpl 25.1, G.711 Appendix I PLC)",
};

/// The codec named on the command line (`--emodel`).
pub fn codec(name: &str) -> Result<Codec, String> {
    match name {
        "g711" => Ok(G711),
        "g711-plc" => Ok(G711_PLC),
        "opus" => Err(
            "--emodel opus: ITU-T G.113 publishes no Ie/Bpl for Opus, so no R can be \
             computed for it; accepted: g711, g711-plc"
                .into(),
        ),
        other => Err(format!(
            "--emodel {other}: unknown codec; accepted: g711 (no PLC), g711-plc"
        )),
    }
}

/// The inputs a network measurement gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inputs {
    /// Mean one-way delay, ms.
    pub ta_ms: f64,
    /// Packet-loss probability, percent.
    pub ppl_percent: f64,
    pub burst_r: f64,
    pub codec: Codec,
}

// G.107 Table 1 (clause 7.7) default values.
const SLR: f64 = 8.0;
const RLR: f64 = 2.0;
const STMR: f64 = 15.0;
const LSTR: f64 = 18.0;
const DS: f64 = 3.0;
const TELR: f64 = 65.0;
const WEPL: f64 = 110.0;
const QDU: f64 = 1.0;
const NC: f64 = -70.0;
const NFOR: f64 = -64.0;
const PS: f64 = 35.0;
const PR: f64 = 35.0;
const A: f64 = 0.0;

fn lg(x: f64) -> f64 {
    x.log10()
}

/// No and Ro (clause 7.2): the basic signal-to-noise ratio.
fn ro_no() -> (f64, f64) {
    let olr = SLR + RLR;
    let nos = PS - SLR - DS - 100.0 + 0.004 * (PS - olr - DS - 14.0).powi(2);
    let pre = PR + 10.0 * lg(1.0 + 10f64.powf((10.0 - LSTR) / 10.0));
    let nor = RLR - 121.0 + pre + 0.008 * (pre - 35.0).powi(2);
    let nfo = NFOR + RLR;
    let no = 10.0
        * lg(10f64.powf(NC / 10.0)
            + 10f64.powf(nos / 10.0)
            + 10f64.powf(nor / 10.0)
            + 10f64.powf(nfo / 10.0));
    (15.0 - 1.5 * (SLR + no), no)
}

/// Is (clause 7.3): the simultaneous impairment factor, at T (ms).
fn is(ro: f64, no: f64, t: f64) -> f64 {
    let olr = SLR + RLR;
    let xolr = olr + 0.2 * (64.0 + no - RLR);
    let iolr = 20.0 * ((1.0 + (xolr / 8.0).powi(8)).powf(1.0 / 8.0) - xolr / 8.0);
    let stmro = -10.0 * lg(10f64.powf(-STMR / 10.0) + (-t / 4.0).exp() * 10f64.powf(-TELR / 10.0));
    let ist = 12.0 * (1.0 + ((stmro - 13.0) / 6.0).powi(8)).powf(1.0 / 8.0)
        - 28.0 * (1.0 + ((stmro + 1.0) / 19.4).powi(35)).powf(1.0 / 35.0)
        - 13.0 * (1.0 + ((stmro - 3.0) / 33.0).powi(13)).powf(1.0 / 13.0)
        + 29.0;
    let q = 37.0 - 15.0 * lg(QDU);
    let g = 1.07 + 0.258 * q + 0.0602 * q * q;
    let y = (ro - 100.0) / 15.0 + 46.0 / 8.4 - g / 9.0;
    let z = 46.0 / 30.0 - g / 40.0;
    let iq = 15.0 * lg(1.0 + 10f64.powf(y) + 10f64.powf(z));
    iolr + ist + iq
}

/// Id (clause 7.4): talker echo (T), listener echo (Tr) and absolute
/// delay (Ta), ms. STMR is the default 15 dB, so neither of the clause's
/// STMR corrections (below 9 dB, above 20 dB) applies.
fn id(ro: f64, no: f64, t: f64, tr: f64, ta: f64) -> f64 {
    let terv = TELR - 40.0 * lg((1.0 + t / 10.0) / (1.0 + t / 150.0)) + 6.0 * (-0.3 * t * t).exp();
    let roe = -1.5 * (no - RLR);
    let re = 80.0 + 2.5 * (terv - 14.0);
    let idte =
        ((roe - re) / 2.0 + ((roe - re).powi(2) / 4.0 + 100.0).sqrt() - 1.0) * (1.0 - (-t).exp());
    let rle = 10.5 * (WEPL + 7.0) * (tr + 1.0).powf(-0.25);
    let idle = (ro - rle) / 2.0 + ((ro - rle).powi(2) / 4.0 + 169.0).sqrt();
    let idd = if ta <= 100.0 {
        0.0
    } else {
        let x = (ta / 100.0).log2();
        25.0 * ((1.0 + x.powi(6)).powf(1.0 / 6.0) - 3.0 * (1.0 + (x / 3.0).powi(6)).powf(1.0 / 6.0)
            + 2.0)
    };
    idte + idle + idd
}

/// Ie,eff (clause 7.5): Ie + (95 - Ie) Ppl / (Ppl / BurstR + Bpl).
pub fn ie_eff(ie: f64, bpl: f64, ppl_percent: f64, burst_r: f64) -> f64 {
    ie + (95.0 - ie) * ppl_percent / (ppl_percent / burst_r + bpl)
}

/// R = Ro - Is - Id - Ie,eff + A (clause 7.1).
pub fn r_factor(i: &Inputs) -> f64 {
    let (ro, no) = ro_no();
    let t = i.ta_ms;
    ro - is(ro, no, t)
        - id(ro, no, t, 2.0 * t, i.ta_ms)
        - ie_eff(i.codec.ie, i.codec.bpl, i.ppl_percent, i.burst_r)
        + A
}

/// MOS from R (G.107 Annex B, B-4): 1 below 0, 4.5 above 100, else
/// 1 + 0.035 R + R (R - 60) (100 - R) 7e-6.
pub fn mos(r: f64) -> f64 {
    if r < 0.0 {
        1.0
    } else if r > 100.0 {
        4.5
    } else {
        1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(ta_ms: f64, ppl_percent: f64, burst_r: f64, codec: Codec) -> Inputs {
        Inputs {
            ta_ms,
            ppl_percent,
            burst_r,
            codec,
        }
    }

    #[test]
    fn the_default_values_give_r_93_2() {
        // G.107 clause 7.7: with every default, R = 93.2.
        let r = r_factor(&inputs(0.0, 0.0, 1.0, G711));
        assert!((r - 93.2).abs() < 0.05, "R = {r}");
        // Its terms: Ro 94.77, Is 1.41, Id 0.15 (T = Tr = Ta = 0).
        let (ro, no) = ro_no();
        assert!((ro - 94.77).abs() < 0.01, "Ro = {ro}");
        let is0 = is(ro, no, 0.0);
        assert!((is0 - 1.41).abs() < 0.01, "Is = {is0}");
        let id0 = id(ro, no, 0.0, 0.0, 0.0);
        assert!((id0 - 0.15).abs() < 0.01, "Id = {id0}");
    }

    #[test]
    fn mos_mapping_endpoints_and_known_points() {
        // G.107 Annex B (B-4): R < 0 gives 1, R > 100 gives 4.5, and the
        // formula meets both ends: R = 0 gives 1, R = 100 gives 4.5.
        assert_eq!(mos(-5.0), 1.0);
        assert_eq!(mos(120.0), 4.5);
        assert!((mos(0.0) - 1.0).abs() < 1e-12);
        assert!((mos(100.0) - 4.5).abs() < 1e-12);
        // R = 93.2 (the defaults) is MOS 4.41; R = 50 by the B-4 formula:
        // 1 + 1.75 + 50 x (-10) x 50 x 7e-6 = 2.575.
        assert!((mos(93.2) - 4.41).abs() < 0.005, "{}", mos(93.2));
        assert!((mos(50.0) - 2.575).abs() < 1e-9);
    }

    #[test]
    fn loss_lowers_r_through_ie_eff() {
        // No loss: Ie,eff = Ie.
        assert_eq!(ie_eff(0.0, 4.3, 0.0, 1.0), 0.0);
        // 1% random loss on G.711: 95 x 1 / (1 + 4.3) = 17.92; with PLC
        // 95 / 26.1 = 3.64; bursty (BurstR 2) without PLC 95 / 4.8 = 19.79.
        assert!((ie_eff(0.0, 4.3, 1.0, 1.0) - 17.924_528).abs() < 1e-5);
        assert!((ie_eff(0.0, 25.1, 1.0, 1.0) - 3.639_847).abs() < 1e-5);
        assert!((ie_eff(0.0, 4.3, 1.0, 2.0) - 19.791_667).abs() < 1e-5);
        let clean = r_factor(&inputs(0.0, 0.0, 1.0, G711));
        let lossy = r_factor(&inputs(0.0, 1.0, 1.0, G711));
        assert!((clean - lossy - 17.924_528).abs() < 1e-6);
        // Ie,eff tends to 95 as loss grows.
        assert!(ie_eff(0.0, 4.3, 1e9, 1.0) > 94.99);
    }

    #[test]
    fn delay_above_100_ms_adds_idd() {
        // Idd is 0 up to Ta = 100 ms; at Ta = 200 ms, X = 1:
        // 25 ((1 + 1)^(1/6) - 3 (1 + 3^-6)^(1/6) + 2) = 25 x 0.121777 = 3.0444.
        let at = |ta| r_factor(&inputs(ta, 0.0, 1.0, G711));
        let (ro, no) = ro_no();
        let idd_200 = id(ro, no, 200.0, 400.0, 200.0) - id(ro, no, 200.0, 400.0, 100.0);
        assert!((idd_200 - 3.0444).abs() < 1e-3, "Idd(200) = {idd_200}");
        assert!(at(150.0) < at(50.0));
        assert!(at(400.0) < at(200.0));
    }

    #[test]
    fn codecs_by_name() {
        assert_eq!(codec("g711").unwrap().bpl, 4.3);
        assert_eq!(codec("g711-plc").unwrap().bpl, 25.1);
        assert!(codec("opus")
            .unwrap_err()
            .contains("publishes no Ie/Bpl for Opus"));
        assert!(codec("amr").unwrap_err().contains("unknown codec"));
    }
}
