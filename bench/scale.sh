#!/usr/bin/env bash
# bench/scale.sh: many streams against one server, on loopback.
#  1. 2000 concurrent streams at 1 Mbit/s, 30 frames/s: frames completed
#     and the server's resident memory per stream (VmHWM - idle VmRSS).
#  2. Shard scaling: the same many-stream load against a server with 1
#     shard and with 2 shards; datagrams the clients received per second.
# Every process runs under `timeout`; only 127.0.0.1 is used.
# Env: STREAMS (2000), SECS (10), QUICK=1 (200 streams, 3 s: a smoke run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

STREAMS=${STREAMS:-2000}
SECS=${SECS:-10}
if [ "${QUICK:-0}" = 1 ]; then STREAMS=200; SECS=3; fi
BIN=target/release/mediastream
cargo build --release -q -p mediastream-cli
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }

# Starts a server on $1 with $2 shards; sets SERVER (its pid, not timeout's).
serve() {
    timeout 600 "$BIN" server --listen "127.0.0.1:$1" --shards "$2" --max-streams 10000 \
        --status-interval 0 > "$TMP/server-$1.log" 2>&1 &
    PIDS+=($!)
    sleep 0.5
    SERVER=$(pgrep -P "$!" | head -1)
}

# Runs $3 receiving clients of $4 streams each at $5 against port $1, for $SECS s.
clients() {
    local port=$1 tag=$2 n=$3 each=$4 rate=$5 fps=$6 i
    for ((i = 0; i < n; i++)); do
        timeout $((SECS * 3 + 60)) "$BIN" client --target "127.0.0.1:$port" --connections "$each" \
            --bits-per-second "$rate" --frame-rate "$fps" --stream-length "$SECS" \
            --status-interval 0 --json "$TMP/$tag-$i.json" > /dev/null 2>&1 &
        PIDS+=($!)
    done
    wait_for "$tag" "$n"
}

wait_for() {
    local deadline=$((SECONDS + SECS * 3 + 90))
    while [ "$(ls "$TMP"/"$1"-*.json 2>/dev/null | wc -l)" -lt "$2" ] && [ $SECONDS -lt $deadline ]; do
        sleep 0.5
    done
}

# Sums a key over the clients' JSON totals.
total() {
    python3 - "$TMP" "$1" "$2" <<'PY'
import json, glob, sys
tmp, tag, key = sys.argv[1:]
print(sum(json.load(open(f))["totals"][key] for f in glob.glob(f"{tmp}/{tag}-*.json")))
PY
}

echo "== 1. $STREAMS streams at 1 Mbit/s, 30 frames/s, $SECS s"
serve 4801 0
idle=$(kib "$SERVER" VmRSS)
clients 4801 many 1 "$STREAMS" 1M 30
peak=$(kib "$SERVER" VmHWM)
kill "$SERVER" 2>/dev/null || true
completed=$(total many frames_completed)
dropped=$(total many frames_dropped)
expected=$((STREAMS * SECS * 30))
per_stream=$(( (peak - idle) * 1024 / STREAMS ))
echo "frames completed: $completed of $expected ($(python3 -c "print(f'{100*$completed/$expected:.3f}')")%), dropped $dropped"
echo "server RSS: idle ${idle} KiB, peak ${peak} KiB: $per_stream bytes per stream"

echo "== 2. shard scaling: 2 client processes x 100 streams at ${RATE:=100M}, 60 frames/s"
declare -A rate_of
for shards in 1 2; do
    serve $((4810 + shards)) "$shards"
    clients $((4810 + shards)) "shards$shards" 2 100 "$RATE" 60
    kill "$SERVER" 2>/dev/null || true
    got=$(total "shards$shards" datagrams_received)
    rate_of[$shards]=$((got / SECS))
    echo "$shards shard(s): $got datagrams received, ${rate_of[$shards]} /s, frames completed $(total "shards$shards" frames_completed), dropped $(total "shards$shards" frames_dropped)"
done
python3 -c "print(f'2 shards / 1 shard: {${rate_of[2]}/max(1,${rate_of[1]}):.2f}x')"
