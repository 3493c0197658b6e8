#!/usr/bin/env bash
# bench/scale.sh: many streams against one server, on loopback.
#  1. 2000 concurrent streams at 1 Mbit/s, 30 frames/s: frames completed
#     and the server's resident memory per stream (VmHWM - idle VmRSS).
#  2. Shard scaling: a server with 1 shard and with 2 shards SENDS
#     SHARD_STREAMS plain ctsTraffic streams (START) at SHARD_RATE each, far
#     more than one shard can send, to a python3 "sink" that costs (almost)
#     no CPU: SHARD_STREAMS UDP sockets with a 4 KiB receive buffer that
#     never read, so the kernel drops what does not fit. With SO_REUSEPORT
#     the kernel spreads the streams' source ports over the shards, and each
#     shard runs flat out (the frames go out late, but all of them go out).
#     Measured: datagrams the server sent per second (the server JSON's
#     streams[].datagrams_sent over the time from the first START to the
#     server's exit, which --server-exit-limit makes follow the last stream's
#     end), the same from the kernel's drop counters of the sink's sockets
#     while every stream still runs ("steady"), the server's CPU seconds
#     (/usr/bin/time), ksoftirqd's, and each server thread's CPU
#     (/proc/PID/task/*/stat) while every stream runs. The clients of the
#     old method ate the second core of a 2-core machine; the sink does not.
#  3. Server start: the time from exec to "listening on" (printed once
#     the sockets are bound and the workers run) with the largest
#     --max-streams allowed (1,000,000) and with the default 1024, the
#     median of START_RUNS runs, and the RSS right after.
#  4. Mixed load: MIXED streams against one server, half each way, at
#     100 kbit/s and 50 frames/s (a fleet of voice-sized streams): one
#     client process receives MIXED/2 (the server sends), then, once those
#     run, another sends MIXED/2 (the server receives, with its full
#     receive metrics); frames completed in each direction (each
#     receiver's count) and the server's RSS per sending stream (RSS with
#     the first half running - idle) / (MIXED/2) and per receiving stream
#     (the growth when the second half joined) / (MIXED/2), which also
#     holds whatever the first half grew meanwhile: an upper bound. The server runs without
#     --json, as a long-running collector would: with it, it keeps every
#     finished stream's metrics for the document. Also the heap a receiving
#     stream holds, part by part (examples/stream_memory.rs).
#  5. Memory after streams end: BATCHES batches of BATCH streams that the
#     server receives (3 s each, one after the other), the server's RSS
#     after each, without --json (finished streams' metrics are dropped)
#     and with it (kept for the document).
# Clients run with --no-timeline: their per-frame timeline (kept by
# default for `mediastream plot`) would cost them memory and CPU, and the
# server is what is measured.
# Every process runs under `timeout`; only 127.0.0.1 is used.
# Env: STREAMS (2000), SECS (10): part 1;
#      START_RUNS (5): part 3; MIXED (10000), MIXED_SECS (20): part 4;
#      BATCH (1000), BATCHES (3): part 5;
#      PARTS ("1 2 3 4 5"): the parts to run;
#      SHARD_STREAMS (200), SHARD_RATE (400M), SHARD_SECS (10): part 2;
#      SHARD_COUNTS ("1 2"): the shard counts part 2 runs;
#      PIN (0): 1 pins shard thread i to core i (taskset -pc) in part 2;
#      NO_BUILD (0): 1 skips cargo build;
#      QUICK=1: a smoke run (part 1: 200 streams, 3 s; part 2: SHARD_SECS 1,
#      about 10 s: one shard needs 4-5 s for what is asked in 1 s); figures
#      are printed, never judged.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

