//! Tools built on the backends that are not backends themselves.
//!
//! - [`relay`]: the impairment relay, a UDP forwarder that damages
//!   traffic the way [`impair`](crate::impair) describes and logs what it
//!   did to each datagram (the CLI's `relay` subcommand, and the tests that
//!   work out the exact outcome of every frame).

pub mod relay;
