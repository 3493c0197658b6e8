//! mediastream: a UDP media-stream traffic tool and library.
//!
//! This facade re-exports [`mediastream_core`]; see its documentation for
//! the layers (wire, settings, pattern).
#![deny(missing_docs)]

pub use mediastream_core::*;
