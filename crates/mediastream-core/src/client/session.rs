use std::time::{Duration, Instant};

use thiserror::Error;

use crate::auth::AccessKey;
use crate::pattern::model::{FrameModel, FrameSizes, ModelError};
use crate::pattern::{
    FrameReceiver, FrameSender, IoPattern, ReceiverConfig, SenderConfig, Status, StreamError,
    StreamStats, Transmit, V1Session, Verify,
};
use crate::settings::{SettingsError, StreamPlan, StreamSettings};
use crate::time::Timebase;
use crate::wire::v1::{self, Cookie, RequestRepr, V1Message};
use crate::wire::{self, ConnectionId, Datagram};

/// Which way the frames flow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The server sends, the client receives (START or REQUEST).
    #[default]
    Receive,
    /// The client sends, the server receives (JOIN).
    Send,
}

impl Direction {
    /// The name [`FromStr`](std::str::FromStr) takes and `Display` writes:
    /// `recv` or `send`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Receive => "recv",
            Direction::Send => "send",
        }
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A direction the client does not know (see [`Direction`]'s `FromStr`).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("'{value}' is not a direction: use recv (or receive) or send")]
pub struct ParseDirectionError {
    /// The text that was given.
    pub value: String,
}

impl std::str::FromStr for Direction {
    type Err = ParseDirectionError;

    /// `recv` or `receive`: [`Direction::Receive`]; `send`:
    /// [`Direction::Send`]. Exact, lowercase, as the CLI's `--direction`.
    ///
    /// ```
    /// use mediastream_core::client::Direction;
    ///
    /// assert_eq!("send".parse(), Ok(Direction::Send));
    /// assert_eq!(Direction::Receive.to_string().parse(), Ok(Direction::Receive));
    /// let e = "up".parse::<Direction>().unwrap_err();
    /// assert_eq!(e.to_string(), "'up' is not a direction: use recv (or receive) or send");
    /// ```
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "recv" | "receive" => Ok(Direction::Receive),
            "send" => Ok(Direction::Send),
            other => Err(ParseDirectionError {
                value: other.to_owned(),
            }),
        }
    }
}

/// What a client asks for and how it behaves.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The stream.
    pub settings: StreamSettings,
    /// Which way it flows.
    pub direction: Direction,
    /// Speak plain ctsTraffic (START, no extension): for a ctsTraffic
    /// server. The server then decides the stream; only receiving works.
    pub compat: bool,
    /// v1: the receiver's report interval.
    pub report_interval: Duration,
    /// v1: the sender's consent timeout.
    pub consent_timeout: Duration,
    /// Payload verification when receiving.
    pub verify: Verify,
    /// Keep per-frame records (for a jitter file).
    pub record_frames: bool,
    /// When receiving: keep a per-frame timeline in the stream's metrics
    /// (see [`crate::pattern::ReceiverConfig::timeline`]).
    pub timeline: bool,
    /// JOIN attempts before giving up on a server that does not answer.
    pub join_attempts: u32,
    /// The stream's token (pick it at random: [`random_token`](super::random_token)).
    pub token: u64,
    /// The clock for wire timestamps.
    pub timebase: Option<Timebase>,
    /// When sending: spread each frame over this long (see
    /// [`SenderConfig::spread`]); zero sends frames as bursts.
    pub spread: Duration,
    /// v1: a frame-size model, sent as frame data (the request asks for
    /// it; a receiving client's server replays a trace of its own).
    /// `None`: plain data, as ctsTraffic's.
    pub frame_sizes: Option<FrameSizes>,
}

impl ClientConfig {
    /// A receiving v1 client with default options.
    pub fn new(settings: StreamSettings, token: u64) -> Self {
        Self {
            settings,
            direction: Direction::Receive,
            compat: false,
            report_interval: V1Session::DEFAULT_REPORT_INTERVAL,
            consent_timeout: V1Session::DEFAULT_CONSENT_TIMEOUT,
            verify: Verify::Count,
            record_frames: false,
            timeline: false,
            join_attempts: 5,
            token,
            timebase: None,
            spread: Duration::ZERO,
            frame_sizes: None,
        }
    }

