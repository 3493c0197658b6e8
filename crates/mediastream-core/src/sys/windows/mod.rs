//! The native Windows backend: I/O completion ports.
//!
//! Split the way mio splits its Windows code, one small file per thing:
//! [`port`] (the completion port), [`op`] (the overlapped receive and the
//! memory it owns), [`udp`] (the socket: overlapped WSARecvFrom, WSASendTo,
//! SIO_UDP_CONNRESET off), [`timer`] (a high-resolution waitable timer),
//! [`engine`] (worker threads draining the port in batches with
//! GetQueuedCompletionStatusEx, a timer thread, and a shutdown that
//! cancels every pending receive and waits for its completion before the
//! memory goes), then [`server`] and [`client`] on top.
//!
//! Sockets come from socket2, which creates them with WSA_FLAG_OVERLAPPED.
//! Each listening socket keeps `prepost` receives posted at all times
//! (ctsTraffic's PrePostRecvs, default 2). Sends are synchronous WSASendTo
//! calls on the same socket: a UDP send completes at once unless the send
//! buffer is full, and then waiting is the right back-pressure.
// This module is the FFI boundary: every unsafe block says why it holds.
#![allow(unsafe_code)]

mod client;
mod engine;
mod op;
mod port;
mod server;
mod timer;
mod udp;

pub(crate) use client::run_client;
pub(crate) use server::start_server;

/// Receives kept posted per socket (ctsTraffic's PrePostRecvs default).
pub(crate) const DEFAULT_PREPOST: usize = 2;
