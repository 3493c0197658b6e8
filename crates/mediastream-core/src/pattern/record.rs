/// How a frame fared at its render tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FrameOutcome {
    /// Exactly the frame size arrived in time.
    Completed,
    /// Fewer bytes (or none) arrived in time.
    Dropped,
    /// More bytes than the frame size arrived (duplicates).
    Repeated,
}

/// One frame as rendered: the row of a ctsTraffic jitter file, plus the
/// outcome.
///
/// Timestamps are those of the last datagram received for the frame
/// (ctsTraffic overwrites them with every datagram). A dropped frame has
/// every timestamp zero, as ctsTraffic writes it.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct FrameRecord {
    /// The frame's sequence number.
    pub sequence_number: u64,
    /// How it fared.
    pub outcome: FrameOutcome,
    /// Sender timestamp (ticks).
    pub sender_ticks: i64,
    /// Sender ticks per second.
    pub sender_frequency: i64,
    /// Receiver clock at arrival (ticks).
    pub receiver_ticks: i64,
    /// Receiver ticks per second.
    pub receiver_frequency: i64,
    /// (arrival - first frame's arrival) - (send - first frame's send), ms.
    pub relative_in_flight_ms: f64,
    /// |relative in-flight time of the previous completed frame - this
    /// one's|, ms.
    pub jitter_ms: f64,
}

impl FrameRecord {
    /// The row ctsTraffic writes for a dropped frame.
    pub fn dropped(sequence_number: u64) -> Self {
        Self {
            sequence_number,
            outcome: FrameOutcome::Dropped,
            sender_ticks: 0,
            sender_frequency: 0,
            receiver_ticks: 0,
            receiver_frequency: 0,
            relative_in_flight_ms: 0.0,
            jitter_ms: 0.0,
        }
    }
}
