//! Test support shared by the integration tests: a seeded RNG and a
//! simulated link with a virtual clock (after smoltcp's netsim and
//! quinn-proto's `Pair`).
#![allow(dead_code)]

pub mod link;
pub mod model;
pub mod rng;
