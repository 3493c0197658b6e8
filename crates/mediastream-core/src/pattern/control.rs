use std::collections::VecDeque;
use std::time::Duration;

use crate::wire::v1::{self, EndRepr, ReportRepr, V1Message};
use crate::wire::ConnectionId;

/// Parameters of a v1 stream, the same at both ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V1Session {
    /// The token the client chose; every v1 datagram of the stream has it.
    pub token: u64,
    /// How often the receiver reports.
    pub report_interval: Duration,
    /// The sender stops when no report arrived for this long.
    pub consent_timeout: Duration,
    /// The peer reads REPORT blocks (it announced
    /// [`FEATURE_REPORT_BLOCKS`](crate::wire::v1::FEATURE_REPORT_BLOCKS)),
    /// so a receiver appends its marking counts to its reports. A
    /// client's receiver learns it from the server's END instead.
    pub report_blocks: bool,
}

impl V1Session {
    /// Default report interval: 250 ms.
    pub const DEFAULT_REPORT_INTERVAL: Duration = Duration::from_millis(250);
    /// Default consent timeout: 3 s.
    pub const DEFAULT_CONSENT_TIMEOUT: Duration = Duration::from_secs(3);

    /// A session with the default intervals.
    pub fn new(token: u64) -> Self {
        Self {
            token,
            report_interval: Self::DEFAULT_REPORT_INTERVAL,
            consent_timeout: Self::DEFAULT_CONSENT_TIMEOUT,
            report_blocks: false,
        }
    }
}

/// What a server-side pattern sends before anything else, and again when
/// the client repeats its request ([`Greeter`] sends it and keeps the
/// rule).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Greeting {
    /// Nothing (a client-side pattern).
    #[default]
    None,
    /// ctsTraffic's connection-id datagram (answer to a plain START).
    ConnectionId(ConnectionId),
    /// A v1 ACCEPT carrying the connection id (answer to REQUEST / JOIN).
    Accept(ConnectionId),
}

/// The greeting a server-side pattern owes its client, and the rule for
/// sending it again: the v1 handshake's last step, offered to custom
/// patterns (the [`FrameSender`](super::FrameSender) and
/// [`FrameReceiver`](super::FrameReceiver) use it too).
///
/// The rule: a stream the [`Server`](crate::server::Server) creates sends
/// its greeting (an ACCEPT for a v1 REQUEST or JOIN, the connection-id
/// datagram for a plain START) before anything else; the client waits
/// for it (a v1 client sends nothing and counts nothing until the
/// ACCEPT). The server hands a repeated REQUEST or JOIN of a running
/// stream to that stream's pattern, because the client repeats its
/// request when it has not heard the answer: the pattern then sends the
/// greeting again. (A repeated plain START is dropped by the server and
/// counted as `repeated_starts`; ctsTraffic does the same.) On a keyed
/// server the backend tags the greeting; the pattern writes it untagged.
///
/// ```
/// use std::time::Instant;
/// use mediastream_core::pattern::{Greeter, Greeting, V1Session};
/// use mediastream_core::wire::{self, v1, ConnectionId, Datagram};
///
/// let id = ConnectionId::from_u128(7);
/// let mut greeter = Greeter::new(Greeting::Accept(id), Some(&V1Session::new(42)));
/// let mut buf = [0u8; 128];
/// // Owed at once, sent once.
/// let len = greeter.poll_transmit(&mut buf).unwrap();
/// assert!(matches!(
///     wire::parse(&buf[..len]),
///     Ok(Datagram::V1(v1::V1Message::Accept { token: 42, .. }))
/// ));
/// assert_eq!(greeter.poll_transmit(&mut buf), None);
/// // The client repeats its request (token 42): the ACCEPT is owed again.
/// let mut request = [0u8; v1::REQUEST_LEN];
/// let repr = v1::RequestRepr { token: 42, bits_per_second: 1_000_000, frame_rate: 10,
///     stream_length_secs: 1, datagram_size: 1000, buffer_depth_ms: 500,
///     report_interval_ms: 250, consent_timeout_ms: 3000, cookie: None, media: None };
/// repr.emit(false, &mut request).unwrap();
/// assert!(greeter.handle_datagram(&request));
/// assert!(greeter.is_owed());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Greeter {
    greeting: Option<Control>,
    token: Option<u64>,
    owed: bool,
}

