//! The command line. Option names follow ctsTraffic's where one exists
//! (README has the table); every option documents its default.

use argh::FromArgs;

use crate::values;

/// mediastream: UDP media-stream traffic tool. Streams constant-rate video
/// frames and reports whether they arrived whole and on time (completed,
/// dropped, repeated, errors), with jitter and delay. Wire-compatible with
/// ctsTraffic's MediaStream mode. Logging: RUST_LOG=debug. `mediastream
/// cts -Help` (or a link named ctsTraffic) takes ctsTraffic's own command
/// line instead.
#[derive(FromArgs, Debug)]
pub struct Cli {
    /// print the version and exit
    #[argh(switch)]
    pub version: bool,
    #[argh(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum Command {
    /// Serve streams.
    Server(ServerArgs),
    /// Ask a server for streams.
    Client(ClientArgs),
    /// Run a server and a client in this process on 127.0.0.1.
    Loopback(LoopbackArgs),
    /// Forward UDP between clients and a server, impairing it.
    Relay(RelayArgs),
    /// Merge --json result documents into one.
    Merge(MergeArgs),
    /// Draw one stream of a --json document as an SVG or HTML report.
    Plot(PlotArgs),
}

/// Serve streams: plain ctsTraffic START gets the stream given here; v1
/// clients (mediastream) choose their own, within the server's limits.
/// A port another process holds (another server included) is an error:
/// only this server's own shards share it.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "server")]
pub struct ServerArgs {
    /// address to listen on: *, an IP, or IP:PORT; repeatable, e.g.
    /// --listen 10.0.0.1 --listen 10.0.0.2 serves on both (default: *, all
    /// IPv4 and IPv6 addresses)
    #[argh(option)]
    pub listen: Vec<String>,
    /// port for --listen addresses without one (default 4444)
    #[argh(option, default = "4444")]
    pub port: u16,
    /// rate of the stream served to plain START, bits per second, with k,
    /// M, G suffixes (no default: without the three stream options, plain
    /// ctsTraffic START is not served)
    #[argh(option, from_str_fn(values::rate))]
    pub bits_per_second: Option<u64>,
    /// frames per second of the plain START stream
    #[argh(option)]
    pub frame_rate: Option<u32>,
    /// length of the plain START stream, seconds
    #[argh(option, from_str_fn(values::seconds))]
    pub stream_length: Option<u32>,
    /// largest datagram of the plain START stream, header included
    /// (default 1400, 27 to 65507)
    #[argh(option, default = "1400")]
    pub datagram_size: u32,
    /// exit after this many streams have finished (default: never)
    #[argh(option)]
    pub server_exit_limit: Option<u64>,
    /// stop after this long, aborting streams still running: seconds,
    /// fractions allowed, or e.g. 1500ms (default: none)
    #[argh(option, from_str_fn(values::seconds_as_millis))]
    pub time_limit: Option<u32>,
    /// concurrent streams per direction (default 1024, 1 to 1000000)
    #[argh(option, default = "1024")]
    pub max_streams: usize,
    /// worker shards, each a thread (default 0: one per core; 0 to 256)
    #[argh(option, default = "0")]
    pub shards: usize,
    /// socket buffer size to ask for, bytes (default 4194304; Linux
    /// grants twice that: at most twice net.core.rmem_max / wmem_max,
    /// unless run as root)
    #[argh(option, default = "4 << 20")]
    pub socket_buffer: usize,
    /// pacing precision, opt-in: wake this many microseconds before each
    /// frame and spin for the rest (mio backend; default 0, never spin;
    /// up to 2000)
    #[argh(option, default = "0")]
    pub spin_us: u64,
    /// spread each frame this end sends over this long, in 1 ms
    /// sub-bursts, the way a media pacer smooths an encoder (e.g. 8ms or
    /// 0.008; default 0: each frame leaves as one burst, as in ctsTraffic;
    /// cut to the frame interval)
    #[argh(option, from_str_fn(values::seconds_as_millis), default = "0")]
    pub frame_spread: u32,
    /// trace:FILE[,...]: the trace this server replays to a client that
    /// asks for `--frame-sizes trace` while receiving (other models come
    /// from the client's request; none: such requests are refused)
    #[argh(option)]
    pub frame_sizes: Option<String>,
    /// keep each received stream's per-frame timeline in --json (about
    /// 100 bytes of JSON per frame; for `mediastream plot`; default off on
    /// the server, which may hold thousands of streams)
    #[argh(switch)]
    pub timeline: bool,
    /// the I/O backend: iocp (Windows' completion ports; the default on
    /// Windows) or mio (epoll, kqueue; the default elsewhere)
    #[argh(
        option,
        from_str_fn(values::backend),
        default = "mediastream_core::sys::Backend::platform_default()"
    )]
    pub backend: mediastream_core::sys::Backend,
    /// write the results as JSON to FILE at the end (- for stdout, which
    /// moves the text output to stderr)
    #[argh(option)]
    pub json: Option<String>,
    /// follow the run as JSON lines in FILE (- for stdout, which moves
    /// the text output to stderr): one object per status interval (each
    /// stream's and the totals' counts, interval and cumulative), then
    /// the --json document, one per line, flushed as written
    #[argh(option)]
    pub json_stream: Option<String>,
    /// serve Prometheus / OpenMetrics metrics at http://ADDR:PORT/metrics
    /// while the server runs: PORT or :PORT is 127.0.0.1:PORT; another
    /// address is allowed (with a warning: the metrics are
    /// unauthenticated); port 0 picks a free one (docs/metrics-endpoint.md)
    #[argh(option)]
    pub metrics_listen: Option<String>,
    /// status line interval in milliseconds, 0 for none (default 5000)
    #[argh(option, default = "5000")]
    pub status_interval: u64,
    /// write ctsTraffic's status CSV to FILE: one row per status
    /// interval (TimeSlice,Bits/Sec,Streams,Completed,Dropped,Repeated,Errors)
    #[argh(option)]
    pub status_file: Option<String>,
    /// write ctsTraffic's connection CSV to FILE: one row per finished
    /// stream (TimeSlice,LocalAddress,RemoteAddress,Bits/Sec,Completed,
    /// Dropped,Repeated,Errors,Result,ConnectionId)
    #[argh(option)]
    pub connection_file: Option<String>,
    /// write a line per failed stream to FILE (empty when none failed)
    #[argh(option)]
    pub error_file: Option<String>,
    /// write the status, connection, error and jitter files as ctsTraffic
    /// 2.0.3.5 does: UTF-16LE with a byte order mark and CRLF (default:
    /// UTF-8 with LF)
    #[argh(switch)]
    pub utf16: bool,
    /// print status rows as ctsTraffic's fixed-width console table,
    /// after its legend, instead of CSV lines
    #[argh(switch)]
    pub status_table: bool,
    /// print ctsTraffic's console as its -ConsoleVerbosity LEVEL does
    /// (0 to 6; docs/cts.md): its Configured Settings block, status
    /// table, connection lines and summary instead of mediastream's (the
    /// console of mediastream cts)
    #[argh(option, from_str_fn(values::verbosity))]
    pub cts_console: Option<u8>,
    /// receives kept posted per listening socket, IOCP backend (default
    /// 2, 1 to 64; ctsTraffic's -PrePostRecvs)
    #[argh(option, default = "2")]
    pub pre_post_recvs: usize,
    /// never serve plain ctsTraffic START, only v1 clients (which prove
    /// they can receive through reports and consent)
    #[argh(switch)]
    pub no_compat: bool,
    /// who may use plain ctsTraffic START: an address block (10.0.0.0/8,
    /// 2001:db8::/32) or one address; repeatable (default: loopback only,
    /// 127.0.0.0/8 and ::1). START has no return-path check: anyone who
    /// can spoof an address in these blocks can aim the stream at it
    #[argh(option)]
    pub compat_allow: Vec<String>,
    /// new requests per second one source address may make (default 200;
    /// a burst of ten times that is allowed)
    #[argh(option, default = "200")]
    pub source_rate: u32,
    /// streams one source address may hold at once (default 64; raise it
    /// for one client host running many --connections)
    #[argh(option, default = "64")]
    pub source_streams: usize,
    /// most bits per second one stream may ask for, with k, M, G suffixes
    /// (default 1G); over it a request is refused naming this limit
    #[argh(option, from_str_fn(values::rate), default = "1_000_000_000")]
    pub max_rate: u64,
    /// most bits per second all streams together may take (default 4G);
    /// past it new requests are refused as busy
    #[argh(option, from_str_fn(values::rate), default = "4_000_000_000")]
    pub max_total_rate: u64,
    /// longest stream a client may ask for, seconds (default 3600)
    #[argh(option, from_str_fn(values::seconds), default = "3600")]
    pub max_length: u32,
    /// deepest jitter buffer a client may ask for, e.g. 10s (default 10 s)
    #[argh(option, from_str_fn(values::seconds_as_millis), default = "10_000")]
    pub max_buffer_depth: u32,
    /// most frames a receiving stream's jitter buffer may hold (default
    /// 8192)
    #[argh(option, default = "8192")]
    pub max_buffered_frames: u64,
    /// largest jitter buffer in bytes, buffered frames x frame size
    /// (default 67108864, 64 MiB)
    #[argh(option, default = "64 << 20")]
    pub max_buffer_bytes: u64,
    /// largest datagram a client may ask for, bytes (default 9000; 27 to
    /// 65507)
    #[argh(option, default = "9000")]
    pub max_datagram_size: u32,
    /// longest consent the server grants: a stream it sends stops this
    /// long after the client's last report, whatever the client asked
    /// (default 5s; 0.02s to 600s)
    #[argh(option, from_str_fn(values::seconds_as_millis), default = "5000")]
    pub max_consent: u32,
    /// memory all receiving streams' state may take together, bytes,
    /// counted at each stream's bound when it starts (default 268435456,
    /// 256 MiB)
    #[argh(option, default = "256 << 20")]
    pub receive_memory: u64,
    /// keyed access: serve only v1 clients whose requests and reports
    /// carry an HMAC-SHA256 tag with the key in FILE (the file's bytes, at
    /// least 16, one trailing newline ignored); others get no answer and
    /// are counted as unkeyed. Plain START is not keyed
    #[argh(option)]
    pub key_file: Option<String>,
    /// mark every datagram this end sends with this DSCP: a name (ef,
    /// af11 to af43, cs0 to cs7, le, voice-admit) or a number 0 to 63
    /// (default: none set). The receiver counts the DSCP and ECN its data
    /// arrived with (Linux), and a v1 report carries them back
    #[argh(option, from_str_fn(values::dscp))]
    pub dscp: Option<mediastream_core::marking::Dscp>,
    /// mark every datagram this end sends ECN-capable: ect0 or ect1
    /// (default: not-ECT)
    #[argh(option, from_str_fn(values::ecn))]
    pub ecn: Option<mediastream_core::marking::Ecn>,
}

