use std::collections::VecDeque;
use std::time::Duration;

use crate::wire::v1::{self, EndRepr, ReportRepr};
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
        }
    }
}

/// What a server-side pattern sends before anything else, and again when
/// the client repeats its request.
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

/// A control datagram waiting to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Control {
    ConnectionId(ConnectionId),
    Accept(u64, ConnectionId),
    Report(ReportRepr),
    End(EndRepr),
}

/// The control datagrams a pattern owes its peer, sent before data.
#[derive(Debug, Default)]
pub(super) struct ControlQueue {
    queue: VecDeque<Control>,
    greeting: Option<Control>,
}

impl ControlQueue {
    pub(super) fn new(greeting: Greeting, session: Option<&V1Session>) -> Self {
        let greeting = match (greeting, session) {
            (Greeting::None, _) => None,
            (Greeting::ConnectionId(id), _) => Some(Control::ConnectionId(id)),
            (Greeting::Accept(id), Some(s)) => Some(Control::Accept(s.token, id)),
            (Greeting::Accept(id), None) => Some(Control::ConnectionId(id)),
        };
        let mut queue = VecDeque::with_capacity(4);
        queue.extend(greeting);
        Self { queue, greeting }
    }

    /// Queues the greeting again (the peer repeated its request, so it
    /// probably lost our answer).
    pub(super) fn repeat_greeting(&mut self) {
        if let Some(g) = self.greeting {
            if !self.queue.contains(&g) {
                self.queue.push_back(g);
            }
        }
    }

    pub(super) fn push(&mut self, control: Control) {
        self.queue.push_back(control);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Emits the next queued datagram into `buf`.
    pub(super) fn poll(&mut self, buf: &mut [u8]) -> Option<usize> {
        let control = self.queue.pop_front()?;
        match control {
            Control::ConnectionId(id) => id.emit(buf),
            Control::Accept(token, id) => v1::emit_accept(token, &id, buf),
            Control::Report(report) => report.emit(buf),
            Control::End(end) => end.emit(buf),
        }
    }
}
