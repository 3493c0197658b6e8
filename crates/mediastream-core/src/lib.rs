//! Sans-IO core of mediastream: the MediaStream (ctsTraffic `-protocol:udp`)
//! wire formats, the stream arithmetic both roles derive from the same
//! settings, and the frame sender / frame receiver state machines.
//!
//! Nothing in this crate touches a socket or reads a clock: every function
//! that needs the time takes `now: Instant` as an argument, so the same code
//! runs under a real event loop, under IOCP, or in a deterministic simulator.
//!
//! Layers, top to bottom:
//! - [`wire`]: zero-copy views and emitters for every datagram, and the
//!   payload pattern.
//! - [`settings`]: stream parameters, validation and derived numbers.
//! - [`server`]: the server as public traits (listener handler,
//!   connection manager, socket factory) over the patterns.
//! - [`pattern`]: the [`IoPattern`](pattern::IoPattern) trait and its
//!   sender and receiver implementations, with their statistics.
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod auth;
pub mod client;
pub mod impair;
pub mod pattern;
pub mod rand;
pub mod server;
pub mod settings;
pub mod sys;
pub mod time;
pub mod wire;
