#!/usr/bin/env bash
# End-to-end test of contrib/wireshark/mediastream.lua: captures a loopback
# run of every message type with dumpcap, then checks with tshark that every
# datagram is decoded as MediaStream and that the decoded fields equal what
# the run did (the clients' --json documents).
#
# Usage: bash contrib/wireshark/test.sh     (from anywhere)
# Needs: tshark and dumpcap (Debian: tshark), jq, python3, and the right to
# capture on lo (CI runs as root). Loopback only (127.0.0.1 and ::1).
# Environment: MEDIASTREAM_BIN (default: target/debug/mediastream, built if
# missing), WSHARK_PORT_BASE (default 46200; uses BASE..BASE+19),
# WSHARK_KEEP=1 keeps the scratch directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
LUA=$ROOT/contrib/wireshark/mediastream.lua

for tool in tshark dumpcap jq python3; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed"; exit 1; }
done

BIN=${MEDIASTREAM_BIN:-$ROOT/target/debug/mediastream}
if [ ! -x "$BIN" ]; then
    timeout 1800 cargo build --locked -p mediastream-cli
fi

BASE=${WSHARK_PORT_BASE:-46200}
SERVER=$BASE              # plain START and v1, unkeyed, IPv4 and IPv6
SERVER_KEYED=$((BASE + 1)) # v1 with --key-file
C_PLAIN=$((BASE + 10))    # --compat: START, connection id, data
C_REQUEST=$((BASE + 11))  # v1 REQUEST: challenge, accept, data to the client, reports, end
C_JOIN=$((BASE + 12))     # v1 JOIN over ::1: data from the client, reports from the server
C_REFUSE=$((BASE + 13))   # v1 REQUEST over the server's --max-rate: REFUSE
C_KEYED=$((BASE + 14))    # keyed v1 REQUEST: tags
C_OLD=$((BASE + 15))      # a crafted version 1 REQUEST: version 1 REFUSE
J_FROM=$((BASE + 16))     # junk that the heuristic must not claim
J_TO=$((BASE + 17))
R_FROM=$((BASE + 18))     # random datagrams the heuristic must not claim
R_TO=$((BASE + 19))

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    if [ "${WSHARK_KEEP:-0}" = 1 ]; then echo "scratch kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    exit 1
}

# Whether ::1 can be used (a container may have IPv6 off).
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))' 2>/dev/null; then
    JOIN_HOST="[::1]"
    SERVER_LISTEN=(--listen "127.0.0.1:$SERVER" --listen "[::1]:$SERVER")
else
    echo "note: ::1 is not usable here; the JOIN run uses 127.0.0.1"
    JOIN_HOST=127.0.0.1
    SERVER_LISTEN=(--listen "127.0.0.1:$SERVER")
fi

# One small stream for every run: 40 frames of 2500 bytes, 3 datagrams each.
STREAM=(--frame-rate 20 --stream-length 2 --datagram-size 1000)
FRAMES=40

echo "==> capture on lo, udp ports $BASE-$((BASE + 19))"
CAP=$WORK/capture.pcapng
# Bounded: stops by itself after 120 s or 20000 packets; stopped earlier below.
timeout 150 dumpcap -q -i lo -f "udp and portrange $BASE-$((BASE + 19))" \
    -a duration:120 -c 20000 -w "$CAP" 2>"$WORK/dumpcap.log" &
DUMPCAP=$!
PIDS+=("$DUMPCAP")
for _ in $(seq 100); do
    grep -q "Capturing on" "$WORK/dumpcap.log" 2>/dev/null && break
    sleep 0.1
done
grep -q "Capturing on" "$WORK/dumpcap.log" || { cat "$WORK/dumpcap.log"; fail "dumpcap did not start"; }

echo "==> servers"
printf 'wireshark-test-key-0123456789\n' >"$WORK/key"
timeout 60 "$BIN" server "${SERVER_LISTEN[@]}" --bits-per-second 400k "${STREAM[@]}" --max-rate 1M \
    --status-interval 0 --time-limit 40 --shards 1 >"$WORK/server.log" 2>&1 &
PIDS+=($!)
SERVER_PID=$!
timeout 60 "$BIN" server --listen "127.0.0.1:$SERVER_KEYED" --key-file "$WORK/key" --no-compat \
    --status-interval 0 --time-limit 40 --shards 1 >"$WORK/server-keyed.log" 2>&1 &
PIDS+=($!)
SERVER_KEYED_PID=$!
sleep 0.5