STREAMS=${STREAMS:-2000}
SECS=${SECS:-10}
SHARD_STREAMS=${SHARD_STREAMS:-200}
SHARD_RATE=${SHARD_RATE:-400M}
SHARD_COUNTS=${SHARD_COUNTS:-1 2}
PIN=${PIN:-0}
START_RUNS=${START_RUNS:-5}
MIXED=${MIXED:-10000}
MIXED_SECS=${MIXED_SECS:-20}
BATCH=${BATCH:-1000}
BATCHES=${BATCHES:-3}
PARTS=${PARTS:-1 2 3 4 5}
if [ "${QUICK:-0}" = 1 ]; then
    STREAMS=200; SECS=3
    SHARD_SECS=${SHARD_SECS:-1}
    START_RUNS=2; MIXED=400; MIXED_SECS=8; BATCH=100; BATCHES=2
fi
part() { [[ " $PARTS " == *" $1 "* ]]; }
SHARD_SECS=${SHARD_SECS:-10}
BIN=target/release/mediastream
if [ "${NO_BUILD:-0}" != 1 ]; then cargo build --release -q -p mediastream-cli; fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do if [ -n "$p" ]; then kill "$p" 2>/dev/null || true; fi; done; rm -rf "$TMP"; }
trap cleanup EXIT

kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }

# Starts a server on $1 with $2 shards; sets SERVER (its pid, not timeout's).
serve() {
    timeout 600 "$BIN" server --listen "127.0.0.1:$1" --shards "$2" --max-streams 10000 \
        --source-streams 10000 --max-total-rate 1000G --status-interval 0 > "$TMP/server-$1.log" 2>&1 &
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
            --no-timeline --status-interval 0 --json "$TMP/$tag-$i.json" > /dev/null 2>&1 &
        PIDS+=($!)
    done
    wait_for "$tag" "$n"
}