    /// Checks the configuration and derives the plan.
    pub fn plan(&self) -> Result<StreamPlan, ClientError> {
        if self.compat && self.direction == Direction::Send {
            return Err(ClientError::CompatCannotSend);
        }
        if self.compat && self.frame_sizes.is_some() {
            return Err(ClientError::CompatModel);
        }
        Ok(self.settings.plan()?)
    }

    fn session(&self) -> Option<V1Session> {
        (!self.compat).then_some(V1Session {
            token: self.token,
            report_interval: self.report_interval,
            consent_timeout: self.consent_timeout,
            report_blocks: false,
        })
    }

    /// The REQUEST / JOIN this configuration sends (without a cookie;
    /// [`RequestRepr::emit`] writes it, as a JOIN when sending). For a
    /// hand-written client, or to check what a server will be asked.
    ///
    /// ```
    /// use mediastream_core::client::ClientConfig;
    /// use mediastream_core::settings::StreamSettings;
    ///
    /// let config = ClientConfig::new(StreamSettings::new(8_000_000, 50, 3), 7);
    /// let request = config.request();
    /// assert_eq!((request.token, request.frame_rate, request.report_interval_ms), (7, 50, 250));
    /// let mut buf = [0u8; mediastream_core::wire::v1::REQUEST_LEN];
    /// assert_eq!(request.emit(false, &mut buf), Some(buf.len()));
    /// ```
    pub fn request(&self) -> RequestRepr {
        let s = &self.settings;
        RequestRepr {
            token: self.token,
            bits_per_second: s.bits_per_second,
            frame_rate: s.frame_rate,
            stream_length_secs: s.stream_length_secs,
            datagram_size: s.datagram_size,
            buffer_depth_ms: s.buffer_depth_ms,
            report_interval_ms: millis(self.report_interval),
            consent_timeout_ms: millis(self.consent_timeout),
            cookie: None,
            media: self.frame_sizes.as_ref().map(FrameSizes::to_request),
        }
    }
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// Why a client configuration cannot run.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// The stream settings are invalid.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// ctsTraffic has no way for a client to send.
    #[error("compat mode cannot send: ctsTraffic servers only send (drop --compat or use --direction recv)")]
    CompatCannotSend,
    /// ctsTraffic streams are constant: no frame-size model.
    #[error(
        "compat mode streams are constant (ctsTraffic's): --frame-sizes needs v1 (drop --compat)"
    )]
    CompatModel,
    /// The frame-size model does not fit the stream.
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl From<ClientError> for std::io::Error {
    /// A configuration that cannot run is invalid input.
    fn from(e: ClientError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
    }
}

// One per session and never moved after creation: boxing would only add
// an indirection on every datagram.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Stage {
    /// Receiving from the start (the receiver's buffer clock runs).
    Receiving(FrameReceiver),
    /// JOIN sent, waiting for ACCEPT.
    Joining,
    /// ACCEPT arrived: sending.
    Sending(FrameSender),
}

/// One client stream, from request to result.
#[derive(Debug)]
pub struct ClientSession {
    config: ClientConfig,
    plan: StreamPlan,
    stage: Stage,
    requests_sent: u32,
    next_request: Option<Instant>,
    heard_from_server: bool,
    connection_id: Option<ConnectionId>,
    failure: Option<StreamError>,
    no_stats: StreamStats,
    /// The server's cookie, echoed in every request after its CHALLENGE.
    cookie: Option<Cookie>,
    /// A new cookie arrived: send the request with it at once.
    answer_challenge: bool,
    /// Requests sent at once to answer a CHALLENGE (not counted as
    /// attempts against `join_attempts`).
    challenge_answers: u32,
    /// Keyed access: tag what we send, drop v1 datagrams without the tag.
    key: Option<AccessKey>,
    /// A sending session's model, resolved for the plan.
    model: Option<FrameModel>,
}

/// At most this many CHALLENGEs are answered at once; later ones wait for
/// the regular retry (a path that keeps changing cookies gets no faster
/// requests from us).
const MAX_CHALLENGE_ANSWERS: u32 = 4;

