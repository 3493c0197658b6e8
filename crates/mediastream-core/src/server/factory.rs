use std::sync::Arc;
use std::time::{Duration, Instant};

use super::StreamRequest;
use crate::pattern::model::{FrameSizes, Trace};
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
#[derive(Debug, Clone)]
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
    /// The trace this server replays when a REQUEST asks for `trace`
    /// (the client's file stays with the client); `None` refuses those.
    pub trace: Option<Arc<Trace>>,
}

impl Default for PatternFactory {
    fn default() -> Self {
        Self {
            verify: Verify::Count,
            timebase: None,
            send_ahead: SenderConfig::default().send_ahead,
            spread: Duration::ZERO,
            timeline: false,
            trace: None,
        }
    }
}

impl PatternFactory {
    /// The sender for a request: frame data of its model when it asked
    /// for one.
    fn sender(&self, request: &StreamRequest, now: Instant) -> Result<FrameSender, String> {
        let config = SenderConfig {
            send_ahead: self.send_ahead,
            greeting: request.greeting(),
            v1: request.v1,
            timebase: self.timebase,
            spread: self.spread,
        };
        let tx = FrameSender::new(request.plan, config, now);
        let Some(media) = &request.media else {
            return Ok(tx);
        };
        let model = FrameSizes::from_request(media, self.trace.as_deref())
            .and_then(|sizes| sizes.resolve(&request.plan))
            .map_err(|e| e.to_string())?;
        Ok(tx.with_model(model))
    }
}

impl ConnectedSocketFactory for PatternFactory {
    fn create(
        &self,
        request: &StreamRequest,
        now: Instant,
    ) -> Result<Box<dyn IoPattern + Send>, String> {
        Ok(match request.key.role {
            Role::Sender => Box::new(self.sender(request, now)?),
            Role::Receiver => Box::new(self.receiver(request, now)),
        })
    }
}

impl PatternFactory {
    fn receiver(&self, request: &StreamRequest, now: Instant) -> FrameReceiver {
        let greeting = request.greeting();
        let rx = FrameReceiver::new(
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
        );
        match request.media {
            Some(_) => rx.expect_frame_data(),
            None => rx,
        }
    }
}