echo "==> clients (all at once)"
client() { # name port target rate [args...]
    local name=$1 port=$2 target=$3 rate=$4
    shift 4
    local bind=127.0.0.1
    case $target in \[*) bind="[::1]" ;; esac
    set +e
    timeout 30 "$BIN" client --target "$target" --bits-per-second "$rate" "${STREAM[@]}" --buffer-depth 0.3 \
        --status-interval 0 --no-timeline --bind "$bind:$port" --json "$WORK/$name.json" "$@" \
        >"$WORK/$name.log" 2>&1
    echo $? >"$WORK/$name.rc"
}
client plain "$C_PLAIN" "127.0.0.1:$SERVER" 400k --compat &
CLIENTS=($!)
client request "$C_REQUEST" "127.0.0.1:$SERVER" 400k &
CLIENTS+=($!)
client join "$C_JOIN" "$JOIN_HOST:$SERVER" 400k --direction send &
CLIENTS+=($!)
client refuse "$C_REFUSE" "127.0.0.1:$SERVER" 2M &
CLIENTS+=($!)
client keyed "$C_KEYED" "127.0.0.1:$SERVER_KEYED" 400k --key-file "$WORK/key" &
CLIENTS+=($!)

# A version 1 REQUEST (before the cookie and the tag), and junk the
# heuristic must leave alone.
timeout 10 python3 - "$SERVER" "$C_OLD" "$J_FROM" "$J_TO" "$R_FROM" "$R_TO" <<'EOF'
import random, socket, struct, sys, time
server, old, jfrom, jto, rfrom, rto = map(int, sys.argv[1:])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", old))
s.settimeout(3)
req = struct.pack("<HBQQIIIIII", 0x2001, 1, 0x1122334455667788, 400000, 20, 2, 1000, 300, 250, 3000)
s.sendto(req.ljust(128, b"\0"), ("127.0.0.1", server))
print("version 1 request answered with", len(s.recv(2048)), "bytes")
j = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
j.bind(("127.0.0.1", jfrom))
pattern = b"".join(struct.pack("<H", i) for i in range(64))
junk = [
    b"hello, world",
    b"START\0",
    b"STAR",
    b"\0\0" + bytes(range(7, 47)),                                  # flag 0, nonsense header
    struct.pack("<Hqqq", 0, 1, 12345, 10**9) + b"x" * 40,           # plausible header, wrong payload
    struct.pack("<Hqqq", 0, -5, 12345, 10**9) + pattern[:40],       # negative sequence number
    struct.pack("<Hqqq", 0, 1, 12345, 0) + pattern[:40],            # zero frequency
    b"\x00\x10" + b"z" * 36 + b"\0",                                  # connection id, not a GUID
    struct.pack("<HBQ", 0x2005, 2, 7) + bytes(100),                 # REPORT of the wrong length
    struct.pack("<HBQ", 0x2003, 2, 7) + b"g" * 36 + bytes(16),      # ACCEPT, not a GUID
    struct.pack("<HBQ", 0x2004, 2, 7) + bytes([1, 50]) + b"r" * 3 + bytes(16),  # REFUSE, bad length
    struct.pack("<HBQ", 0x2006, 9, 7) + bytes(48),                  # END of an unknown version
    struct.pack("<HBQ", 0x2042, 2, 7) + bytes(48),                  # unknown v1 flag
]
for d in junk:
    j.sendto(d, ("127.0.0.1", jto))
print(len(junk), "junk datagrams sent")
# Random datagrams (seeded): 1000 of random bytes, 500 more with a data
# datagram's flag (0x0000) in front.
rng = random.Random(4444)
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind(("127.0.0.1", rfrom))
for i in range(1500):
    body = rng.randbytes(rng.randint(1, 1500))
    r.sendto(body if i < 1000 else b"\0\0" + body, ("127.0.0.1", rto))
    if i % 100 == 99:
        time.sleep(0.01)  # gentle on the capture buffer
print("1500 random datagrams sent")
EOF
JUNK=13
RANDOM_N=1500

for pid in "${CLIENTS[@]}"; do wait "$pid"; done
sleep 0.5
kill -INT "$SERVER_PID" "$SERVER_KEYED_PID" 2>/dev/null || true
wait "$SERVER_PID" "$SERVER_KEYED_PID" 2>/dev/null || true
sleep 0.5
kill -INT "$DUMPCAP" 2>/dev/null || true
wait "$DUMPCAP" || true
cat "$WORK/dumpcap.log"

