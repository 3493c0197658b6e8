use std::time::{Duration, Instant};

use super::StreamRequest;
use crate::pattern::{
    FrameReceiver, FrameSender, IoPattern, ReceiverConfig, Role, SenderConfig, Verify,
};
use crate::time::Timebase;

/// Builds the stream for a request, so that the server never names a
/// concrete stream type (tests inject fakes; an embedder can wrap the
/// patterns, record them, or refuse).
///
/// ```
/// use std::time::Instant;
/// use mediastream_core::pattern::IoPattern;
/// use mediastream_core::server::{ConnectedSocketFactory, PatternFactory, StreamRequest};
///
/// /// Refuses everything (a server in maintenance).
/// struct Closed;
/// impl ConnectedSocketFactory for Closed {
///     fn create(&self, _: &StreamRequest, _: Instant) -> Result<Box<dyn IoPattern + Send>, String> {
///         Err("closed for maintenance".into())
///     }
/// }
/// let _default = PatternFactory::default();
/// ```
pub trait ConnectedSocketFactory: Send + Sync {
    /// Creates the stream's state machine for the server's role in
    /// `request` at `now`, or says why not.
    fn create(
        &self,
        request: &StreamRequest,
        now: Instant,
    ) -> Result<Box<dyn IoPattern + Send>, String>;
}

/// The default factory: a [`FrameSender`] when the server sends, a
/// [`FrameReceiver`] when it receives, greeting the client with a
/// connection id (plain START) or an ACCEPT (v1).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct PatternFactory {
    /// Payload verification for receiving streams.
    pub verify: Verify,
    /// The clock for wire timestamps; `None`: each stream's own.
    pub timebase: Option<Timebase>,
    /// The sender's send-ahead tolerance (see [`SenderConfig`]).
    pub send_ahead: Duration,
    /// Spread each sent frame over this long (see [`SenderConfig`]);
    /// zero sends frames as bursts.
    pub spread: Duration,
    /// Receiving streams keep a per-frame timeline (see
    /// [`ReceiverConfig::timeline`]).
    pub timeline: bool,
}

impl Default for PatternFactory {
    fn default() -> Self {
        Self {
            verify: Verify::Count,
            timebase: None,
            send_ahead: SenderConfig::default().send_ahead,
            spread: Duration::ZERO,
            timeline: false,
        }
    }
}

impl ConnectedSocketFactory for PatternFactory {
    fn create(
        &self,
        request: &StreamRequest,
        now: Instant,
    ) -> Result<Box<dyn IoPattern + Send>, String> {
        let greeting = request.greeting();
        Ok(match request.key.role {
            Role::Sender => Box::new(FrameSender::new(
                request.plan,
                SenderConfig {
                    send_ahead: self.send_ahead,
                    greeting,
                    v1: request.v1,
                    timebase: self.timebase,
                    spread: self.spread,
                },
                now,
            )),
            Role::Receiver => Box::new(FrameReceiver::new(
                request.plan,
                ReceiverConfig {
                    verify: self.verify,
                    record_frames: false,
                    timebase: self.timebase,
                    greeting,
                    v1: request.v1,
                    timeline: self.timeline,
                },
                now,
            )),
        })
    }
}
