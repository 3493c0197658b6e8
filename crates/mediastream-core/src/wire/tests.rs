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
fn frame_data_datagram_layout() {
    let data = DataRepr {
        sequence_number: 7,
        timestamp: 0x0102_0304_0506_0708,
        frequency: 1_000_000_000,
    };
    let repr = FrameDataRepr::new(data, 0x0001_2345, 3, 2, 6);
    let mut buf = [0xee; 48];
    assert_eq!(repr.emit_datagram(&mut buf, 44), Some(44));
    #[rustfmt::skip]
    let expected: [u8; 44] = [
        0x00, 0x30,                                     // flag: frame data
        0x07, 0, 0, 0, 0, 0, 0, 0,                      // sequence number 7
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, // timestamp
        0x00, 0xca, 0x9a, 0x3b, 0, 0, 0, 0,             // 1 GHz
        0x45, 0x23, 0x01, 0x00,                         // frame size 0x12345
        0x03, 0, 0, 0,                                  // datagram index 3
        0x02, 0x00,                                     // delta, reserved
        0x06, 0, 0, 0,                                  // keyframe 6 frames back
        0x00, 0x00, 0x01, 0x00,                         // pattern
    ];
    assert_eq!(&buf[..44], &expected);
    assert_eq!(buf[44], 0xee, "nothing written past the datagram");
    assert_eq!(
        parse(&buf[..44]),
        Ok(Datagram::FrameData(repr, &expected[40..]))
    );
    assert_eq!(
        parse(&buf[..40]),
        Err(WireError::Truncated {
            what: "frame data",
            len: 40,
            need: 41
        })
    );
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
            Ok(Datagram::V1(_)) => prop_assert!(v1::EXTENSION_FLAGS.contains(&read_flag(&bytes).unwrap())),
            Ok(Datagram::FrameData(_, payload)) => prop_assert_eq!(payload.len() + FRAME_DATA_HEADER_LEN, bytes.len()),
            Err(_) => {}
        }
    }

    #[test]
    fn frame_data_round_trips(
        seq in any::<i64>(), ts in any::<i64>(), freq in any::<i64>(),
        size in any::<u32>(), index in any::<u32>(), kind in any::<u8>(), back in any::<u32>(),
        len in MIN_FRAME_DATA_DATAGRAM..2000,
    ) {
        let data = DataRepr { sequence_number: seq, timestamp: ts, frequency: freq };
        let repr = FrameDataRepr::new(data, size, index, kind, back);
        let mut buf = vec![0u8; 2000];
        prop_assert_eq!(repr.emit_datagram(&mut buf, len), Some(len));
        match parse(&buf[..len]) {
            Ok(Datagram::FrameData(parsed, payload)) => {
                prop_assert_eq!(parsed, repr);
                prop_assert_eq!(payload::verify(payload), Ok(()));
            }
            other => prop_assert!(false, "expected frame data, got {:?}", other),
        }
    }

    #[test]
    fn flagged_prefixes_parse_without_panic(
        flag in prop_oneof![Just(0u16), Just(0x1000u16), Just(FLAG_FRAME_DATA), any::<u16>()],
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

mod v1_messages {
    use super::super::v1::{
        emit_accept, emit_challenge, emit_refuse, EndRepr, RefuseCode, ReportRepr, RequestRepr,
        V1Message, ACCEPT_LEN, CHALLENGE_LEN, COOKIE_OFFSET, END_LEN, MAX_REASON_LEN, REPORT_LEN,
        REQUEST_LEN, TAG_LEN,
    };
    use super::*;

    fn request() -> RequestRepr {
        RequestRepr {
            token: 0x1122_3344_5566_7788,
            bits_per_second: 8_000_000,
            frame_rate: 50,
            stream_length_secs: 3,
            datagram_size: 1400,
            buffer_depth_ms: 1000,
            report_interval_ms: 250,
            consent_timeout_ms: 3000,
            cookie: None,
            media: None,
        }
    }

    /// The media fields (59..91) and the feature byte (111) share the
    /// padding of one REQUEST: each reads back as written, neither
    /// overwrites the other.
    #[test]
    fn media_fields_and_feature_flags_share_a_request() {
        use crate::wire::media::{MediaModel, MediaRequest};
        let mut media = MediaRequest::new(MediaModel::Gop);
        media.gop_interval = 30;
        media.key_ratio_milli = 8_000;
        media.seed = u64::MAX;
        let mut r = request();
        r.media = Some(media);
        let mut buf = [0u8; REQUEST_LEN];
        assert_eq!(r.emit(false, &mut buf), Some(REQUEST_LEN));
        assert_eq!(v1::request_features(&buf), v1::FEATURE_REPORT_BLOCKS);
        assert!(
            buf[91..111].iter().all(|&b| b == 0),
            "padding between stays zero"
        );
        match parse(&buf) {
            Ok(Datagram::V1(V1Message::Request(back))) => assert_eq!(back, r),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn request_layout_is_fixed_and_padded() {
        let mut buf = [0xee; 200];
        assert_eq!(request().emit(false, &mut buf), Some(REQUEST_LEN));
        #[rustfmt::skip]
        let head: [u8; 23] = [
            0x01, 0x20,                                     // flag REQUEST
            0x02,                                           // version 2
            0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, // token
            0x00, 0x12, 0x7a, 0, 0, 0, 0, 0,                // 8,000,000 bit/s
            50, 0, 0, 0,                                    // frames/s
        ];
        assert_eq!(&buf[..23], &head);
        assert!(
            buf[43..111].iter().all(|&b| b == 0) && buf[112..REQUEST_LEN].iter().all(|&b| b == 0),
            "no cookie, zero padding, zero tag"
        );
        // Byte 111: feature flags; this build reads REPORT blocks.
        assert_eq!(v1::REQUEST_FLAGS_OFFSET, 111);
        assert_eq!(buf[111], v1::FEATURE_REPORT_BLOCKS);
        assert_eq!(v1::request_features(&buf[..REQUEST_LEN]), 1);
        assert_eq!(buf[REQUEST_LEN], 0xee);
        assert_eq!(
            parse(&buf[..REQUEST_LEN]),
            Ok(Datagram::V1(V1Message::Request(request())))
        );
        request().emit(true, &mut buf);
        assert_eq!(&buf[..2], &[0x02, 0x20]);
        assert_eq!(
            parse(&buf[..REQUEST_LEN]),
            Ok(Datagram::V1(V1Message::Join(request())))
        );
        assert!(matches!(
            parse(&buf[..REQUEST_LEN - 1]),
            Err(WireError::Truncated { .. })
        ));
        // The cookie sits at bytes 43..59.
        let with = RequestRepr {
            cookie: Some([0xab; 16]),
            ..request()
        };
        with.emit(false, &mut buf);
        assert_eq!(COOKIE_OFFSET, 43);
        assert!(buf[43..59].iter().all(|&b| b == 0xab));
        assert!(buf[59..111].iter().all(|&b| b == 0));
        assert_eq!(
            parse(&buf[..REQUEST_LEN]),
            Ok(Datagram::V1(V1Message::Request(with)))
        );
    }

    #[test]
    fn challenge_layout() {
        let mut buf = [0xee; 64];
        let len = emit_challenge(0x0102, &[0x5a; 16], &mut buf).unwrap();
        assert_eq!((len, CHALLENGE_LEN), (43, 43));
        assert_eq!(&buf[..5], &[0x07, 0x20, 0x02, 0x02, 0x01]);
        assert!(buf[11..27].iter().all(|&b| b == 0x5a));
        assert!(buf[27..43].iter().all(|&b| b == 0), "tag");
        assert_eq!(
            parse(&buf[..len]),
            Ok(Datagram::V1(V1Message::Challenge {
                token: 0x0102,
                cookie: [0x5a; 16]
            }))
        );
        assert!(parse(&buf[..len + 1]).is_err());
        assert!(parse(&buf[..len - 1]).is_err());
        assert_eq!(
            (ACCEPT_LEN, REPORT_LEN, END_LEN, TAG_LEN),
            (63, 116, 59, 16)
        );
    }

    #[test]
    fn answers_are_never_larger_than_requests() {
        let mut buf = [0u8; 512];
        let id = ConnectionId::from_u128(9);
        assert!(emit_accept(1, &id, &mut buf).unwrap() <= REQUEST_LEN);
        assert!(emit_challenge(1, &[1; 16], &mut buf).unwrap() <= REQUEST_LEN);
        let long = "x".repeat(1000);
        let len = emit_refuse(1, RefuseCode::Busy, &long, &mut buf).unwrap();
        assert_eq!(len, REQUEST_LEN);
        // A cut never splits a UTF-8 character.
        let text = "é".repeat(100);
        let len = emit_refuse(2, RefuseCode::BadParameters, &text, &mut buf).unwrap();
        match parse(&buf[..len]) {
            Ok(Datagram::V1(V1Message::Refuse {
                token: 2,
                code: RefuseCode::BadParameters,
                reason,
            })) => {
                assert!(std::str::from_utf8(reason).is_ok());
                assert_eq!(MAX_REASON_LEN, 99);
                assert_eq!(reason.len(), 98);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_message_round_trips() {
        let mut buf = [0u8; 512];
        let id = ConnectionId::from_u128(77);
        let len = emit_accept(5, &id, &mut buf).unwrap();
        assert_eq!(
            parse(&buf[..len]),
            Ok(Datagram::V1(V1Message::Accept {
                token: 5,
                connection_id: id
            }))
        );
        let len = emit_refuse(6, RefuseCode::Other(200), "nope", &mut buf).unwrap();
        assert_eq!(
            parse(&buf[..len]),
            Ok(Datagram::V1(V1Message::Refuse {
                token: 6,
                code: RefuseCode::Other(200),
                reason: b"nope"
            }))
        );
        let report = ReportRepr {
            token: 7,
            is_final: true,
            frames_completed: 1,
            frames_dropped: 2,
            frames_repeated: 3,
            frames_error: 4,
            datagrams_received: 5,
            bytes_received: 6,
            datagrams_corrupt: 7,
            highest_sequence: -8,
            echo_timestamp: 9,
            echo_delay_ns: 10,
            jitter_ns: 11,
            marks: None,
        };
        let len = report.emit(&mut buf).unwrap();
        assert_eq!(len, REPORT_LEN);
        assert_eq!(
            parse(&buf[..len]),
            Ok(Datagram::V1(V1Message::Report(Box::new(report))))
        );
        let end = EndRepr {
            token: 8,
            frames_sent: 1,
            datagrams_sent: 2,
            bytes_sent: 3,
            features: 1,
        };
        let len = end.emit(&mut buf).unwrap();
        assert_eq!(parse(&buf[..len]), Ok(Datagram::V1(V1Message::End(end))));
        assert_eq!(end.emit(&mut buf[..len - 1]), None);
    }

    #[test]
    fn unknown_versions_and_flags_are_refused_cleanly() {
        let mut buf = [0u8; REQUEST_LEN];
        request().emit(false, &mut buf);
        buf[2] = 1;
        assert_eq!(
            parse(&buf),
            Err(WireError::UnsupportedVersion { version: 1 })
        );
        buf[2] = 2;
        buf[0] = 0x7f;
        assert_eq!(parse(&buf), Err(WireError::UnknownFlag { flag: 0x207f }));
        assert!(matches!(
            parse(&[0x05, 0x20, 1]),
            Err(WireError::Truncated { .. })
        ));
    }

    proptest! {
        #[test]
        fn extension_prefixes_parse_without_panic(
            low in 0u8..=255,
            version in prop_oneof![Just(2u8), any::<u8>()],
            rest in proptest::collection::vec(any::<u8>(), 0..160),
        ) {
            let mut bytes = vec![low, 0x20, version];
            bytes.extend_from_slice(&rest);
            let _ = parse(&bytes);
        }

        #[test]
        fn requests_round_trip(token in any::<u64>(), bps in any::<u64>(), fr in any::<u32>(), join in any::<bool>()) {
            let r = RequestRepr { token, bits_per_second: bps, frame_rate: fr, ..request() };
            let mut buf = [0u8; REQUEST_LEN];
            r.emit(join, &mut buf);
            let expected = if join { V1Message::Join(r) } else { V1Message::Request(r) };
            prop_assert_eq!(parse(&buf), Ok(Datagram::V1(expected)));
        }
    }
}

/// END byte for byte as docs/PROTOCOL.md gives it: the 11-byte header,
/// three u64 totals, 8 reserved zero bytes and the 16-byte tag, 59 in
/// all (version 2), and no other length parses.
#[test]
fn end_is_59_bytes_as_the_protocol_document_says() {
    use v1::{EndRepr, END_LEN, TAG_LEN};
    let end = EndRepr {
        token: 0x0102_0304_0506_0708,
        frames_sent: 1,
        datagrams_sent: 2,
        bytes_sent: 3,
        features: v1::FEATURE_REPORT_BLOCKS,
    };
    let mut buf = [0xffu8; 80];
    let len = end.emit(&mut buf).unwrap();
    assert_eq!((len, END_LEN), (59, 59));
    let mut expected = vec![0x06, 0x20, v1::VERSION];
    expected.extend_from_slice(&0x0102_0304_0506_0708u64.to_le_bytes());
    for v in [1u64, 2, 3] {
        expected.extend_from_slice(&v.to_le_bytes());
    }
    // Reserved: the feature flags, then 7 zero bytes.
    expected.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
    expected.extend_from_slice(&[0; TAG_LEN]);
    assert_eq!(&buf[..len], &expected[..]);
    assert!(
        parse(&expected[..43]).is_err(),
        "version 1's 43 bytes is not an END"
    );
    let mut longer = expected.clone();
    longer.push(0);
    assert!(parse(&longer).is_err());
}

/// The REPORT's marking block, byte by byte as docs/PROTOCOL.md lays it
/// out, and every way a block can be wrong.
#[test]
fn report_marking_block_layout_and_checks() {
    use crate::marking::MarkCounts;
    use v1::{ReportRepr, V1Message, MAX_REPORT_LEN, REPORT_LEN, TAG_LEN};
    let mut marks = MarkCounts::new();
    marks.record(34 << 2 | 2, 90); // af41, ECT(0)
    marks.record(34 << 2 | 3, 7); // af41, CE
    marks.record(8 << 2, 3); // cs1, not-ECT
    let report = ReportRepr {
        token: 5,
        datagrams_received: 100,
        marks: Some(Box::new(marks)),
        ..Default::default()
    };
    let mut buf = [0u8; MAX_REPORT_LEN];
    let len = report.emit(&mut buf).unwrap();
    assert_eq!(len, REPORT_LEN + 4 + 40 + 2 * 9);
    assert_eq!(len, report.len());
    let at = REPORT_LEN - TAG_LEN;
    let mut block = vec![1u8, 1, 58, 0];
    for v in [100u64, 3, 0, 90, 7] {
        block.extend_from_slice(&v.to_le_bytes());
    }
    block.push(8);
    block.extend_from_slice(&3u64.to_le_bytes());
    block.push(34);
    block.extend_from_slice(&97u64.to_le_bytes());
    assert_eq!(&buf[at..len - TAG_LEN], &block[..]);
    assert_eq!(
        parse(&buf[..len]),
        Ok(Datagram::V1(V1Message::Report(Box::new(report))))
    );
    // A block of another type is skipped; the fixed fields still parse.
    let mut other = buf[..at].to_vec();
    other.extend_from_slice(&[9, 1, 3, 0, 0xaa, 0xbb, 0xcc]);
    other.extend_from_slice(&[0; TAG_LEN]);
    match parse(&other) {
        Ok(Datagram::V1(V1Message::Report(r))) => {
            assert_eq!((r.datagrams_received, r.marks), (100, None));
        }
        other => panic!("{other:?}"),
    }
    // Broken blocks are typed errors.
    let broken = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut b = buf[..at].to_vec();
        let mut blk = block.clone();
        edit(&mut blk);
        b.extend_from_slice(&blk);
        b.extend_from_slice(&[0; TAG_LEN]);
        matches!(parse(&b), Err(WireError::BadReportBlock { .. }))
    };
    let bad = |r: bool| r;
    assert!(bad(broken(&|b| b[2] = 59))); // longer than what follows
    assert!(bad(broken(&|b| b.truncate(3)))); // no whole header
    assert!(bad(broken(&|b| b[44] = 64))); // DSCP 64
    assert!(bad(broken(&|b| b[44] = 34))); // 34 twice: not increasing
    assert!(bad(broken(&|b| b[4] = 99))); // datagrams read != sums
    assert!(bad(broken(&|b| {
        b.push(40);
        b[2] = 59;
    }))); // a cut DSCP entry
    let mut twice = block.clone();
    twice.extend_from_slice(&block);
    assert!(bad(broken(&|b| *b = twice.clone())));
    // Too long for any report.
    let huge = vec![0u8; MAX_REPORT_LEN + 1];
    let mut huge = huge;
    huge[..at].copy_from_slice(&buf[..at]);
    assert!(matches!(parse(&huge), Err(WireError::WrongLength { .. })));
    // All 64 DSCPs fit MAX_REPORT_LEN exactly.
    let mut all = MarkCounts::new();
    for tos in (0..=255u8).step_by(4) {
        all.record(tos, 1);
    }
    let full = ReportRepr {
        marks: Some(Box::new(all)),
        ..Default::default()
    };
    assert_eq!(full.emit(&mut buf), Some(MAX_REPORT_LEN));
    assert!(matches!(
        parse(&buf),
        Ok(Datagram::V1(V1Message::Report(r))) if r.marks == Some(Box::new(all))
    ));
}