/// Ask a server for streams and measure them. Exit status: 0 when every
/// stream completed; 1 when one failed (refused, no answer, the server
/// stopped sending for longer than the buffer depth, a v1 server's END or
/// final report never came, no frame completed), the run was
/// interrupted or an --expect was not met; 2 for bad arguments (a bad
/// --expect included), or an output file that cannot be written (every
/// one is checked before any traffic). Text from the
/// server (a refusal's reason) is printed with control characters
/// escaped.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "client")]
pub struct ClientArgs {
    /// server: HOST[:PORT] (default port: --port); required; repeatable:
    /// every target gets --connections streams, all running at once, in
    /// one report
    #[argh(option)]
    pub target: Vec<String>,
    /// stream rate, bits per second, with k, M, G suffixes (8M, 1.5G);
    /// required unless --profile or an unscaled trace sets it
    #[argh(option, from_str_fn(values::rate))]
    pub bits_per_second: Option<u64>,
    /// frames per second; required unless --profile or a trace sets it
    #[argh(option)]
    pub frame_rate: Option<u32>,
    /// stream length, seconds
    #[argh(option, from_str_fn(values::seconds))]
    pub stream_length: u32,
    /// v1 frame sizes (docs/profiles.md): cbr, lognormal:STDEV (iperf2's
    /// --isochronous), gop:EVERY,RATIO[,VARIATION] (EVERY frames or 2s),
    /// trace:FILE[,loop|stop][,scale] (ffprobe's or time_ms,bytes,type
    /// CSV); sent as frame data the receiver judges frame by frame.
    /// Default: ctsTraffic's constant frames as plain data
    #[argh(option)]
    pub frame_sizes: Option<String>,
    /// media profile: voice, 720p30, 1080p30, 4k60, screen, or call
    /// (voice and 720p30 together); sets rate, frame rate, frame sizes and
    /// buffer depth; repeat for several streams per connection
    #[argh(option)]
    pub profile: Vec<String>,
    /// recv: the server sends (default); send: this client sends (JOIN)
    #[argh(option, default = "String::from(\"recv\")")]
    pub direction: String,
    /// jitter buffer, seconds, fractions allowed (default 1; 0.2 or 200ms
    /// model a real-time player)
    #[argh(option, from_str_fn(values::seconds_as_millis))]
    pub buffer_depth: Option<u32>,
    /// largest datagram, header included (default 1400, 27 to 65507)
    #[argh(option, default = "1400")]
    pub datagram_size: u32,
    /// concurrent streams (default 1)
    #[argh(option, default = "1")]
    pub connections: usize,
    /// how many times to run the streams, one after another (default 1)
    #[argh(option, default = "1")]
    pub iterations: u32,
    /// speak plain ctsTraffic (START, no extension) for a ctsTraffic
    /// server; receiving only
    #[argh(switch)]
    pub compat: bool,
    /// write ctsTraffic's per-frame jitter CSV (UTF-8) to FILE; one
    /// receiving connection only
    #[argh(option)]
    pub jitter_file: Option<String>,
    /// write the delay histograms of every received stream to FILE as CSV
    /// (frame delay first/last datagram, datagram delay, IPDV; one row per
    /// bucket: stream,remote,metric,basis,low_ms,high_ms,count)
    #[argh(option)]
    pub histogram_file: Option<String>,
    /// write the results as JSON to FILE at the end (- for stdout, which
    /// moves the text output to stderr)
    #[argh(option)]
    pub json: Option<String>,
    /// follow the run as JSON lines in FILE (- for stdout, which moves
    /// the text output to stderr): one object per status interval (each
    /// stream's and the totals' counts, interval and cumulative), then
    /// the --json document, one per line, flushed as written
    #[argh(option)]
    pub json_stream: Option<String>,
    /// status line interval in milliseconds, 0 for none (default 5000)
    #[argh(option, default = "5000")]
    pub status_interval: u64,
    /// write ctsTraffic's status CSV to FILE: one row per status
    /// interval (TimeSlice,Bits/Sec,Streams,Completed,Dropped,Repeated,Errors)
    #[argh(option)]
    pub status_file: Option<String>,
    /// write ctsTraffic's connection CSV to FILE: one row per finished
    /// stream (TimeSlice,LocalAddress,RemoteAddress,Bits/Sec,Completed,
    /// Dropped,Repeated,Errors,Result,ConnectionId)
    #[argh(option)]
    pub connection_file: Option<String>,
    /// write a line per failed stream to FILE (empty when none failed)
    #[argh(option)]
    pub error_file: Option<String>,
    /// write the status, connection, error and jitter files as ctsTraffic
    /// 2.0.3.5 does: UTF-16LE with a byte order mark and CRLF (default:
    /// UTF-8 with LF)
    #[argh(switch)]
    pub utf16: bool,
    /// print status rows as ctsTraffic's fixed-width console table,
    /// after its legend, instead of CSV lines
    #[argh(switch)]
    pub status_table: bool,
    /// print ctsTraffic's console as its -ConsoleVerbosity LEVEL does
    /// (0 to 6; docs/cts.md): its Configured Settings block, status
    /// table, connection lines and summary instead of mediastream's (the
    /// console of mediastream cts)
    #[argh(option, from_str_fn(values::verbosity))]
    pub cts_console: Option<u8>,
    /// stop streams still running after this long: seconds, fractions
    /// allowed, or e.g. 1500ms (default: none)
    #[argh(option, from_str_fn(values::seconds_as_millis))]
    pub time_limit: Option<u32>,
    /// local address to send from: IP or IP:PORT (default: any)
    #[argh(option)]
    pub bind: Option<String>,
    /// server port when --target has none (default 4444)
    #[argh(option, default = "4444")]
    pub port: u16,
    /// socket buffer size to ask for, bytes (default 4194304; Linux
    /// grants twice that: at most twice net.core.rmem_max / wmem_max,
    /// unless run as root)
    #[argh(option, default = "4 << 20")]
    pub socket_buffer: usize,
    /// pacing precision, opt-in: wake this many microseconds before each
    /// frame and spin for the rest (mio backend; default 0, never spin;
    /// up to 2000)
    #[argh(option, default = "0")]
    pub spin_us: u64,
    /// spread each frame this end sends over this long, in 1 ms
    /// sub-bursts, the way a media pacer smooths an encoder (e.g. 8ms or
    /// 0.008; default 0: each frame leaves as one burst, as in ctsTraffic;
    /// cut to the frame interval)
    #[argh(option, from_str_fn(values::seconds_as_millis), default = "0")]
    pub frame_spread: u32,
    /// leave the per-frame timeline out of --json (kept by default, about
    /// 100 bytes per frame, for `mediastream plot`)
    #[argh(switch)]
    pub no_timeline: bool,
    /// the I/O backend: iocp (Windows' completion ports; the default on
    /// Windows) or mio (epoll, kqueue; the default elsewhere)
    #[argh(
        option,
        from_str_fn(values::backend),
        default = "mediastream_core::sys::Backend::platform_default()"
    )]
    pub backend: mediastream_core::sys::Backend,
    /// an expectation the run must meet, e.g. 'loss < 0.1%',
    /// 'max(frame_delay_p99) < 50ms', 'freezes == 0'; repeatable; exit 1
    /// lists every one violated with the measured value (docs/metrics.md,
    /// "SLA checks", has the names and units)
    #[argh(option)]
    pub expect: Vec<String>,
    /// the ITU-T G.107 E-model estimate (R, MOS) for every stream, with
    /// this codec: g711 or g711-plc (default: voice-like streams only, as
    /// g711)
    #[argh(option)]
    pub emodel: Option<String>,
    /// keyed access: tag v1 requests and reports with HMAC-SHA256 under
    /// the key in FILE (the file's bytes, at least 16, one trailing newline
    /// ignored; the server's --key-file), and drop v1 answers without the
    /// tag. Not with --compat
    #[argh(option)]
    pub key_file: Option<String>,
    /// mark every datagram this end sends with this DSCP: a name (ef,
    /// af11 to af43, cs0 to cs7, le, voice-admit) or a number 0 to 63
    /// (default: none set). The receiver counts the DSCP and ECN its data
    /// arrived with (Linux), and a v1 report carries them back
    #[argh(option, from_str_fn(values::dscp))]
    pub dscp: Option<mediastream_core::marking::Dscp>,
    /// mark every datagram this end sends ECN-capable: ect0 or ect1
    /// (default: not-ECT)
    #[argh(option, from_str_fn(values::ecn))]
    pub ecn: Option<mediastream_core::marking::Ecn>,
}