wait_for() {
    local deadline=$((SECONDS + SECS * 3 + 90))
    while [ "$(find "$TMP" -maxdepth 1 -name "$1-*.json" | wc -l)" -lt "$2" ] && [ $SECONDS -lt $deadline ]; do
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

if part 1; then
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
fi

# ---------------------------------------------------------------- 2. shard scaling

# The sink: N sockets that ask for streams and never read. It also samples
# the server's threads, the kernel's drop counters of its sockets and the
# machine's busy time while every stream still runs (no stream can end
# before SECS), and waits for the server to exit (at most LIFETIME s).
cat > "$TMP/sink.py" <<'PY'
# sink.py PORT N SECS LIFETIME SERVER_PID OUT
import fcntl, glob, json, os, socket, struct, sys, termios, time
port, n, secs, lifetime, pid = (int(x) for x in sys.argv[1:6])
out = sys.argv[6]
clk = os.sysconf("SC_CLK_TCK")
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
mine = {"%04X" % s.getsockname()[1] for s in socks}

def alive():
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False

def threads():
    r = {}
    for p in glob.glob("/proc/%d/task/*/stat" % pid):
        try:
            with open(p) as f:
                t = f.read()
        except OSError:
            continue
        f = t.rsplit(")", 1)[1].split()
        r[int(p.split("/")[4])] = (t[t.index("(") + 1:t.rindex(")")], int(f[11]) + int(f[12]))
    return r

def busy():
    with open("/proc/stat") as f:
        c = [int(x) for x in f.readline().split()[1:]]
    return c[0] + c[1] + c[2] + c[5] + c[6] + c[7]

def kernel():
    """drops summed over our sockets (one per datagram that did not fit,
    so nearly every datagram sent), and how many sockets hold data"""
    d = q = 0
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            x = line.split()
            if x[1].startswith("0100007F:") and x[1][-4:] in mine:
                d += int(x[-1])
                q += int(x[4].split(":")[1], 16) > 0
    return d, q

t0 = time.monotonic()
for s in socks:
    s.sendto(b"START", ("127.0.0.1", port))
t_sent = time.monotonic()
ta, tb = t0 + min(0.5, secs / 4), t0 + max(secs - 0.3, secs * 3 / 4)
a = b = None
last = {}   # every thread's CPU ticks when last seen (shard threads end before the process)
deadline = t0 + lifetime
while time.monotonic() < deadline and alive():
    now = time.monotonic()
    last.update(threads())
    if a is None and now >= ta:
        a = (now, threads(), kernel()[0], busy())
    elif a is not None and b is None and now >= tb:
        b = (now, threads(), kernel()[0], busy())
    time.sleep(0.02)
t_exit = time.monotonic()
exited = not alive()
d, queued = kernel()
res = {"start_spread_s": t_sent - t0, "exit_s": t_exit - t0, "server_exited": exited,
       "kernel_drops": d, "sockets_with_data": queued, "threads": [],
       "thread_cpu_s": [{"tid": tid, "comm": c, "cpu_s": t / clk} for tid, (c, t) in sorted(last.items())]}
if a and b and b[0] > a[0]:
    dt = b[0] - a[0]
    for tid, (comm, t1) in sorted(b[1].items()):
        res["threads"].append({"tid": tid, "comm": comm,
                               "cpu_pct": 100.0 * (t1 - a[1].get(tid, (comm, t1))[1]) / clk / dt})
    res.update(sampled_s=dt, sampled_from_s=a[0] - t0, sampled_dgrams=b[2] - a[2],
               machine_busy_pct=min(100.0, 100.0 * (b[3] - a[3]) / clk / dt / os.cpu_count()))
u = os.times()
res["sink_cpu_s"] = u.user + u.system
with open(out, "w") as f:
    json.dump(res, f)
for s in socks:
    s.close()
PY

# One row of part 2 from the server JSON, its /usr/bin/time file, the
# sink's JSON and ksoftirqd's CPU seconds; prints "key=value" lines.
cat > "$TMP/row.py" <<'PY'
import json, sys
srv, timef, sinkf, ksoft, n = sys.argv[1:6]
n = int(n)
def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
s, k = load(srv), load(sinkf)
streams = s.get("streams", [])
sent = sum(x.get("datagrams_sent", 0) for x in streams)
try:
    with open(timef) as f:
        u, sy = [l.split() for l in f if l.strip()][-1][:2]
    cpu = float(u) + float(sy)
except (OSError, ValueError, IndexError):
    cpu = float("nan")
window = k.get("exit_s", float("nan"))
th = [t for t in k.get("threads", []) if t["comm"].startswith("mediastream-sh")]
tc = [t["cpu_s"] for t in k.get("thread_cpu_s", []) if t["comm"].startswith("mediastream-sh")]
out = {
    "streams": len(streams),
    "sending": sum(1 for x in streams if x.get("frames_sent", 0) > 0),
    "completed": sum(1 for x in streams if x.get("status") == "completed"),
    "interrupted": s.get("interrupted", True),
    "dgrams": sent,
    "window": window,
    "rate": sent / window if window == window and window > 0 else float("nan"),
    "steady": k["sampled_dgrams"] / k["sampled_s"] if k.get("sampled_s") else float("nan"),
    "cpu": cpu,
    "ksoft": float(ksoft),
    "longest": max((x.get("duration_secs", 0) for x in streams), default=float("nan")),
    "shortest": min((x.get("duration_secs", 0) for x in streams), default=float("nan")),
    "threads": "/".join("%.0f" % t["cpu_pct"] for t in th) or "-",
    "threads_min": min((t["cpu_pct"] for t in th), default=float("nan")),
    "thread_secs": "/".join("%.1f" % t for t in tc) or "-",
    "thread_balance": min(tc) / max(tc) if tc and max(tc) > 0 else float("nan"),
    "busy": k.get("machine_busy_pct", float("nan")),
    "sink_cpu": k.get("sink_cpu_s", float("nan")),
    "sink_data": k.get("sockets_with_data", 0),
    "kernel_drops": k.get("kernel_drops", 0),
    "exited": k.get("server_exited", False),
}
for key, v in out.items():
    print("%s=%s" % (key, v))
PY

KSOFT_PIDS=$(grep -l '^ksoftirqd/' /proc/[0-9]*/comm 2>/dev/null | cut -d/ -f3 | tr '\n' ' ' || true)
ksoft_ticks() {
    local p t=0 v
    for p in $KSOFT_PIDS; do
        v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)
        t=$((t + v))
    done
    echo "$t"
}
udp_bound() { # PORT: how many sockets are bound to 127.0.0.1:PORT
    awk -v h="$(printf '0100007F:%04X' "$1")" '$2 == h { n++ } END { print n + 0 }' /proc/net/udp
}
free_port() { # first port from $1 on with nothing bound to it (at most 200 tried)
    local p=$1
    while [ "$p" -lt $(( $1 + 200 )) ]; do
        if ! awk -v h="$(printf ':%04X' "$p")" 'FNR > 1 && substr($2, length($2) - 4) == h { f = 1 } END { exit !f }' \
            /proc/net/udp /proc/net/udp6 /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
            echo "$p"; return
        fi
        p=$((p + 1))
    done
    echo "$1"
}