impl Greeter {
    /// A greeter for a stream greeted with `greeting`; `session` is the
    /// stream's v1 session (`None` for a plain START: an ACCEPT then
    /// becomes the connection-id datagram, the only greeting a
    /// ctsTraffic client reads). The greeting is owed at once, unless it
    /// is [`Greeting::None`] (a client-side pattern).
    pub fn new(greeting: Greeting, session: Option<&V1Session>) -> Self {
        let greeting = match (greeting, session) {
            (Greeting::None, _) => None,
            (Greeting::ConnectionId(id), _) => Some(Control::ConnectionId(id)),
            (Greeting::Accept(id), Some(s)) => Some(Control::Accept(s.token, id)),
            (Greeting::Accept(id), None) => Some(Control::ConnectionId(id)),
        };
        Self {
            owed: greeting.is_some(),
            greeting,
            token: session.map(|s| s.token),
        }
    }

    /// True while the greeting waits to be sent: a pattern's
    /// [`poll_timeout`](super::IoPattern::poll_timeout) should then say
    /// "now".
    pub fn is_owed(&self) -> bool {
        self.owed
    }

    /// Writes the greeting into the front of `buf` if it is owed, and
    /// returns its length; `None` when nothing is owed (or `buf` is
    /// shorter than the greeting, which then stays owed).
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        if !self.owed {
            return None;
        }
        let len = match self.greeting.clone()? {
            Control::ConnectionId(id) => id.emit(buf),
            Control::Accept(token, id) => v1::emit_accept(token, &id, buf),
            Control::Report(_) | Control::End(_) => None,
        }?;
        self.owed = false;
        Some(len)
    }

    /// Looks at a datagram the stream received: a REQUEST or JOIN with
    /// the stream's token is its client repeating the request, and the
    /// greeting is owed again (true is returned). Anything else, or
    /// anything at all when there is no greeting, is left to the pattern
    /// (false).
    pub fn handle_datagram(&mut self, datagram: &[u8]) -> bool {
        let repeated = match (self.greeting.clone(), self.token, v1::parse(datagram)) {
            (Some(_), Some(token), Ok(V1Message::Request(r) | V1Message::Join(r))) => {
                r.token == token
            }
            _ => false,
        };
        if repeated {
            self.repeat();
        }
        repeated
    }

    /// Owes the greeting again (a pattern that parses datagrams itself
    /// calls this on a repeated request).
    pub fn repeat(&mut self) {
        self.owed = self.greeting.is_some();
    }
}

/// A control datagram waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Control {
    ConnectionId(ConnectionId),
    Accept(u64, ConnectionId),
    Report(Box<ReportRepr>),
    End(EndRepr),
}

/// The control datagrams a pattern owes its peer, sent before data: the
/// greeting first.
#[derive(Debug, Default)]
pub(super) struct ControlQueue {
    greeter: Greeter,
    queue: VecDeque<Control>,
}

impl ControlQueue {
    pub(super) fn new(greeting: Greeting, session: Option<&V1Session>) -> Self {
        Self {
            greeter: Greeter::new(greeting, session),
            queue: VecDeque::with_capacity(4),
        }
    }

    /// Queues the greeting again (the peer repeated its request, so it
    /// probably lost our answer).
    pub(super) fn repeat_greeting(&mut self) {
        self.greeter.repeat();
    }

    pub(super) fn push(&mut self, control: Control) {
        self.queue.push_back(control);
    }

    pub(super) fn is_empty(&self) -> bool {
        !self.greeter.is_owed() && self.queue.is_empty()
    }