impl ClientSession {
    /// Starts a session at `now`; its first request is due at once. A
    /// receiving stream's buffer depth (the time it waits for its first
    /// datagram) counts from when that request is sent, not from `now`.
    pub fn new(config: ClientConfig, now: Instant) -> Result<Self, ClientError> {
        let plan = config.plan()?;
        let model = match (&config.frame_sizes, config.direction) {
            (Some(sizes), Direction::Send) => Some(sizes.resolve(&plan)?),
            _ => None,
        };
        let stage = match config.direction {
            Direction::Receive => Stage::Receiving(Self::receiver(&config, plan, now)),
            Direction::Send => Stage::Joining,
        };
        Ok(Self {
            config,
            plan,
            stage,
            requests_sent: 0,
            next_request: Some(now),
            heard_from_server: false,
            connection_id: None,
            failure: None,
            no_stats: StreamStats::default(),
            cookie: None,
            answer_challenge: false,
            challenge_answers: 0,
            key: None,
            model,
        })
    }

    fn receiver(config: &ClientConfig, plan: StreamPlan, now: Instant) -> FrameReceiver {
        let rx = FrameReceiver::new(
            plan,
            ReceiverConfig {
                verify: config.verify,
                record_frames: config.record_frames,
                timebase: config.timebase,
                greeting: Default::default(),
                v1: config.session(),
                timeline: config.timeline,
            },
            now,
        );
        match config.frame_sizes {
            Some(_) => rx.expect_frame_data(),
            None => rx,
        }
    }

    /// Keyed access: every v1 datagram this session sends carries `key`'s
    /// tag, and v1 datagrams from the server without it are dropped.
    pub fn with_key(mut self, key: Option<AccessKey>) -> Self {
        self.key = key;
        self
    }

    /// CHALLENGEs answered with a new request (0 or 1 on a good path).
    pub fn challenges_answered(&self) -> u32 {
        self.challenge_answers
    }

    /// The stream's plan.
    pub fn plan(&self) -> &StreamPlan {
        &self.plan
    }

    /// The session's configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The connection id the server announced.
    pub fn connection_id(&self) -> Option<ConnectionId> {
        match &self.stage {
            Stage::Receiving(rx) => rx.connection_id().or(self.connection_id),
            _ => self.connection_id,
        }
    }

    /// Requests (START, REQUEST or JOIN) sent so far.
    pub fn requests_sent(&self) -> u32 {
        self.requests_sent
    }

    /// Takes the oldest per-frame record (receiving, with `record_frames`).
    pub fn poll_record(&mut self) -> Option<crate::pattern::FrameRecord> {
        match &mut self.stage {
            Stage::Receiving(rx) => rx.poll_record(),
            _ => None,
        }
    }

    fn inner(&self) -> Option<&dyn IoPattern> {
        match &self.stage {
            Stage::Receiving(rx) => Some(rx),
            Stage::Sending(tx) => Some(tx),
            Stage::Joining => None,
        }
    }

    fn inner_mut(&mut self) -> Option<&mut dyn IoPattern> {
        match &mut self.stage {
            Stage::Receiving(rx) => Some(rx),
            Stage::Sending(tx) => Some(tx),
            Stage::Joining => None,
        }
    }

    /// Still asking: receiving with nothing from the server yet, or joining.
    fn requesting(&self) -> bool {
        match &self.stage {
            Stage::Receiving(rx) => {
                !rx.has_received_data() && !self.heard_from_server && !rx.status().is_finished()
            }
            Stage::Joining => true,
            Stage::Sending(_) => false,
        }
    }

    fn emit_request(&mut self, buf: &mut [u8]) -> Option<usize> {
        if self.config.compat {
            return wire::emit_start(buf);
        }
        let join = self.config.direction == Direction::Send;
        let request = RequestRepr {
            cookie: self.cookie,
            ..self.config.request()
        };
        let len = request.emit(join, buf)?;
        self.seal(&mut buf[..len]);
        Some(len)
    }

    /// Tags a lone v1 datagram when keyed.
    fn seal(&self, datagram: &mut [u8]) {
        if let Some(key) = &self.key {
            if wire::read_flag(datagram).is_ok_and(|f| v1::EXTENSION_FLAGS.contains(&f)) {
                key.seal(datagram);
            }
        }
    }

