//! DSCP and ECN: the marking a stream's datagrams carry in the IP header
//! (the IPv4 TOS byte, the IPv6 traffic class), and what a receiver saw.
//!
//! The byte is DSCP in its upper six bits (RFC 2474) and ECN in its lower
//! two (RFC 3168): 00 not-ECT, 01 ECT(1), 10 ECT(0), 11 CE. A sender sets
//! it with [`Marking`]; a receiver counts every data datagram's byte in
//! [`MarkCounts`] (on Linux, read from IP_RECVTOS / IPV6_RECVTCLASS), and
//! [`MarkCounts::kept`] says whether the requested marking survived.
//!
//! ```
//! use mediastream_core::marking::{Dscp, Ecn, MarkCounts, Marking};
//!
//! let asked = Marking::new(Some("af41".parse().unwrap()), Some(Ecn::Ect0));
//! assert_eq!(asked.tos(), Some(34 << 2 | 0b10));
//! let mut seen = MarkCounts::new();
//! seen.record(asked.tos().unwrap(), 9);
//! seen.record(34 << 2 | 0b11, 1); // a queue marked one CE
//! assert_eq!((seen.ect0(), seen.ce()), (9, 1));
//! let kept = seen.kept(asked);
//! assert_eq!((kept.dscp, kept.ecn), (Some(true), Some(true)));
//! assert_eq!(Dscp::new(34).unwrap().to_string(), "af41");
//! ```

use std::fmt;
use std::str::FromStr;

/// A DiffServ code point, 0 to 63.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dscp(u8);

/// The names [`Dscp`] parses and prints: RFC 2474 class selectors, RFC
/// 2597 assured forwarding, RFC 3246 expedited forwarding, RFC 5865
/// VOICE-ADMIT and RFC 8622 lower effort.
const NAMES: [(&str, u8); 24] = [
    ("cs0", 0),
    ("le", 1),
    ("cs1", 8),
    ("af11", 10),
    ("af12", 12),
    ("af13", 14),
    ("cs2", 16),
    ("af21", 18),
    ("af22", 20),
    ("af23", 22),
    ("cs3", 24),
    ("af31", 26),
    ("af32", 28),
    ("af33", 30),
    ("cs4", 32),
    ("af41", 34),
    ("af42", 36),
    ("af43", 38),
    ("cs5", 40),
    ("voice-admit", 44),
    ("ef", 46),
    ("cs6", 48),
    ("cs7", 56),
    ("default", 0),
];

impl Dscp {
    /// Expedited forwarding (46), the usual marking for voice.
    pub const EF: Dscp = Dscp(46);
    /// AF41 (34), the usual marking for interactive video.
    pub const AF41: Dscp = Dscp(34);

    /// The code point `value`, or `None` above 63.
    pub const fn new(value: u8) -> Option<Self> {
        if value < 64 {
            Some(Self(value))
        } else {
            None
        }
    }

    /// The code point, 0 to 63.
    pub const fn value(self) -> u8 {
        self.0
    }

    /// The DSCP of a TOS / traffic-class byte (its upper six bits).
    pub const fn of_tos(tos: u8) -> Self {
        Self(tos >> 2)
    }

    /// Its standard name (`ef`, `af41`, `cs5`, ...), if it has one.
    pub fn name(self) -> Option<&'static str> {
        NAMES
            .iter()
            .find(|(_, v)| *v == self.0)
            .map(|(name, _)| *name)
    }

    /// Every name [`FromStr`] accepts, with its value.
    pub fn names() -> impl Iterator<Item = (&'static str, Dscp)> {
        NAMES.iter().map(|&(name, v)| (name, Dscp(v)))
    }
}

impl fmt::Display for Dscp {
    /// The name where there is one (`af41`), else the number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}", self.0),
        }
    }
}