    /// Emits the next queued datagram into `buf`.
    pub(super) fn poll(&mut self, buf: &mut [u8]) -> Option<usize> {
        if self.greeter.is_owed() {
            return self.greeter.poll_transmit(buf);
        }
        let control = self.queue.pop_front()?;
        match control {
            Control::ConnectionId(id) => id.emit(buf),
            Control::Accept(token, id) => v1::emit_accept(token, &id, buf),
            Control::Report(report) => report.emit(buf),
            Control::End(end) => end.emit(buf),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{self, Datagram};

    const ID: u128 = 0x1234_5678;

    fn request(token: u64, join: bool) -> Vec<u8> {
        let mut buf = vec![0u8; v1::REQUEST_LEN];
        v1::RequestRepr {
            token,
            bits_per_second: 1_000_000,
            frame_rate: 10,
            stream_length_secs: 1,
            datagram_size: 1000,
            buffer_depth_ms: 500,
            report_interval_ms: 250,
            consent_timeout_ms: 3000,
            cookie: None,
            media: None,
        }
        .emit(join, &mut buf)
        .unwrap();
        buf
    }

    #[test]
    fn a_v1_stream_accepts_once_and_again_on_each_repeated_request() {
        let id = ConnectionId::from_u128(ID);
        let mut g = Greeter::new(Greeting::Accept(id), Some(&V1Session::new(9)));
        let mut buf = [0u8; 128];
        for round in 0..3 {
            assert!(g.is_owed(), "round {round}");
            let len = g.poll_transmit(&mut buf).unwrap();
            assert_eq!(
                wire::parse(&buf[..len]),
                Ok(Datagram::V1(V1Message::Accept {
                    token: 9,
                    connection_id: id
                }))
            );
            assert!(!g.is_owed());
            assert_eq!(g.poll_transmit(&mut buf), None);
            // JOIN and REQUEST alike: the server routes them by role.
            assert!(g.handle_datagram(&request(9, round % 2 == 0)));
        }
    }

    #[test]
    fn other_tokens_and_other_datagrams_owe_nothing() {
        let id = ConnectionId::from_u128(ID);
        let mut g = Greeter::new(Greeting::Accept(id), Some(&V1Session::new(9)));
        let mut buf = [0u8; 128];
        g.poll_transmit(&mut buf).unwrap();
        assert!(!g.handle_datagram(&request(10, false)));
        assert!(!g.handle_datagram(wire::START));
        let mut accept = [0u8; v1::ACCEPT_LEN];
        v1::emit_accept(9, &id, &mut accept).unwrap();
        assert!(!g.handle_datagram(&accept));
        assert!(!g.is_owed());
    }

    #[test]
    fn plain_start_gets_the_connection_id_and_a_client_owes_nothing() {
        let id = ConnectionId::from_u128(ID);
        // An ACCEPT without a v1 session is the connection-id datagram.
        for greeting in [Greeting::ConnectionId(id), Greeting::Accept(id)] {
            let mut g = Greeter::new(greeting, None);
            let mut buf = [0u8; 64];
            let len = g.poll_transmit(&mut buf).unwrap();
            assert_eq!(wire::parse(&buf[..len]), Ok(Datagram::ConnectionId(id)));
            // No token: no v1 request is ever its client's.
            assert!(!g.handle_datagram(&request(0, false)));
        }
        let mut client = Greeter::new(Greeting::None, Some(&V1Session::new(9)));
        assert!(!client.is_owed());
        assert!(!client.handle_datagram(&request(9, false)));
        assert_eq!(client.poll_transmit(&mut [0u8; 128]), None);
    }

    #[test]
    fn a_short_buffer_keeps_the_greeting_owed() {
        let id = ConnectionId::from_u128(ID);
        let mut g = Greeter::new(Greeting::Accept(id), Some(&V1Session::new(9)));
        assert_eq!(g.poll_transmit(&mut [0u8; 10]), None);
        assert!(g.is_owed());
        assert_eq!(g.poll_transmit(&mut [0u8; 128]), Some(v1::ACCEPT_LEN));
    }
}