if part 2; then
LIFETIME=$((SHARD_SECS * 12 + 20))   # the sink's limit; a flat-out server sends late, not forever
CLK_TCK=$(getconf CLK_TCK)
echo "== 2. shard scaling: the server sends $SHARD_STREAMS plain streams at $SHARD_RATE, 60 frames/s, $SHARD_SECS s, to a sink that never reads"
if command -v taskset >/dev/null 2>&1; then
    echo "pinning: taskset is at $(command -v taskset); PIN=1 pins shard thread i to core i (now PIN=$PIN)"
else
    echo "pinning: taskset not installed (util-linux); shard threads run where the scheduler puts them"
fi
: > "$TMP/rows.txt"
port=4820
for shards in $SHARD_COUNTS; do
    port=$(free_port $((port + 1)))
    k0=$(ksoft_ticks)
    timeout -k 3 $((LIFETIME + 30)) /usr/bin/time -o "$TMP/shard$shards.time" -f '%U %S %e' \
        "$BIN" server --listen "127.0.0.1:$port" --shards "$shards" --bits-per-second "$SHARD_RATE" \
        --frame-rate 60 --stream-length "$SHARD_SECS" --max-streams 10000 --source-streams 10000 \
        --source-rate 100000 --max-total-rate 1000G --status-interval 0 \
        --server-exit-limit "$SHARD_STREAMS" --json "$TMP/shard$shards.json" \
        > "$TMP/shard$shards.log" 2>&1 &
    tpid=$!
    PIDS+=("$tpid")
    for ((i = 0; i < 50; i++)); do [ "$(udp_bound "$port")" -ge "$shards" ] && break; sleep 0.1; done
    srv=""   # timeout -> time -> mediastream
    for ((i = 0; i < 20; i++)); do
        tp=$(pgrep -P "$tpid" | head -1 || true)
        [ -n "$tp" ] && srv=$(pgrep -P "$tp" | head -1 || true)
        [ -n "$srv" ] && break
        sleep 0.1
    done
    if [ -z "$srv" ]; then
        echo "$shards shard(s): the server did not start (log: $(head -c 300 "$TMP/shard$shards.log"))"
        kill "$tpid" 2>/dev/null || true
        continue
    fi
    if [ "$PIN" = 1 ] && command -v taskset >/dev/null 2>&1; then
        core=0
        while read -r t; do
            taskset -pc $((core % $(nproc))) "$t" > /dev/null 2>&1 || echo "  (taskset -pc $core $t failed)"
            core=$((core + 1))
        done < <(grep -l '^mediastream-sh' /proc/"$srv"/task/*/comm 2>/dev/null | cut -d/ -f5 | sort -n)
    fi
    timeout $((LIFETIME + 10)) python3 "$TMP/sink.py" "$port" "$SHARD_STREAMS" "$SHARD_SECS" "$LIFETIME" "$srv" \
        "$TMP/sink$shards.json" || echo "  (sink exited with status $?)"
    if kill -0 "$srv" 2>/dev/null; then
        echo "  (the server still runs after ${LIFETIME}s: interrupting it; its JSON has what was sent)"
        kill -INT "$srv" 2>/dev/null || true
    fi
    wait "$tpid" 2>/dev/null || true
    ksoft=$(awk -v a="$k0" -v b="$(ksoft_ticks)" -v t="$CLK_TCK" 'BEGIN { print (b - a) / t }')
    python3 "$TMP/row.py" "$TMP/shard$shards.json" "$TMP/shard$shards.time" "$TMP/sink$shards.json" \
        "$ksoft" "$SHARD_STREAMS" | sed "s/^/$shards./" >> "$TMP/rows.txt"
done

python3 - "$TMP/rows.txt" "$SHARD_STREAMS" "${QUICK:-0}" "$SHARD_COUNTS" "$SHARD_SECS" "$(nproc)" <<'PY'
import sys
rows_file, n, quick, counts, secs, ncpu = sys.argv[1:7]
n, quick, counts, secs = int(n), quick == "1", counts.split(), float(secs)
R = dict(line.rstrip("\n").split("=", 1) for line in open(rows_file) if "=" in line)
def g(s, k, d=float("nan")):
    v = R.get("%s.%s" % (s, k))
    if v is None:
        return d
    try:
        return float(v)
    except ValueError:
        return v
def f(v, nd=2):
    if isinstance(v, str):
        return v
    if v != v:
        return "-"
    return "{:,.0f}".format(v) if abs(v) >= 1e4 else "{:.{}f}".format(v, nd)
head = ("shards", "sending", "datagrams sent", "first START to exit, s", "datagrams/s",
        "steady datagrams/s", "server CPU s", "CPU % of a core", "ksoftirqd s", "shard threads % of a core",
        "shard threads CPU s")
rows = [head]
for s in counts:
    if g(s, "streams") != g(s, "streams"):
        rows.append((s, "no result") + ("-",) * (len(head) - 2))
        continue
    w = g(s, "window")
    rows.append((s, "%d/%d" % (g(s, "sending"), n), f(g(s, "dgrams")), f(w), f(g(s, "rate")), f(g(s, "steady")),
                 f(g(s, "cpu")), f(100 * g(s, "cpu") / w if w == w and w > 0 else float("nan"), 0),
                 f(g(s, "ksoft")), str(g(s, "threads")), str(g(s, "thread_secs"))))
wd = [max(len(r[i]) for r in rows) for i in range(len(head))]
for i, r in enumerate(rows):
    print("  ".join(c.rjust(wd[j]) for j, c in enumerate(r)))
    if i == 0:
        print("  ".join("-" * x for x in wd))
for s in counts:
    if g(s, "streams") != g(s, "streams"):
        continue
    notes = []
    if g(s, "sending") < n or g(s, "streams") < n:
        notes.append("only %d of %d streams sent (server JSON has %d streams)" % (g(s, "sending"), n, g(s, "streams")))
    if g(s, "sink_data") < n:
        notes.append("only %d of %d sink sockets got data" % (g(s, "sink_data"), n))
    if g(s, "completed") < g(s, "streams"):
        notes.append("%d streams not completed" % (g(s, "streams") - g(s, "completed")))
    if g(s, "exited") != "True":
        notes.append("the server did not exit by itself")
    print("  %s shard(s): %d streams, %d sending, %d completed; durations in the server JSON %s-%s s (asked %s s); "
          "sink sockets with data %d/%d, kernel drops there %s (= datagrams that arrived); sink CPU %s s; "
          "machine %s%% busy (all cores) while every stream ran%s"
          % (s, g(s, "streams"), g(s, "sending"), g(s, "completed"), f(g(s, "shortest"), 1), f(g(s, "longest"), 1),
             f(secs, 0), g(s, "sink_data"), n, f(g(s, "kernel_drops")), f(g(s, "sink_cpu")), f(g(s, "busy"), 0),
             ("; " + "; ".join(notes)) if notes else ""))
if "1" in counts and "2" in counts:
    r = g("2", "rate") / g("1", "rate") if g("1", "rate") > 0 else float("nan")
    st = g("2", "steady") / g("1", "steady") if g("1", "steady") > 0 else float("nan")
    print("2 shards / 1 shard: %sx datagrams/s over the run, %sx steady (goal: at least 1.6x)%s"
          % (f(r), f(st), " [smoke run: not judged]" if quick else ""))
    bal = g("2", "thread_balance")
    if bal == bal and bal < 0.8:
        print("note: the 2 shards did unequal work (CPU s %s over the run): the kernel's SO_REUSEPORT hash gave "
              "them unequal shares of the streams, so one shard sent alone at the end; \"steady\" is the rate "
              "while every stream ran" % g("2", "thread_secs"))
    busy = g("2", "threads_min")
    if busy == busy and busy < 80:
        print("note: the 2 shards were not both busy: shard threads at %s%% of a core while every stream ran "
              "(the machine was %s%% busy over its %s cores: other work shares them)"
              % (g("2", "threads"), f(g("2", "busy"), 0), ncpu))
for s in counts:
    if g(s, "window") == g(s, "window") and g(s, "window") < secs * 1.1:
        print("note: %s shard(s) kept up with the offered load (done on time), so did not run flat out: "
              "raise SHARD_STREAMS or SHARD_RATE" % s)
PY
fi

# ---------------------------------------------------------------- 3. start

if part 3; then
echo "== 3. server start: exec to \"listening on\", median of $START_RUNS runs"
python3 - "$BIN" "$START_RUNS" <<'PY'
import subprocess, sys, time, statistics
binary, runs = sys.argv[1], int(sys.argv[2])
def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
port = 4870
for streams in (1_000_000, 1024):
    times, kib = [], []
    for i in range(runs):
        port += 1
        t0 = time.monotonic()
        p = subprocess.Popen(["timeout", "20", binary, "server", "--listen", "127.0.0.1:%d" % port,
                              "--max-streams", str(streams), "--status-interval", "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = p.stdout.readline()
        t1 = time.monotonic()
        try:
            child = int(open("/proc/%d/task/%d/children" % (p.pid, p.pid)).read().split()[0])
            kib.append(rss(child))
        except (OSError, IndexError, StopIteration):
            pass
        p.terminate()
        p.communicate(timeout=10)
        if "listening on" not in line:
            print("  --max-streams %d: the server did not start: %r" % (streams, line))
            break
        times.append((t1 - t0) * 1e3)
    if times:
        print("  --max-streams %9d: %.1f ms to listening (median; runs %s), RSS %s KiB"
              % (streams, statistics.median(times), " ".join("%.1f" % t for t in times),
                 statistics.median(kib) if kib else "-"))
PY
fi

# ---------------------------------------------------------------- 4. mixed

if part 4; then
half=$((MIXED / 2))
echo "== 4. $MIXED streams, $half each way, 100 kbit/s, 50 frames/s"
if [ "${NO_BUILD:-0}" != 1 ]; then cargo build --release -q --example stream_memory; fi
target/release/examples/stream_memory 100000 50 "$MIXED_SECS" | sed 's/^/  /'
port=$(free_port 4890)
timeout $((MIXED_SECS * 4 + 120)) "$BIN" server --listen "127.0.0.1:$port" --max-streams $((half + 16)) \
    --source-streams $((MIXED + 32)) --source-rate 100000 --max-total-rate 1000G --status-interval 0 \
    > "$TMP/mixed-server.log" 2>&1 &
tpid=$!
PIDS+=("$tpid")
sleep 0.5
srv=$(pgrep -P "$tpid" | head -1)
idle=$(kib "$srv" VmRSS)
# First half: the server sends, the clients receive.
join_secs=$((MIXED_SECS / 4 + 2))
timeout $((MIXED_SECS * 3 + 60)) "$BIN" client --target "127.0.0.1:$port" --connections "$half" \
    --direction recv --bits-per-second 100k --frame-rate 50 --stream-length "$MIXED_SECS" \
    --no-timeline --status-interval 0 --json "$TMP/mixed-recv.json" > "$TMP/mixed-recv.log" 2>&1 &
PIDS+=($!)
sleep "$join_secs"
sending=$(kib "$srv" VmRSS)
# Second half: the clients send, the server receives; both halves run
# together from here on.
timeout $((MIXED_SECS * 3 + 60)) "$BIN" client --target "127.0.0.1:$port" --connections "$half" \
    --direction send --bits-per-second 100k --frame-rate 50 --stream-length $((MIXED_SECS - join_secs)) \
    --no-timeline --status-interval 0 --json "$TMP/mixed-send.json" > "$TMP/mixed-send.log" 2>&1 &
PIDS+=($!)
sleep $(( (MIXED_SECS - join_secs) / 2 ))
both=$(kib "$srv" VmRSS)
deadline=$((SECONDS + MIXED_SECS * 3 + 90))
while { [ ! -s "$TMP/mixed-send.json" ] || [ ! -s "$TMP/mixed-recv.json" ]; } && [ $SECONDS -lt $deadline ]; do
    sleep 0.5
done
kill -INT "$srv" 2>/dev/null || true
wait "$tpid" 2>/dev/null || true
python3 - "$TMP" "$half" "$idle" "$sending" "$both" <<'PY'
import json, sys
tmp, half, idle, sending, both = sys.argv[1], *map(int, sys.argv[2:])
def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
for name, what in (("send", "clients send, the server receives"), ("recv", "the server sends, clients receive")):
    j = load("%s/mixed-%s.json" % (tmp, name))
    t, streams = j.get("totals", {}), j.get("streams", [])
    done, dropped = t.get("frames_completed", 0), t.get("frames_dropped", 0)
    frames = sum(s.get("settings", {}).get("stream_frames", 0) for s in streams) or (done + dropped)
    ok = sum(1 for s in streams if s.get("status") == "completed")
    print("  %s: %d streams, %d completed; frames completed %d of %d (%.3f%%), dropped %d"
          % (what, len(streams), ok, done, frames, 100.0 * done / frames if frames else 0, dropped))
print("  server RSS: idle %d KiB; %d sending streams %d KiB: %d bytes per sending stream; "
      "then %d receiving streams too %d KiB: %d bytes per receiving stream"
      % (idle, half, sending, (sending - idle) * 1024 // half, half, both, (both - sending) * 1024 // half))
PY
fi

# ---------------------------------------------------------------- 5. after

if part 5; then
echo "== 5. memory after streams end: $BATCHES batches of $BATCH streams the server receives, 3 s each"
for json in no yes; do
    port=$(free_port $((4900 + RANDOM % 50)))
    args=()
    [ "$json" = yes ] && args=(--json "$TMP/after.json")
    timeout $((BATCHES * 60 + 60)) "$BIN" server --listen "127.0.0.1:$port" --max-streams $((BATCH + 16)) \
        --source-streams $((BATCH + 32)) --source-rate 100000 --status-interval 0 "${args[@]}" \
        > "$TMP/after-server.log" 2>&1 &
    tpid=$!
    PIDS+=("$tpid")
    sleep 0.5
    srv=$(pgrep -P "$tpid" | head -1)
    line="  --json $json: idle $(kib "$srv" VmRSS) KiB"
    for ((b = 1; b <= BATCHES; b++)); do
        timeout 60 "$BIN" client --target "127.0.0.1:$port" --connections "$BATCH" --direction send \
            --bits-per-second 100k --frame-rate 50 --stream-length 3 --status-interval 0 > /dev/null 2>&1 || true
        sleep 1
        line+=", after batch $b $(kib "$srv" VmRSS) KiB"
    done
    kill -INT "$srv" 2>/dev/null || true
    wait "$tpid" 2>/dev/null || true
    echo "$line"
done
fi