/// A DSCP or ECN text that is neither a name nor a number in range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {text:?}: expected {accepted}")]
pub struct MarkingParseError {
    what: &'static str,
    text: String,
    accepted: &'static str,
}

impl FromStr for Dscp {
    type Err = MarkingParseError;

    /// A name (`ef`, `af11`..`af43`, `cs0`..`cs7`, `le`, `voice-admit`,
    /// `default`; any case) or a number 0 to 63 (decimal, or hex with
    /// `0x`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let number = match lower.strip_prefix("0x") {
            Some(hex) => u8::from_str_radix(hex, 16).ok(),
            None => lower.parse::<u8>().ok(),
        };
        number
            .and_then(Dscp::new)
            .or_else(|| {
                NAMES
                    .iter()
                    .find(|(name, _)| *name == lower)
                    .map(|&(_, v)| Dscp(v))
            })
            .ok_or_else(|| MarkingParseError {
                what: "DSCP",
                text: s.to_owned(),
                accepted: "a number 0-63 or a name: ef, af11-af43, cs0-cs7, le, voice-admit",
            })
    }
}

/// The ECN field (RFC 3168), the TOS byte's lower two bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ecn {
    /// 00: not ECN-capable.
    NotEct,
    /// 01: ECN-capable transport (1), L4S (RFC 9331).
    Ect1,
    /// 10: ECN-capable transport (0), classic ECN.
    Ect0,
    /// 11: congestion experienced (set by a queue, never by a sender).
    Ce,
}

impl Ecn {
    /// Every value, in code point order (00, 01, 10, 11).
    pub const ALL: [Ecn; 4] = [Ecn::NotEct, Ecn::Ect1, Ecn::Ect0, Ecn::Ce];

    /// The ECN field of a TOS / traffic-class byte.
    pub const fn of_tos(tos: u8) -> Self {
        match tos & 3 {
            0 => Ecn::NotEct,
            1 => Ecn::Ect1,
            2 => Ecn::Ect0,
            _ => Ecn::Ce,
        }
    }

    /// The two bits.
    pub const fn bits(self) -> u8 {
        match self {
            Ecn::NotEct => 0,
            Ecn::Ect1 => 1,
            Ecn::Ect0 => 2,
            Ecn::Ce => 3,
        }
    }

    /// `not-ect`, `ect1`, `ect0` or `ce`.
    pub const fn name(self) -> &'static str {
        match self {
            Ecn::NotEct => "not-ect",
            Ecn::Ect1 => "ect1",
            Ecn::Ect0 => "ect0",
            Ecn::Ce => "ce",
        }
    }
}

impl fmt::Display for Ecn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Ecn {
    type Err = MarkingParseError;

    /// What a sender may ask for: `ect0` or `ect1` (any case; `ect(0)`
    /// too). CE is a queue's mark and not-ECT is the default.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ect0" | "ect(0)" => Ok(Ecn::Ect0),
            "ect1" | "ect(1)" => Ok(Ecn::Ect1),
            _ => Err(MarkingParseError {
                what: "ECN",
                text: s.to_owned(),
                accepted: "ect0 or ect1",
            }),
        }
    }
}

/// The marking a sender sets on every datagram of its sockets: a DSCP,
/// an ECN code point, both or neither (the default: the system's, TOS 0).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Marking {
    /// The DSCP; `None`: 0.
    pub dscp: Option<Dscp>,
    /// The ECN code point; `None`: not-ECT.
    pub ecn: Option<Ecn>,
}

impl Marking {
    /// A marking of `dscp` and `ecn`.
    pub const fn new(dscp: Option<Dscp>, ecn: Option<Ecn>) -> Self {
        Self { dscp, ecn }
    }

    /// The TOS / traffic-class byte to set, or `None` when neither part
    /// was asked for (the socket is left alone).
    pub fn tos(self) -> Option<u8> {
        if self.dscp.is_none() && self.ecn.is_none() {
            return None;
        }
        let dscp = self.dscp.map_or(0, Dscp::value);
        let ecn = self.ecn.map_or(0, Ecn::bits);
        Some(dscp << 2 | ecn)
    }