for name in plain request join keyed; do
    [ "$(cat "$WORK/$name.rc")" = 0 ] || { cat "$WORK/$name.log"; fail "client $name exited $(cat "$WORK/$name.rc")"; }
done
[ "$(cat "$WORK/refuse.rc")" = 1 ] || { cat "$WORK/refuse.log"; fail "the over-rate client was not refused"; }

TSHARK=(timeout 120 tshark -n -X "lua_script:$LUA" -r "$CAP")
TOTAL=$("${TSHARK[@]}" -Y udp -T fields -e frame.number | wc -l)
[ "$TOTAL" -gt 0 ] || fail "empty capture"
OURS=$((TOTAL - JUNK - RANDOM_N))
echo "==> $TOTAL UDP packets captured: $OURS of the runs, $JUNK junk, $RANDOM_N random"

# Every datagram but the junk is decoded as mediastream, with the port
# preference and with the heuristic alone; the junk is never claimed.
check_decoded() { # label expected-found-by tshark-args...
    local label=$1 by=$2
    shift 2
    local undecoded decoded bad found
    undecoded=$("${TSHARK[@]}" "$@" -Y 'udp && !mediastream' -T fields -e udp.srcport -e udp.dstport | sort | uniq -c)
    decoded=$("${TSHARK[@]}" "$@" -Y 'mediastream' -T fields -e frame.number | wc -l)
    bad=$("${TSHARK[@]}" "$@" -Y 'mediastream && (data || _ws.malformed || _ws.lua.error || _ws.expert)' -T fields -e frame.number | wc -l)
    found=$("${TSHARK[@]}" "$@" -Y 'mediastream' -T fields -e mediastream.found_by | sort -u | tr '\n' ' ')
    echo "$label: $decoded of $TOTAL UDP packets decoded as mediastream (found by: $found); not decoded:"
    echo "$undecoded"
    [ "$decoded" -eq "$OURS" ] || fail "$label: $decoded decoded, expected $OURS"
    [ "$(echo "$undecoded" | awk '{printf "%s %s %s;", $1, $2, $3}')" = "$JUNK $J_FROM $J_TO;$RANDOM_N $R_FROM $R_TO;" ] \
        || fail "$label: undecoded datagrams other than the junk and the random ones: $undecoded"
    [ "$bad" -eq 0 ] || fail "$label: $bad datagrams with undissected bytes, malformed or unknown parts"
    [ "$found" = "$by " ] || fail "$label: found by '$found', expected '$by'"
}
# UDP asks the port table before the heuristics: with the servers' ports in
# the preference every datagram is found by port; without, by its shape.
check_decoded "port preference ($SERVER,$SERVER_KEYED)" port -o "mediastream.udp_ports:$SERVER,$SERVER_KEYED"
check_decoded "heuristic only" heuristic -o "mediastream.udp_ports:"
# On a port of the preference the junk is decoded, each with a warning or
# an error saying what is wrong, and no Lua error.
flagged=$("${TSHARK[@]}" -o "mediastream.udp_ports:$J_TO" \
    -Y "udp.dstport == $J_TO && mediastream && _ws.expert && !_ws.lua.error" -T fields -e frame.number | wc -l)
[ "$flagged" -eq "$JUNK" ] || fail "junk on a preference port: $flagged of $JUNK flagged without a Lua error"
lua_errors=$("${TSHARK[@]}" -o "mediastream.udp_ports:$R_TO" -Y "_ws.lua.error" -T fields -e frame.number | wc -l)
[ "$lua_errors" -eq 0 ] || fail "random datagrams on a preference port: $lua_errors Lua errors"
echo "ok: the $RANDOM_N random datagrams on a preference port decode without a Lua error"
echo "ok: the $JUNK junk packets on a preference port are each flagged, no Lua error"
DECODED=$OURS

# One row per decoded datagram, tab-separated.
FIELDS=(frame.number udp.srcport udp.dstport mediastream.data.len mediastream.kind mediastream.data.seq
    mediastream.data.frequency mediastream.data.payload_ok mediastream.v1.version mediastream.v1.token
    mediastream.v1.has_cookie mediastream.v1.cookie mediastream.connection_id mediastream.v1.keyed
    mediastream.refuse.code mediastream.report.final mediastream.report.frames_completed
    mediastream.report.frames_dropped mediastream.report.frames_repeated mediastream.report.frames_error
    mediastream.report.datagrams_received mediastream.report.bytes_received mediastream.report.datagrams_corrupt
    mediastream.report.highest_seq mediastream.end.frames_sent mediastream.end.datagrams_sent
    mediastream.end.bytes_sent mediastream.request.bits_per_second mediastream.request.frame_rate
    mediastream.request.stream_length mediastream.request.datagram_size mediastream.request.buffer_depth_ms
    mediastream.refuse.reason)
