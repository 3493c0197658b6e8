//! Test support shared by the integration tests: a simulated link on a
//! virtual clock (after smoltcp's netsim and quinn-proto's `Pair`), whose
//! seeded decisions are the library's own (`mediastream::impair`, the
//! same as the impairment relay's), and a model of the receiver rules.
#![allow(dead_code)]

pub mod link;
pub mod model;