    /// True when a DSCP or an ECN code point was asked for.
    pub fn is_set(self) -> bool {
        self.tos().is_some()
    }
}

impl fmt::Display for Marking {
    /// `dscp af41, ecn ect0`; `none` when nothing is set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.dscp, self.ecn) {
            (None, None) => f.write_str("none"),
            (Some(d), None) => write!(f, "dscp {d}"),
            (None, Some(e)) => write!(f, "ecn {e}"),
            (Some(d), Some(e)) => write!(f, "dscp {d}, ecn {e}"),
        }
    }
}

/// A receiver's count of the markings its data datagrams arrived with.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MarkCounts {
    /// Data datagrams whose marking was read. 0 while datagrams arrived
    /// means the backend does not read markings (see docs/PROTOCOL.md).
    pub datagrams: u64,
    /// Datagrams per DSCP value (index: the code point).
    pub dscp: [u64; 64],
    /// Datagrams per ECN code point (index: the two bits; see
    /// [`Ecn::bits`]).
    pub ecn: [u64; 4],
}

impl Default for MarkCounts {
    fn default() -> Self {
        Self {
            datagrams: 0,
            dscp: [0; 64],
            ecn: [0; 4],
        }
    }
}

/// Whether a requested marking arrived: per part, `None` when it was not
/// asked for or nothing was read, else whether every datagram read had it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Kept {
    /// Every datagram read carried the requested DSCP.
    pub dscp: Option<bool>,
    /// Every datagram read was still ECN-capable with the requested code
    /// point, or CE (a queue's congestion mark on an ECN-capable datagram
    /// is ECN working, not lost).
    pub ecn: Option<bool>,
}

impl MarkCounts {
    /// Nothing counted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts `datagrams` datagrams that arrived with the TOS /
    /// traffic-class byte `tos` (a GRO run shares one).
    pub fn record(&mut self, tos: u8, datagrams: u64) {
        self.datagrams += datagrams;
        self.dscp[usize::from(tos >> 2)] += datagrams;
        self.ecn[usize::from(tos & 3)] += datagrams;
    }

    /// Datagrams with this ECN code point.
    pub fn ecn_count(&self, ecn: Ecn) -> u64 {
        self.ecn[usize::from(ecn.bits())]
    }

    /// Datagrams that were not ECN-capable.
    pub fn not_ect(&self) -> u64 {
        self.ecn_count(Ecn::NotEct)
    }

    /// Datagrams marked ECT(0).
    pub fn ect0(&self) -> u64 {
        self.ecn_count(Ecn::Ect0)
    }

    /// Datagrams marked ECT(1).
    pub fn ect1(&self) -> u64 {
        self.ecn_count(Ecn::Ect1)
    }

    /// Datagrams marked CE (congestion experienced).
    pub fn ce(&self) -> u64 {
        self.ecn_count(Ecn::Ce)
    }

    /// Datagrams with this DSCP.
    pub fn dscp_count(&self, dscp: Dscp) -> u64 {
        self.dscp[usize::from(dscp.value())]
    }

