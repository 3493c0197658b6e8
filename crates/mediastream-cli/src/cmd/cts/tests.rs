#![allow(clippy::unwrap_used)]
use super::*;

fn args(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}

const STREAM: &str = "-Protocol:udp -BitsPerSecond:10000000 -FrameRate:100 -StreamLength:30";

/// ctsTraffic command lines and what they become.
#[test]
fn supported_command_lines_translate_to_our_options() {
    let cases: &[(&str, Parsed)] = &[
        (
            // Test-NetStack's server line, in its own mixed case.
            "-listen:127.0.0.1 -port:9000 -protocol:udp -bitspersecond:10000000 -FrameRate:100 -StreamLength:30 -ConsoleVerbosity:1 -ServerExitLimit:500 -BufferDepth:3",
            Parsed::Server(args(
                "--listen 127.0.0.1 --port 9000 --bits-per-second 10000000 --frame-rate 100 --stream-length 30 --server-exit-limit 500 --shards 1 --status-interval 5000 --cts-console 1 --utf16",
            )),
        ),
        (
            "-TARGET:127.0.0.1 -BIND:127.0.0.1 -PORT:9000 -PROTOCOL:UDP -BITSPERSECOND:10000007 -FRAMERATE:100 -BUFFERDEPTH:3 -STREAMLENGTH:30 -ITERATIONS:1 -CONNECTIONS:2",
            Parsed::Client(args(
                "--target 127.0.0.1 --port 9000 --bits-per-second 10000000 --frame-rate 100 --stream-length 30 --bind 127.0.0.1 --buffer-depth 3 --connections 2 --iterations 1 --status-interval 5000 --cts-console 4 --compat --utf16",
            )),
        ),
        (
            "-Target:h -Protocol:Udp -BitsPerSecond:0x100 -FrameRate:10 -StreamLength:5 -DatagramByteSize:1200 -StatusUpdate:1000 -TimeLimit:2500 -JitterFilename:j.CSV -RecvBufValue:65536 -OnError:log -Utf8",
            Parsed::Client(args(
                "--target h --bits-per-second 256 --frame-rate 10 --stream-length 5 --datagram-size 1200 --time-limit 2500ms --socket-buffer 65536 --jitter-file j.CSV --iterations 4294967295 --status-interval 1000 --cts-console 4 --compat",
            )),
        ),
        (
            // ours: -Direction:send speaks v1 (JOIN); verbosity 0 (status
            // rows still counted, for the status file).
            &format!("-target:h {STREAM} -Direction:SEND -Iterations:0 -ConsoleVerbosity:0"),
            Parsed::Client(args(
                "--target h --bits-per-second 10000000 --frame-rate 100 --stream-length 30 --direction send --iterations 4294967295 --status-interval 5000 --cts-console 0 --utf16",
            )),
        ),
        (
            &format!("-Listen:* {STREAM} -PrePostRecvs:4 -EnableRecvSharding:on -SendBufValue:1048576 -CompatAllow:10.0.0.0/8 -Connections:8 -StatusFilename:s.csv -connectionfilename:c.csv -ERRORFILENAME:e.log"),
            Parsed::Server(args(
                "--listen * --bits-per-second 10000000 --frame-rate 100 --stream-length 30 --socket-buffer 1048576 --status-file s.csv --connection-file c.csv --error-file e.log --pre-post-recvs 4 --compat-allow 10.0.0.0/8 --shards 0 --status-interval 5000 --cts-console 4 --utf16",
            )),
        ),
        (
            &format!("-Listen:::1 {STREAM} -ShardCount:3 -EnableRecvSharding:off"),
            Parsed::Server(args(
                "--listen ::1 --bits-per-second 10000000 --frame-rate 100 --stream-length 30 --shards 3 --status-interval 5000 --cts-console 4 --utf16",
            )),
        ),
        ("-Help", Parsed::Help),
        ("-help:udp", Parsed::Help),
        ("-?", Parsed::Help),
        ("", Parsed::Help),
    ];
    for (line, want) in cases {
        let got = parse(&args(line)).unwrap_or_else(|e| panic!("{line}: {e:?}"));
        assert_eq!(&got, want, "{line}");
    }
}

fn error(line: &str) -> String {
    match parse(&args(line)) {
        Err(CliError::Usage(m)) => m,
        other => panic!("{line}: expected a usage error, got {other:?}"),
    }
}