/// Run a server and a client on 127.0.0.1 (or [::1]) in this process,
/// both directions at once, and print the results table.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "loopback")]
pub struct LoopbackArgs {
    /// stream rate, bits per second, with k, M, G suffixes (default 100M,
    /// or an unscaled trace's own)
    #[argh(option, from_str_fn(values::rate))]
    pub bits_per_second: Option<u64>,
    /// frames per second (default 60, or a trace's own)
    #[argh(option)]
    pub frame_rate: Option<u32>,
    /// stream length, seconds (default 5)
    #[argh(option, from_str_fn(values::seconds), default = "5")]
    pub stream_length: u32,
    /// jitter buffer, seconds, fractions allowed (default 1)
    #[argh(option, from_str_fn(values::seconds_as_millis))]
    pub buffer_depth: Option<u32>,
    /// largest datagram, header included (default 1400, 27 to 65507)
    #[argh(option, default = "1400")]
    pub datagram_size: u32,
    /// concurrent streams in each direction (default 1)
    #[argh(option, default = "1")]
    pub connections: usize,
    /// write the results as JSON to FILE at the end (- for stdout, which
    /// moves the text output to stderr)
    #[argh(option)]
    pub json: Option<String>,
    /// follow the run as JSON lines in FILE (- for stdout, which moves
    /// the text output to stderr): one object per status interval (each
    /// stream's and the totals' counts, interval and cumulative), then
    /// the --json document, one per line, flushed as written
    #[argh(option)]
    pub json_stream: Option<String>,
    /// status line interval in milliseconds, 0 for none (default 5000)
    #[argh(option, default = "5000")]
    pub status_interval: u64,
    /// the I/O backend: iocp (Windows' completion ports; the default on
    /// Windows) or mio (epoll, kqueue; the default elsewhere)
    #[argh(
        option,
        from_str_fn(values::backend),
        default = "mediastream_core::sys::Backend::platform_default()"
    )]
    pub backend: mediastream_core::sys::Backend,
    /// pacing precision, opt-in: wake this many microseconds before each
    /// frame and spin for the rest (mio backend; default 0, never spin;
    /// up to 2000)
    #[argh(option, default = "0")]
    pub spin_us: u64,
    /// spread each frame this end sends over this long, in 1 ms
    /// sub-bursts, the way a media pacer smooths an encoder (e.g. 8ms or
    /// 0.008; default 0: each frame leaves as one burst, as in ctsTraffic;
    /// cut to the frame interval)
    #[argh(option, from_str_fn(values::seconds_as_millis), default = "0")]
    pub frame_spread: u32,
    /// run on [::1] instead of 127.0.0.1
    #[argh(switch)]
    pub ipv6: bool,
    /// an expectation the run must meet, e.g. 'loss < 0.1%',
    /// 'max(frame_delay_p99) < 50ms', 'freezes == 0'; repeatable; exit 1
    /// lists every one violated with the measured value (docs/metrics.md,
    /// "SLA checks", has the names and units)
    #[argh(option)]
    pub expect: Vec<String>,
    /// the ITU-T G.107 E-model estimate (R, MOS) for every stream, with
    /// this codec: g711 or g711-plc (default: voice-like streams only, as
    /// g711)
    #[argh(option)]
    pub emodel: Option<String>,
    /// keyed access on both ends: the key in FILE (as the server's and
    /// client's --key-file)
    #[argh(option)]
    pub key_file: Option<String>,
    /// mark every datagram this end sends with this DSCP: a name (ef,
    /// af11 to af43, cs0 to cs7, le, voice-admit) or a number 0 to 63
    /// (default: none set). The receiver counts the DSCP and ECN its data
    /// arrived with (Linux), and a v1 report carries them back
    #[argh(option, from_str_fn(values::dscp))]
    pub dscp: Option<mediastream_core::marking::Dscp>,
    /// mark every datagram this end sends ECN-capable: ect0 or ect1
    /// (default: not-ECT)
    #[argh(option, from_str_fn(values::ecn))]
    pub ecn: Option<mediastream_core::marking::Ecn>,
    /// v1 frame sizes, as the client's --frame-sizes (a trace is replayed
    /// both ways: the server holds it too)
    #[argh(option)]
    pub frame_sizes: Option<String>,
    /// media profile, as the client's --profile (one stream kind: not
    /// call); sets rate, frame rate, frame sizes and buffer depth over
    /// their options
    #[argh(option)]
    pub profile: Option<String>,
}