    fn on_challenge(&mut self, now: Instant, cookie: Cookie) {
        if !self.requesting() || self.cookie == Some(cookie) {
            return;
        }
        self.cookie = Some(cookie);
        if self.challenge_answers < MAX_CHALLENGE_ANSWERS {
            self.answer_challenge = true;
            self.next_request = Some(now);
        }
    }

    fn on_accept(&mut self, now: Instant, connection_id: ConnectionId) {
        self.heard_from_server = true;
        self.connection_id = Some(connection_id);
        self.next_request = None;
        if matches!(self.stage, Stage::Joining) {
            let config = SenderConfig {
                v1: self.config.session(),
                timebase: self.config.timebase,
                spread: self.config.spread,
                ..SenderConfig::default()
            };
            let tx = FrameSender::new(self.plan, config, now);
            self.stage = Stage::Sending(match &self.model {
                Some(model) => tx.with_model(model.clone()),
                None => tx,
            });
        }
    }

    /// What a stream its pattern calls complete really was, as the
    /// client can tell: the server went silent for longer than the buffer
    /// depth, mid-stream or until the end
    /// ([`StreamError::ServerStopped`]), a v1 stream ended without the
    /// server's account (END when receiving, the final REPORT when
    /// sending), or not one frame completed. Dropped frames alone still
    /// do not fail a stream.
    fn verdict(&self) -> Status {
        let frames = self.plan.stream_frames();
        let (completed, missing) = match &self.stage {
            Stage::Receiving(rx) => {
                if let Some((at, silent)) = rx.sender_stopped() {
                    return Status::Failed(StreamError::ServerStopped {
                        at_ms: u64::try_from(at.as_millis()).unwrap_or(u64::MAX),
                        silent_ms: u64::try_from(silent.as_millis()).unwrap_or(u64::MAX),
                    });
                }
                let v1 = !self.config.compat;
                let s = rx.stats();
                (
                    s.frames_completed,
                    (v1 && s.peer_end.is_none()).then_some(StreamError::NoEnd),
                )
            }
            Stage::Sending(tx) => match tx.stats().peer_report.as_deref() {
                Some(r) if r.is_final => (r.frames_completed, None),
                Some(r) => (r.frames_completed, Some(StreamError::NoFinalReport)),
                None => (0, Some(StreamError::NoFinalReport)),
            },
            Stage::Joining => return Status::Running,
        };
        if let Some(error) = missing {
            return Status::Failed(error);
        }
        if completed == 0 {
            return Status::Failed(StreamError::NoFrameCompleted { frames });
        }
        Status::Completed
    }

    fn fail(&mut self, error: StreamError) {
        if self.failure.is_none() && !self.status().is_finished() {
            self.next_request = None;
            self.failure = Some(error);
        }
    }
}

impl ClientSession {
    /// A datagram from the server: the session's own handling, then the
    /// stream's pattern gets it with its marking.
    fn on_datagram(&mut self, now: Instant, datagram: &[u8], tos: Option<u8>) {
        if self.failure.is_some() {
            return;
        }
        // Data, nearly every datagram a receiving session sees, is the
        // inner pattern's alone: handed on without a parse of its own
        // here (the pattern parses it).
        if matches!(
            wire::read_flag(datagram),
            Ok(wire::FLAG_DATA | wire::FLAG_FRAME_DATA)
        ) {
            if let Some(inner) = self.inner_mut() {
                inner.handle_marked_datagram(now, datagram, tos);
            }
            return;
        }
        let token = self.config.token;
        let parsed = wire::parse(datagram);
        if let Some(key) = &self.key {
            if matches!(parsed, Ok(Datagram::V1(_))) && !key.verify(datagram) {
                return;
            }
        }
        match parsed {
            Ok(Datagram::V1(V1Message::Challenge { token: t, cookie })) if t == token => {
                self.on_challenge(now, cookie);
                return;
            }
            Ok(Datagram::V1(V1Message::Refuse {
                token: t, reason, ..
            })) if t == token => {
                // The reason is the peer's text: escaped once here, so no
                // embedder prints it raw.
                let reason = wire::printable(reason);
                self.fail(StreamError::Refused { reason });
                return;
            }
            Ok(Datagram::V1(V1Message::Accept {
                token: t,
                connection_id,
            })) if t == token => {
                self.on_accept(now, connection_id);
            }
            Ok(Datagram::ConnectionId(id)) => {
                self.heard_from_server = true;
                self.connection_id = Some(id);
            }
            _ => {}
        }
        if let Some(inner) = self.inner_mut() {
            inner.handle_marked_datagram(now, datagram, tos);
        }
    }
}

