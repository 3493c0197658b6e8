//! mediastream: a UDP media-stream traffic tool and library.
//!
//! This facade re-exports [`mediastream_core`]; see its documentation for
//! the layers and a first example.
#![deny(missing_docs)]

pub use mediastream_core::*;

/// README.md's Rust code, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}