/// Forward UDP between clients and a server as a bad path would: seeded
/// loss, duplication, reordering, delay, jitter and corruption (of data
/// payloads only), the same both ways, with a log of what happened to
/// every datagram. Point clients at --listen; runs until Ctrl-C or
/// --time-limit.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "relay")]
pub struct RelayArgs {
    /// address clients send to: IP:PORT
    #[argh(option)]
    pub listen: String,
    /// the server: HOST[:PORT] (default port 4444)
    #[argh(option)]
    pub forward: String,
    /// probability of dropping a datagram, 0 to 1 (default 0)
    #[argh(option, default = "0.0")]
    pub loss: f64,
    /// probability of delivering a datagram twice, 0 to 1 (default 0)
    #[argh(option, default = "0.0")]
    pub duplicate: f64,
    /// probability of holding a datagram back by up to --reorder-max, 0 to
    /// 1 (default 0)
    #[argh(option, default = "0.0")]
    pub reorder: f64,
    /// longest extra hold of a reordered datagram, milliseconds (default 50)
    #[argh(option, default = "50")]
    pub reorder_max: u64,
    /// fixed one-way delay, milliseconds (default 0)
    #[argh(option, default = "0")]
    pub delay: u64,
    /// extra random delay, uniform from 0 to this, milliseconds (default 0)
    #[argh(option, default = "0")]
    pub jitter: u64,
    /// probability of flipping one bit of a data datagram's payload, 0 to
    /// 1 (default 0)
    #[argh(option, default = "0.0")]
    pub corrupt: f64,
    /// seed of every random decision (default 1)
    #[argh(option, default = "1")]
    pub seed: u64,
    /// write what happened to every datagram as CSV to FILE at the end
    #[argh(option)]
    pub log: Option<String>,
    /// stop after this many seconds (default: at Ctrl-C)
    #[argh(option, from_str_fn(values::seconds))]
    pub time_limit: Option<u32>,
}

