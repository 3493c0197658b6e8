//! Every datagram parser, on any bytes: never a panic, and what parses
//! re-emits to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediastream_core::wire::{self, v1, Datagram, DataPacket, FrameDataPacket};

fuzz_target!(|data: &[u8]| {
    match wire::parse(data) {
        Ok(Datagram::Start) => assert_eq!(data, wire::START),
        Ok(Datagram::ConnectionId(id)) => {
            let mut buf = [0u8; 39];
            id.emit(&mut buf).unwrap();
            // The GUID may differ in case only; the rest is byte-exact.
            assert!(buf.eq_ignore_ascii_case(data));
        }
        Ok(Datagram::Data(repr, payload)) => {
            assert_eq!(payload.len() + wire::DATA_HEADER_LEN, data.len());
            let mut buf = data.to_vec();
            let mut packet = DataPacket::new_checked(&mut buf[..]).unwrap();
            repr.emit(&mut packet);
            assert_eq!(&buf[..], data);
        }
        Ok(Datagram::FrameData(repr, payload)) => {
            assert_eq!(payload.len() + wire::FRAME_DATA_HEADER_LEN, data.len());
            let mut buf = data.to_vec();
            let mut packet = FrameDataPacket::new_checked(&mut buf[..]).unwrap();
            repr.emit(&mut packet);
            // Byte 35 is reserved: emitted as zero, never read.
            buf[35] = data[35];
            assert_eq!(&buf[..], data);
        }
        Ok(Datagram::V1(message)) => {
            // A REPORT with a marking block of all 64 DSCPs is the longest.
            let mut buf = [0u8; v1::MAX_REPORT_LEN];
            let len = match message {
                v1::V1Message::Request(r) => r.emit(false, &mut buf),
                v1::V1Message::Join(r) => r.emit(true, &mut buf),
                v1::V1Message::Report(r) => r.emit(&mut buf),
                v1::V1Message::End(e) => e.emit(&mut buf),
                v1::V1Message::Accept { token, connection_id } => v1::emit_accept(token, &connection_id, &mut buf),
                v1::V1Message::Challenge { token, cookie } => v1::emit_challenge(token, &cookie, &mut buf),
                v1::V1Message::Refuse { .. } => None,
            };
            if let Some(len) = len {
                assert_eq!(wire::parse(&buf[..len]).map(|d| matches!(d, Datagram::V1(_))), Ok(true));
            }
        }
        Err(_) => {}
    }
    let _ = wire::payload::verify(data);
});