args=()
for f in "${FIELDS[@]}"; do args+=(-e "$f"); done
ROWS=$WORK/rows.tsv
# A field that occurs more than once in a packet (the datagrams of a GSO
# send) is listed comma-separated.
"${TSHARK[@]}" -Y mediastream -T fields -E occurrence=a -E aggregator=, "${args[@]}" >"$ROWS"
col() { # name -> column number
    local i=1
    for f in "${FIELDS[@]}"; do
        [ "$f" = "$1" ] && { echo "$i"; return; }
        i=$((i + 1))
    done
    fail "no column $1"
}
# rows between two ports (either direction if $3 is "any"), kind, column
pick() { # src dst kind column
    awk -F'\t' -v s="$1" -v d="$2" -v k="$3" -v c="$(col "$4")" \
        '$2 == s && $3 == d && $5 == k { print $c }' "$ROWS"
}
count() { pick "$@" | wc -l; }
# every datagram's value of a data field, one a line (a GSO packet holds many)
dvals() { pick "$1" "$2" DATA "$3" | tr ',' '\n'; }
datagrams() { dvals "$1" "$2" mediastream.data.seq | wc -l; }
same() { # what expected actual
    [ "$2" = "$3" ] || fail "$1: expected '$2', decoded '$3'"
    echo "ok: $1 = $3"
}

echo "==> every message type is there"
for kind in START CONNECTION_ID DATA REQUEST JOIN CHALLENGE ACCEPT REFUSE REPORT END; do
    n=$(awk -F'\t' -v k="$kind" '$5 == k' "$ROWS" | wc -l)
    [ "$n" -gt 0 ] || fail "no $kind decoded"
    echo "ok: $n x $kind"
done

# Data of one direction: sequence numbers ascend from 1 to the last frame,
# every frame there, frequency 1 GHz, payload pattern intact.
check_data() { # label src dst
    local label=$1 src=$2 dst=$3 seqs
    seqs=$(dvals "$src" "$dst" mediastream.data.seq)
    [ -n "$seqs" ] || fail "$label: no data"
    echo "$seqs" | awk -v label="$label" -v frames="$FRAMES" '
        NR == 1 && $1 != 1 { print "FAIL: " label ": first sequence number " $1; bad = 1; exit 1 }
        NR > 1 && $1 < prev { print "FAIL: " label ": sequence " $1 " after " prev; bad = 1; exit 1 }
        { prev = $1; seen[$1] = 1 }
        END {
            if (bad) exit 1
            if (prev != frames) { print "FAIL: " label ": last sequence number " prev; exit 1 }
            for (i = 1; i <= frames; i++) if (!(i in seen)) { print "FAIL: " label ": frame " i " missing"; exit 1 }
        }' || exit 1
    echo "ok: $label: data sequence numbers ascend 1..$FRAMES, every frame present"
    same "$label: frequencies" "1000000000" "$(dvals "$src" "$dst" mediastream.data.frequency | sort -u)"
    same "$label: payload pattern" 1 "$(dvals "$src" "$dst" mediastream.data.payload_ok | sort -u)"
}
data_bytes() { dvals "$1" "$2" mediastream.data.len | awk '{ s += $1 } END { print s + 0 }'; }

echo "==> plain ctsTraffic START ($C_PLAIN)"
same "START datagrams from the client" "$(count "$C_PLAIN" "$SERVER" START frame.number)" "$(awk -F'\t' -v p="$C_PLAIN" '$2 == p' "$ROWS" | wc -l)"
same "connection id" "$(jq -r '.streams[0].connection_id' "$WORK/plain.json")" \
    "$(pick "$SERVER" "$C_PLAIN" CONNECTION_ID mediastream.connection_id | sort -u)"
check_data "plain" "$SERVER" "$C_PLAIN"
same "plain: datagrams" "$(jq '.streams[0].datagrams_received' "$WORK/plain.json")" "$(datagrams "$SERVER" "$C_PLAIN")"
same "plain: bytes" "$(jq '.streams[0].bytes_received' "$WORK/plain.json")" "$(data_bytes "$SERVER" "$C_PLAIN")"