#[test]
fn every_refused_option_is_named_with_its_reason() {
    for (name, why) in REFUSED {
        let line = format!("-target:h {STREAM} {}:1", name.to_ascii_uppercase());
        let e = error(&line);
        assert!(e.starts_with(&format!("{name} is not supported: ")), "{e}");
        assert!(e.contains(why), "{e}");
    }
}

#[test]
fn bad_command_lines_say_what_is_wrong() {
    let cases: &[(&str, &str)] = &[
        (
            "-Target:h -BitsPerSecond:8 -FrameRate:1 -StreamLength:1",
            "-Protocol:udp is required",
        ),
        ("-Target:h -Protocol:tcp", "-Protocol:tcp is not supported"),
        (
            "-Target:h -Protocol:udp -FrameRate:1 -StreamLength:1",
            "-BitsPerSecond is required",
        ),
        (
            "-Protocol:udp -BitsPerSecond:8 -FrameRate:1 -StreamLength:1",
            "either -Target or -Listen",
        ),
        (
            &format!("-Target:a -Listen:b {STREAM}"),
            "both -Listen and -Target",
        ),
        (
            &format!("-Listen:* {STREAM} -Iterations:2"),
            "-Iterations is only supported when running as a client",
        ),
        (
            &format!("-Listen:* {STREAM} -Bind:1.2.3.4"),
            "-Bind is only supported when running as a client",
        ),
        (
            &format!("-Listen:* {STREAM} -JitterFilename:j.csv"),
            "-JitterFilename is only supported",
        ),
        (
            &format!("-Target:h {STREAM} -ServerExitLimit:1"),
            "-ServerExitLimit is only supported when running as a server",
        ),
        (
            &format!("-Target:h {STREAM} -ShardCount:2"),
            "-ShardCount are only supported",
        ),
        (
            &format!("-Target:h {STREAM} -JitterFilename:j.txt"),
            "only be logged as .csv",
        ),
        (
            &format!("-Target:h {STREAM} -ConsoleVerbosity:7"),
            "accepted 0 to 6",
        ),
        (
            &format!("-Target:h {STREAM} -StatusUpdate:0"),
            "-StatusUpdate:0 is out of range",
        ),
        (
            &format!("-Target:h {STREAM} -Port:eighty"),
            "-Port:eighty is not a whole number",
        ),
        (
            &format!("-Target:h {STREAM} -OnError:break"),
            "-OnError:break is not supported",
        ),
        (
            &format!("-Target:h {STREAM} -Frobnicate:1"),
            "-frobnicate is not an option",
        ),
        (&format!("-Target {STREAM}"), "-Target has no value"),
        (
            &format!("-Target:h {STREAM} --bits-per-second"),
            "--bits-per-second has no value",
        ),
        (
            &format!("-Target:h {STREAM} plain"),
            "'plain' is not a ctsTraffic option",
        ),
    ];
    for (line, want) in cases {
        let e = error(line);
        assert!(e.contains(want), "{line}: {e}");
    }
}

#[test]
fn help_lists_every_supported_and_refused_option() {
    let text = help();
    for (name, _) in SUPPORTED {
        assert!(text.contains(name), "{name}");
    }
    for (name, _) in REFUSED {
        assert!(text.contains(name), "{name}");
    }
}

/// The translated options are ones our own parsers take.
#[test]
fn translations_parse_as_server_and_client_options() {
    use argh::FromArgs;
    let server = parse(&args(&format!(
        "-Listen:127.0.0.1 -Port:0 {STREAM} -TimeLimit:1500"
    )))
    .unwrap();
    let Parsed::Server(opts) = server else {
        panic!("{server:?}")
    };
    let refs: Vec<&str> = opts.iter().map(String::as_str).collect();
    let s = ServerArgs::from_args(&["cts"], &refs).unwrap();
    assert_eq!(
        (s.time_limit, s.shards, s.bits_per_second),
        (Some(1500), 1, Some(10_000_000))
    );
    let client = parse(&args(&format!("-Target:127.0.0.1 {STREAM} -BufferDepth:3"))).unwrap();
    let Parsed::Client(opts) = client else {
        panic!("{client:?}")
    };
    let refs: Vec<&str> = opts.iter().map(String::as_str).collect();
    let c = ClientArgs::from_args(&["cts"], &refs).unwrap();
    assert_eq!(
        (c.buffer_depth, c.iterations, c.compat),
        (Some(3000), u32::MAX, true)
    );
}
