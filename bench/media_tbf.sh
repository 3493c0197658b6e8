#!/bin/sh
# cbr and gop frames at the same average rate through the same tbf
# bottleneck (two network namespaces made here, a veth pair, tbf on the
# server's side): frames dropped, freezes and decodable frames of each.
# Needs root (ip netns); every process runs under `timeout`.
#
#   bench/media_tbf.sh [BINARY] [RATE] [SHAPER]   (defaults: target/debug/mediastream 8M 10mbit)
set -eu
BIN=${1:-target/debug/mediastream}
RATE=${2:-8M}
SHAPER=${3:-10mbit}
A=ms-mt-a-$$
B=ms-mt-b-$$
cleanup() { ip netns del "$A" 2>/dev/null || true; ip netns del "$B" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$A"
ip netns add "$B"
ip -n "$A" link add va type veth peer name vb netns "$B"
ip -n "$A" addr add 10.214.0.1/30 dev va
ip -n "$B" addr add 10.214.0.2/30 dev vb
for ns_dev in "$A va" "$B vb"; do
    set -- $ns_dev
    ip -n "$1" link set "$2" up
    ip -n "$1" link set lo up
done
# A 30 ms queue at the shaper's rate: a keyframe burst larger than that
# (plus the token bucket) is cut.
ip netns exec "$A" tc qdisc add dev va root tbf rate "$SHAPER" burst 3000 latency 30ms
timeout 120 ip netns exec "$A" "$BIN" server --listen 10.214.0.1 --status-interval 0 >/dev/null 2>&1 &
SERVER=$!
sleep 1
run() {
    out=/tmp/media_tbf_$1_$$.json
    timeout 90 ip netns exec "$B" "$BIN" client --target 10.214.0.1 --bits-per-second "$RATE" \
        --frame-rate 30 --stream-length 20 --buffer-depth 0.2 --frame-sizes "$2" \
        --status-interval 0 --json "$out" >/dev/null 2>&1 || true
    python3 - "$1" "$2" "$out" <<'PY'
import json, sys
name, spec, path = sys.argv[1:]
s = json.load(open(path))["streams"][0]
m, d = s["metrics"], s["metrics"]["decoder"]
p = m["playout"]
print(f"{name:4} {spec:14} completed {s['frames_completed']:4} dropped {s['frames_dropped']:4} "
      f"freezes {p['freezes']:3} ({p['freeze_ms_total']:.0f} ms) | decodable {d['decodable']:4} "
      f"spoiled {d['spoiled']:4} decoder freezes {d['freezes']:3} ({d['freeze_ms_total']:.0f} ms, "
      f"longest {d['freeze_ms_longest']:.0f} ms) | loss {m['datagrams']['loss_percent']:.2f}%")
PY
}
run cbr cbr
run gop gop:1s,10
run gop gop:2s,4
kill "$SERVER" 2>/dev/null || true
ip netns exec "$A" tc -s qdisc show dev va | sed -n 1,3p