# A v1 stream: one token throughout, the challenge's cookie echoed, the
# accept's connection id the client's.
check_v1() { # label client-port server-port kind json
    local label=$1 c=$2 s=$3 kind=$4 json=$5 token first cookie
    token=$(pick "$c" "$s" "$kind" mediastream.v1.token | head -n1)
    same "$label: one token in every v1 datagram" "$token" \
        "$(awk -F'\t' -v c="$c" -v s="$s" '(($2 == c && $3 == s) || ($2 == s && $3 == c)) && $9 != "" { print $10 }' "$ROWS" | sort -u)"
    same "$label: first $kind carries no cookie" 0 "$(pick "$c" "$s" "$kind" mediastream.v1.has_cookie | head -n1)"
    cookie=$(pick "$s" "$c" CHALLENGE mediastream.v1.cookie | head -n1)
    [ -n "$cookie" ] || fail "$label: no CHALLENGE"
    same "$label: the next $kind echoes the CHALLENGE's cookie" "$cookie" \
        "$(pick "$c" "$s" "$kind" mediastream.v1.cookie | sed -n 2p)"
    same "$label: ACCEPT's connection id" "$(jq -r '.streams[0].connection_id' "$json")" \
        "$(pick "$s" "$c" ACCEPT mediastream.connection_id | sort -u)"
    same "$label: $kind frame rate" 20 "$(pick "$c" "$s" "$kind" mediastream.request.frame_rate | sort -u)"
    same "$label: $kind datagram size" 1000 "$(pick "$c" "$s" "$kind" mediastream.request.datagram_size | sort -u)"
    same "$label: $kind buffer depth" 300 "$(pick "$c" "$s" "$kind" mediastream.request.buffer_depth_ms | sort -u)"
}
# The receiver's final REPORT against a JSON object holding the counters,
# and the sender's END against the captured data.
check_report_end() { # label receiver-port sender-port json-path json
    local label=$1 r=$2 s=$3 path=$4 json=$5 final
    final=$(awk -F'\t' -v r="$r" -v s="$s" -v c="$(col mediastream.report.final)" \
        '$2 == r && $3 == s && $5 == "REPORT" && $c == "1"' "$ROWS" | tail -n1)
    [ -n "$final" ] || fail "$label: no final REPORT"
    fieldof() { echo "$final" | awk -F'\t' -v c="$(col "$1")" '{ print $c }'; }
    for pair in frames_completed:frames_completed frames_dropped:frames_dropped \
        frames_repeated:frames_repeated frames_error:frames_error \
        datagrams_received:datagrams_received bytes_received:bytes_received \
        datagrams_corrupt:datagrams_corrupt; do
        same "$label: final REPORT ${pair%%:*}" "$(jq "$path.${pair#*:}" "$json")" "$(fieldof "mediastream.report.${pair%%:*}")"
    done
    same "$label: final REPORT datagrams_received = data captured" "$(datagrams "$s" "$r")" "$(fieldof mediastream.report.datagrams_received)"
    same "$label: final REPORT highest_seq" "$FRAMES" "$(fieldof mediastream.report.highest_seq)"
    same "$label: END frames_sent" "$FRAMES" "$(pick "$s" "$r" END mediastream.end.frames_sent | sort -u)"
    same "$label: END datagrams_sent = data captured" "$(datagrams "$s" "$r")" "$(pick "$s" "$r" END mediastream.end.datagrams_sent | sort -u)"
    same "$label: END bytes_sent = data bytes captured" "$(data_bytes "$s" "$r")" "$(pick "$s" "$r" END mediastream.end.bytes_sent | sort -u)"
}

echo "==> v1 REQUEST ($C_REQUEST): the server sends"
check_v1 request "$C_REQUEST" "$SERVER" REQUEST "$WORK/request.json"
check_data request "$SERVER" "$C_REQUEST"
check_report_end request "$C_REQUEST" "$SERVER" '.streams[0]' "$WORK/request.json"

echo "==> v1 JOIN ($C_JOIN, $JOIN_HOST): the client sends"
check_v1 join "$C_JOIN" "$SERVER" JOIN "$WORK/join.json"
check_data join "$C_JOIN" "$SERVER"
check_report_end join "$SERVER" "$C_JOIN" '.streams[0].peer.report' "$WORK/join.json"
same "join: END from the client = its JSON" "$(jq '.streams[0].datagrams_sent' "$WORK/join.json")" \
    "$(pick "$C_JOIN" "$SERVER" END mediastream.end.datagrams_sent | sort -u)"

echo "==> REFUSE ($C_REFUSE)"
check_v1_refuse_token=$(pick "$C_REFUSE" "$SERVER" REQUEST mediastream.v1.token | sort -u)
same "refuse: REFUSE's token is the REQUEST's" "$check_v1_refuse_token" "$(pick "$SERVER" "$C_REFUSE" REFUSE mediastream.v1.token | sort -u)"
same "refuse: a CHALLENGE came first" 1 "$(pick "$SERVER" "$C_REFUSE" CHALLENGE mediastream.v1.cookie | sort -u | wc -l)"
same "refuse: REQUEST asked 2M" 2000000 "$(pick "$C_REFUSE" "$SERVER" REQUEST mediastream.request.bits_per_second | sort -u)"
same "refuse: code (1, bad parameters)" 1 "$(pick "$SERVER" "$C_REFUSE" REFUSE mediastream.refuse.code | sort -u)"
reason=$(pick "$SERVER" "$C_REFUSE" REFUSE mediastream.refuse.reason | sort -u)
[ -n "$reason" ] || fail "refuse: no reason decoded"
jq -r '.streams[0].error' "$WORK/refuse.json" | grep -qF "$reason" \
    || fail "refuse: decoded reason '$reason' is not in the client's error: $(jq -r '.streams[0].error' "$WORK/refuse.json")"
echo "ok: refuse: reason '$reason' is the client's error"

echo "==> keyed REQUEST ($C_KEYED): every v1 datagram tagged, unkeyed ones not"
same "keyed: tags" 1 "$(awk -F'\t' -v p="$C_KEYED" -v c="$(col mediastream.v1.keyed)" '($2 == p || $3 == p) && $9 != "" { print $c }' "$ROWS" | sort -u)"
same "unkeyed: tags" 0 "$(awk -F'\t' -v p="$C_KEYED" -v o="$C_OLD" -v c="$(col mediastream.v1.keyed)" '$2 != p && $3 != p && $2 != o && $3 != o && $9 != "" { print $c }' "$ROWS" | sort -u)"
check_v1 keyed "$C_KEYED" "$SERVER_KEYED" REQUEST "$WORK/keyed.json"
check_report_end keyed "$C_KEYED" "$SERVER_KEYED" '.streams[0]' "$WORK/keyed.json"

echo "==> version 1 REQUEST ($C_OLD): REFUSE in version 1's layout"
same "old: request version" 1 "$(pick "$C_OLD" "$SERVER" REQUEST mediastream.v1.version)"
same "old: REFUSE version" 1 "$(pick "$SERVER" "$C_OLD" REFUSE mediastream.v1.version)"
same "old: REFUSE code (3, unsupported version)" 3 "$(pick "$SERVER" "$C_OLD" REFUSE mediastream.refuse.code)"
same "old: REFUSE token" 0x1122334455667788 "$(pick "$SERVER" "$C_OLD" REFUSE mediastream.v1.token)"
same "old: REFUSE reason" "version 1 not spoken here; this server speaks 2" "$(pick "$SERVER" "$C_OLD" REFUSE mediastream.refuse.reason)"

echo "==> REPORT marking blocks (the JOIN announced it reads them)"
# Each REPORT the server sends the JOIN client carries a marking block
# whose count of datagrams read is that REPORT's datagrams received.
blocks=$("${TSHARK[@]}" -o "mediastream.udp_ports:$SERVER" \
    -Y "udp.srcport == $SERVER && udp.dstport == $C_JOIN && mediastream.report.block.type == 1" \
    -T fields -e mediastream.report.datagrams_received -e mediastream.report.marking.read)
[ -n "$blocks" ] || fail "no REPORT to the JOIN client carried a marking block"
echo "$blocks" | awk -F'\t' '$1 != $2 { bad++ } END { exit bad > 0 }' \
    || fail "marking block read counts differ from the REPORTs' datagrams received: $blocks"
echo "ok: $(echo "$blocks" | wc -l) REPORTs to the JOIN client carry a marking block; read = datagrams received in each"

DATAGRAMS=$(awk -F'\t' -v c="$(col mediastream.data.seq)" '{ n += ($5 == "DATA") ? split($c, a, ",") : 1 } END { print n }' "$ROWS")
echo "PASS: $DECODED of $OURS mediastream UDP packets decoded ($DATAGRAMS datagrams: GSO packets hold several), all fields above as the run did; $JUNK junk and $RANDOM_N random packets left alone"