impl IoPattern for ClientSession {
    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        if self.failure.is_some() {
            return None;
        }
        if let Some(due) = self.next_request.filter(|&t| t <= now) {
            if !self.requesting() {
                self.next_request = None;
            } else if matches!(self.stage, Stage::Joining)
                && !self.answer_challenge
                && self.requests_sent - self.challenge_answers >= self.config.join_attempts
            {
                let attempts = self.requests_sent;
                self.fail(StreamError::NoAnswer { attempts });
                return None;
            } else {
                let retry = self.plan.start_retry_interval();
                self.next_request = Some(if due + retry > now {
                    due + retry
                } else {
                    now + retry
                });
                let first_with_cookie = self.answer_challenge && self.challenge_answers == 0;
                if self.requests_sent == 0 || first_with_cookie {
                    // The buffer depth counts from the first request the
                    // server can act on (the first one, or the first with
                    // its cookie), not from when this session was built:
                    // the handshake's round trip is not taken from it.
                    if let Stage::Receiving(rx) = &mut self.stage {
                        rx.restart_clock(now);
                    }
                }
                if self.answer_challenge {
                    self.answer_challenge = false;
                    self.challenge_answers += 1;
                }
                self.requests_sent += 1;
                return self.emit_request(buf);
            }
        }
        let len = self.inner_mut()?.poll_transmit(now, buf)?;
        self.seal(&mut buf[..len]);
        Some(len)
    }

    fn poll_transmit_batch(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        max_segments: usize,
    ) -> Option<Transmit> {
        if self.failure.is_some() {
            return None;
        }
        if self.next_request.is_some_and(|t| t <= now) {
            let len = self.poll_transmit(now, buf)?;
            return Some(Transmit {
                len,
                segment_size: len,
            });
        }
        let t = self
            .inner_mut()?
            .poll_transmit_batch(now, buf, max_segments)?;
        if t.len == t.segment_size {
            self.seal(&mut buf[..t.len]);
        }
        Some(t)
    }

    fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) {
        self.on_datagram(now, datagram, None);
    }

    fn handle_marked_datagram(&mut self, now: Instant, datagram: &[u8], tos: Option<u8>) {
        self.on_datagram(now, datagram, tos);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.failure.is_some() {
            return None;
        }
        if self.requests_sent == 0 {
            // Nothing has left yet: the receiver's clock has not started.
            return self.next_request;
        }
        let inner = self.inner().and_then(|p| p.poll_timeout());
        [self.next_request, inner].into_iter().flatten().min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.requests_sent == 0 {
            return;
        }
        if let Some(inner) = self.inner_mut() {
            inner.handle_timeout(now);
        }
    }

    fn status(&self) -> Status {
        if let Some(error) = &self.failure {
            return Status::Failed(error.clone());
        }
        match self.inner().map(|p| p.status()) {
            // Nothing at all came back: say so, rather than "no data".
            Some(Status::Failed(StreamError::NoData)) if !self.heard_from_server => {
                Status::Failed(StreamError::NoAnswer {
                    attempts: self.requests_sent,
                })
            }
            Some(Status::Completed) => self.verdict(),
            Some(status) => status,
            None => Status::Running,
        }
    }

    fn stats(&self) -> &StreamStats {
        match self.inner() {
            Some(p) => p.stats(),
            None => &self.no_stats,
        }
    }

    fn abort(&mut self, reason: &str) {
        match self.inner_mut() {
            Some(p) => p.abort(reason),
            None => self.fail(StreamError::Aborted {
                reason: reason.to_owned(),
            }),
        }
    }
}
