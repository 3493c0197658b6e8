//! mediastream's library: the MediaStream (ctsTraffic `-protocol:udp`)
//! wire formats, the stream arithmetic both roles derive from the same
//! settings, the frame sender / frame receiver state machines, the server
//! and client logic, and the I/O backends that run them.
//!
//! A server and a client in one process, on loopback, both directions
//! (with the default feature `io`):
//!
#![cfg_attr(feature = "io", doc = "```")]
#![cfg_attr(feature = "io", doc = include_str!("../examples/doc_loopback.rs"))]
#![cfg_attr(feature = "io", doc = "```")]
//!
//! # Layers
//!
//! The sans-IO core takes `now: Instant` as an argument wherever it needs
//! the time and never touches a socket or a thread, so the same code runs
//! under the mio backend, under IOCP, or in a deterministic simulator.
//! Built with `default-features = false` the crate is only that core, and
//! none of mio, socket2, libc, windows-sys or getrandom is in its tree (CI
//! checks it):
//! - [`wire`]: zero-copy views and emitters for every datagram, and the
//!   payload pattern.
//! - [`settings`]: stream parameters, validation and derived numbers.
//! - [`pattern`]: the [`IoPattern`](pattern::IoPattern) trait and its
//!   sender and receiver implementations, with their statistics.
//! - [`server`]: the server as public traits (listener handler,
//!   connection manager, socket factory, observer) over the patterns;
//!   [`Server::drive`](server::Server::drive) is how a backend runs it.
//! - [`client`]: a client stream (request, handshake, then a pattern).
//! - [`auth`], [`impair`], [`rand`], [`time`]: keyed access, the
//!   impairment model, the one pseudo-random generator, wire clocks.
//!
//! With the default feature `io`:
//! - [`sys`]: the backends (mio everywhere, IOCP on Windows) behind one
//!   API: [`start_server`](sys::start_server), [`start_client`](sys::start_client)
//!   and [`run_client`](sys::run_client). Each says which threads it starts,
//!   whether it blocks and how it stops. A client can run a pattern of
//!   its own through them ([`ClientOptions::pattern`](sys::ClientOptions::pattern)).
//! - [`tools`]: the impairment relay.
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod auth;
pub mod client;
pub mod impair;
pub mod pattern;
pub mod rand;
pub mod server;
pub mod settings;
#[cfg(feature = "io")]
pub mod sys;
pub mod time;
#[cfg(feature = "io")]
pub mod tools;
pub mod wire;
