//! Byte-exact checks against datagrams written out by hand from
//! PROTOCOL.md, and property tests over arbitrary input.

use proptest::prelude::*;

use super::*;

#[test]
fn connection_id_is_flag_guid_nul() {
    let id = ConnectionId::from_u128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210);
    assert_eq!(id.as_str(), "01234567-89ab-cdef-fedc-ba9876543210");
    let mut buf = [0xee; 64];
    assert_eq!(id.emit(&mut buf), Some(39));
    let mut expected = vec![0x00, 0x10];
    expected.extend_from_slice(b"01234567-89ab-cdef-fedc-ba9876543210");
    expected.push(0);
    assert_eq!(&buf[..39], expected.as_slice());
    assert_eq!(parse(&buf[..39]), Ok(Datagram::ConnectionId(id)));
    assert_eq!(id.emit(&mut buf[..38]), None);
}

#[test]
fn data_datagram_layout() {
    let repr = DataRepr {
        sequence_number: 7,
        timestamp: 0x0102_0304_0506_0708,
        frequency: 10_000_000,
    };
    let mut buf = [0xee; 40];
    assert_eq!(repr.emit_datagram(&mut buf, 34), Some(34));
    #[rustfmt::skip]
    let expected: [u8; 34] = [
        0x00, 0x00,                                     // flag: data
        0x07, 0, 0, 0, 0, 0, 0, 0,                      // sequence number 7
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, // timestamp
        0x80, 0x96, 0x98, 0, 0, 0, 0, 0,                // 10 MHz
        0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, // pattern
    ];
    assert_eq!(&buf[..34], &expected);
    assert_eq!(buf[34], 0xee, "nothing written past the datagram");
    match parse(&buf[..34]) {
        Ok(Datagram::Data(parsed, payload)) => {
            assert_eq!(parsed, repr);
            assert_eq!(payload, &expected[26..]);
        }
        other => panic!("expected data, got {other:?}"),
    }
}

#[test]
fn malformed_datagrams_give_typed_errors() {
    assert_eq!(
        parse(b""),
        Err(WireError::Truncated {
            what: "flag",
            len: 0,
            need: 2
        })
    );
    assert_eq!(
        parse(&[0, 0, 1]),
        Err(WireError::Truncated {
            what: "data",
            len: 3,
            need: 27
        })
    );
    assert_eq!(
        parse(&[0; 26]).unwrap_err(),
        WireError::Truncated {
            what: "data",
            len: 26,
            need: 27
        }
    );
    assert!(
        parse(&[0; 27]).is_ok(),
        "header plus one byte is a data datagram"
    );
    assert_eq!(parse(&[0; 65_508]), Err(WireError::TooLong { len: 65_508 }));
    assert_eq!(
        parse(&[0x34, 0x12, 0]),
        Err(WireError::UnknownFlag { flag: 0x1234 })
    );
    assert_eq!(
        parse(b"START\0"),
        Err(WireError::UnknownFlag { flag: 0x5453 })
    );
    let mut id = [0u8; 39];
    id[1] = 0x10;
    assert_eq!(parse(&id), Err(WireError::BadConnectionId { offset: 0 }));
    ConnectionId::from_u128(1).emit(&mut id);
    id[38] = b'x';
    assert_eq!(parse(&id), Err(WireError::BadConnectionId { offset: 36 }));
    let mut long = [0u8; 40];
    long[1] = 0x10;
    assert_eq!(
        parse(&long),
        Err(WireError::WrongLength {
            what: "connection id",
            len: 40,
            need: 39
        })
    );
}

#[test]
fn connection_id_text_is_validated() {
    let good = b"01234567-89AB-cdef-fedc-ba9876543210";
    assert!(ConnectionId::parse_text(good).is_ok(), "either case");
    let mut bad = *good;
    bad[8] = b'x';
    assert_eq!(
        ConnectionId::parse_text(&bad),
        Err(WireError::BadConnectionId { offset: 8 })
    );
    bad = *good;
    bad[3] = b'-';
    assert_eq!(
        ConnectionId::parse_text(&bad),
        Err(WireError::BadConnectionId { offset: 3 })
    );
    assert!(ConnectionId::parse_text(&good[..35]).is_err());
}

proptest! {
    #[test]
    fn any_bytes_parse_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        match parse(&bytes) {
            Ok(Datagram::Start) => prop_assert_eq!(bytes.as_slice(), START),
            Ok(Datagram::ConnectionId(_)) => prop_assert_eq!(bytes.len(), CONNECTION_ID_LEN),
            Ok(Datagram::Data(_, payload)) => prop_assert_eq!(payload.len() + DATA_HEADER_LEN, bytes.len()),
            Err(_) => {}
        }
    }

    #[test]
    fn flagged_prefixes_parse_without_panic(
        flag in prop_oneof![Just(0u16), Just(0x1000u16), any::<u16>()],
        rest in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = flag.to_le_bytes().to_vec();
        bytes.extend_from_slice(&rest);
        let _ = parse(&bytes);
    }

    #[test]
    fn data_round_trips(seq in any::<i64>(), ts in any::<i64>(), freq in any::<i64>(), len in 27usize..4000) {
        let repr = DataRepr { sequence_number: seq, timestamp: ts, frequency: freq };
        let mut buf = vec![0u8; len];
        prop_assert_eq!(repr.emit_datagram(&mut buf, len), Some(len));
        match parse(&buf) {
            Ok(Datagram::Data(parsed, payload)) => {
                prop_assert_eq!(parsed, repr);
                prop_assert_eq!(payload::verify(payload), Ok(()));
            }
            other => prop_assert!(false, "expected data, got {:?}", other),
        }
    }

    #[test]
    fn connection_id_round_trips(value in any::<u128>()) {
        let id = ConnectionId::from_u128(value);
        let mut buf = [0u8; CONNECTION_ID_LEN];
        prop_assert_eq!(id.emit(&mut buf), Some(CONNECTION_ID_LEN));
        prop_assert_eq!(parse(&buf), Ok(Datagram::ConnectionId(id)));
    }
}
