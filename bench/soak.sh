#!/usr/bin/env bash
# bench/soak.sh: one long stream at 200 Mbit/s on loopback, the server's
# and the client's resident memory sampled every minute. Not run in CI.
#   bash bench/soak.sh               # one hour
#   DURATION=900 bash bench/soak.sh  # 15 minutes
# Prints one row per minute and a verdict: memory after the warm-up
# (minute 2) against the last sample.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DURATION=${DURATION:-3600}
RATE=${RATE:-200M}
PORT=${PORT:-4900}
INTERVAL=${INTERVAL:-60}
BIN=target/release/mediastream
cargo build --release -q -p mediastream-cli
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$TMP"' EXIT

timeout $((DURATION + 120)) "$BIN" server --listen "127.0.0.1:$PORT" --status-interval 0 \
    --server-exit-limit 1 --json "$TMP/server.json" > "$TMP/server.log" 2>&1 &
sleep 0.5
server=$(pgrep -P $! | head -1)
timeout $((DURATION + 120)) "$BIN" client --target "127.0.0.1:$PORT" --bits-per-second "$RATE" \
    --frame-rate 60 --stream-length "$DURATION" --status-interval 0 --json "$TMP/client.json" \
    > "$TMP/client.log" 2>&1 &
sleep 0.5
client=$(pgrep -P $! | head -1)
rss() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
echo "minute,server_rss_kib,client_rss_kib"
samples=()
for ((m = 1; m * INTERVAL <= DURATION; m++)); do
    sleep "$INTERVAL"
    s=$(rss "$server"); c=$(rss "$client")
    samples+=("$s")
    echo "$m,$s,$c"
done
wait
python3 - "$TMP/client.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = d["totals"]
print(f"client: frames completed {t['frames_completed']}, dropped {t['frames_dropped']}, "
      f"errors {t['frames_error']}, datagrams {t['datagrams_received']}, jitter {t['jitter_ms']:.3f} ms")
PY
if [ "${#samples[@]}" -ge 3 ]; then
    warm=${samples[1]}; last=${samples[-1]}
    echo "server RSS after warm-up ${warm} KiB, at the end ${last} KiB, growth $((last - warm)) KiB"
fi