    /// Every DSCP seen, in code point order, with its datagram count.
    pub fn dscp_seen(&self) -> impl Iterator<Item = (Dscp, u64)> + '_ {
        self.dscp
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(v, &n)| (Dscp(v as u8), n))
    }

    /// Whether `requested` survived the path (see [`Kept`]).
    pub fn kept(&self, requested: Marking) -> Kept {
        let read = self.datagrams > 0;
        Kept {
            dscp: requested
                .dscp
                .filter(|_| read)
                .map(|d| self.dscp_count(d) == self.datagrams),
            ecn: requested
                .ecn
                .filter(|_| read)
                .map(|e| self.ecn_count(e) + self.ce() == self.datagrams),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_to_their_rfc_values_and_print_back() {
        for (text, value) in [
            ("ef", 46),
            ("EF", 46),
            ("af11", 10),
            ("af12", 12),
            ("af13", 14),
            ("af21", 18),
            ("af22", 20),
            ("af23", 22),
            ("af31", 26),
            ("af32", 28),
            ("af33", 30),
            ("af41", 34),
            ("af42", 36),
            ("Af43", 38),
            ("cs0", 0),
            ("cs1", 8),
            ("cs2", 16),
            ("cs3", 24),
            ("cs4", 32),
            ("cs5", 40),
            ("cs6", 48),
            ("cs7", 56),
            ("le", 1),
            ("voice-admit", 44),
            ("default", 0),
            ("0", 0),
            ("63", 63),
            ("0x2e", 46),
            (" 34 ", 34),
        ] {
            let d: Dscp = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(d.value(), value, "{text}");
        }
        // Every name prints as itself, except the alias `default` (cs0).
        for (name, d) in Dscp::names().filter(|(n, _)| *n != "default") {
            assert_eq!(d.to_string(), name);
        }
        assert_eq!(Dscp::new(5).unwrap().to_string(), "5");
        assert_eq!(Dscp::new(64), None);
    }

    #[test]
    fn bad_dscp_and_ecn_texts_say_what_is_accepted() {
        for bad in ["64", "-1", "af44", "cs8", "", "0x40", "efx"] {
            let e = bad.parse::<Dscp>().unwrap_err().to_string();
            assert!(e.contains("0-63") && e.contains("af11"), "{bad}: {e}");
        }
        for bad in ["ce", "not-ect", "ect2", "1"] {
            let e = bad.parse::<Ecn>().unwrap_err().to_string();
            assert!(e.contains("ect0 or ect1"), "{bad}: {e}");
        }
        assert_eq!("ECT1".parse::<Ecn>(), Ok(Ecn::Ect1));
        assert_eq!("ect(0)".parse::<Ecn>(), Ok(Ecn::Ect0));
    }

    #[test]
    fn tos_byte_is_dscp_then_ecn() {
        assert_eq!(Marking::default().tos(), None);
        assert_eq!(Marking::new(Some(Dscp::EF), None).tos(), Some(0xb8));
        assert_eq!(Marking::new(None, Some(Ecn::Ect1)).tos(), Some(0x01));
        assert_eq!(
            Marking::new(Some(Dscp::AF41), Some(Ecn::Ect0)).tos(),
            Some(0x8a)
        );
        for tos in 0..=255u8 {
            assert_eq!(
                Dscp::of_tos(tos).value() << 2 | Ecn::of_tos(tos).bits(),
                tos
            );
        }
    }

    #[test]
    fn counts_and_what_survived() {
        let asked = Marking::new(Some(Dscp::AF41), Some(Ecn::Ect0));
        let mut c = MarkCounts::new();
        assert_eq!(c.kept(asked), Kept::default());
        c.record(0x8a, 10);
        c.record(0x8b, 2); // CE on top of af41
        assert_eq!(
            (c.datagrams, c.ect0(), c.ce(), c.not_ect(), c.ect1()),
            (12, 10, 2, 0, 0)
        );
        assert_eq!(c.kept(asked).dscp, Some(true));
        assert_eq!(c.kept(asked).ecn, Some(true));
        c.record(0x20, 3); // re-marked cs1, ECN bleached
        assert_eq!(c.kept(asked).dscp, Some(false));
        assert_eq!(c.kept(asked).ecn, Some(false));
        let seen: Vec<_> = c.dscp_seen().map(|(d, n)| (d.value(), n)).collect();
        assert_eq!(seen, vec![(8, 3), (34, 12)]);
        assert_eq!(c.kept(Marking::new(Some(Dscp::AF41), None)).ecn, None);
    }
}