/// Merge result documents written by --json (from many clients, hosts or
/// pods) into one document of the same schema: every input's streams in
/// input order, each with a "source" key (its file name), and totals
/// recomputed over all of them.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "merge")]
pub struct MergeArgs {
    /// the documents to merge, in this order
    #[argh(positional)]
    pub inputs: Vec<String>,
    /// where to write the merged document (- for stdout); must not be one
    /// of the inputs
    #[argh(option, short = 'o')]
    pub output: String,
}

/// Draw one stream of a --json document as a report: per-frame delay over
/// time, dropped and late frames and freezes, the delay histogram with
/// p50 and p99, and the key numbers. Only receiving ends have the
/// per-frame timeline this needs.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "plot")]
pub struct PlotArgs {
    /// the document written by --json (- for stdin)
    #[argh(positional)]
    pub input: String,
    /// where to write the report: FILE.svg (the picture) or FILE.html (a
    /// self-contained page: the picture and a table of the key numbers)
    #[argh(option, short = 'o')]
    pub output: String,
    /// which stream of the document, counting from 0 (default: the first
    /// stream with a per-frame timeline, i.e. a receiving one)
    #[argh(option)]
    pub stream: Option<usize>,
    /// the report's title (default: the file name, stream and role)
    #[argh(option)]
    pub title: Option<String>,
}
