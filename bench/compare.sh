#!/usr/bin/env bash
# bench/compare.sh: mediastream against iperf3 and iperf2 on loopback, back to back.
#
#   bash bench/compare.sh                   # full run (about 5-8 minutes), writes docs/performance.md
#   QUICK=1 bash bench/compare.sh           # smoke run (about a minute), prints only
#
# What it measures, all on 127.0.0.1 with 1400-byte UDP payloads and 4 MiB
# socket buffers asked for on every socket (the kernel doubles and caps them):
#   1. the highest single-stream rate with under 0.1% loss (stepped rates,
#      then a bounded bisection); ours counts lost *frames* (60 frames/s),
#      iperf3 and iperf2 count lost datagrams;
#   2. CPU seconds (user+system) per million datagrams at 1 Gbit/s, for the
#      sending and the receiving process of each tool;
#   3. pacing at 60 frames/s, 100 Mbit/s: our frame send lateness (with the
#      default timer, and again with the sender given --spin-us SPIN_US), the
#      sender's CPU in each case, iperf2's isochronous frame latency, plus a
#      common measure both allow: when each frame was complete at the
#      receiver relative to a 60 Hz grid; and, against a reference pacer in
#      C on an absolute timerfd (bench/pacer_ref.c, built with gcc), the
#      error of each frame's start interval as a receiver with kernel
#      receive timestamps sees it (bench/pace_recv.py), REF_PAIRS pairs of
#      runs back to back.
#
# Environment overrides (defaults in brackets; QUICK=1 changes the defaults):
#   SECS [3; quick 2]        seconds per rate step
#   CPU_SECS [10; quick 2]   seconds of the 1 Gbit/s CPU runs
#   PACE_SECS [10; quick 2]  seconds of the 60 frames/s pacing runs
#   RATES [500M 1G 1.5G 2G 2.5G 3G 4G 5G 6G 8G 10G 12G 16G 20G; quick 1G 2G 4G]
#   SPREAD_RATES [RATES; quick 2G 4G]  the rates ours_spread steps through
#   REFINE [3; quick 0]      bisection steps between the last clean and first unclean rate
#   STOP_AFTER [2; quick 1]  stop stepping after this many unclean steps in a row
#   LOSS_MAX [0.1]           loss limit, percent
#   SOCKBUF [4194304]        socket buffer to ask for, bytes
#   PORT_BASE [47000]        first port tried (127.0.0.1 only)
#   TOOLS [ours ours_spread ours_hifps ours_max iperf3 iperf2; quick ours ours_spread ours_max iperf3 iperf2]
#                            ours_spread: our max-rate steps again, 60 frames/s, with the
#                            server given --frame-spread SPREAD (each frame's datagrams
#                            leave in 1 ms sub-bursts over SPREAD instead of one burst);
#                            ours_hifps: our max-rate steps again at HIFPS frames/s
#                            (smaller bursts), for contrast; ours_max: our highest rate with the
#                            settings that reach it (MAX_FPS frames/s, MAX_SOCKBUF socket
#                            buffers, MAX_SPREAD), stepping through MAX_RATES; none of the
#                            three is in the CPU and pacing runs
#   SPREAD [15ms]            --frame-spread of ours_spread
#   HIFPS [1000]
#   MAX_RATES [8G 16G 20G 24G 28G 30G 32G 36G 40G; quick 8G]  the rates ours_max steps through
#   MAX_FPS [1000]           frame rate of ours_max
#   MAX_SOCKBUF [268435456]  socket buffer both ends of ours_max ask for (the kernel doubles it)
#   MAX_SPREAD [0]           --frame-spread of ours_max's server (0: each frame one burst)
#   MAX_TRIES [2; quick 1]   tries of each ours_max step: a step counts as clean when one is
#   SPIN_US [500]            --spin-us of the second pacing run of ours (0: no such run)
#   REF_PAIRS [5; quick 1]   pairs of runs (C reference pacer, ours) timed with kernel
#                            receive timestamps, PACE_SECS each (0: none; needs gcc)
#   NO_BUILD [0]             1: skip cargo build, use the existing target/release/mediastream
#   CARGO_JOBS []            passed to cargo build as -j
#   WRITE_DOC [1; quick 0]   write DOC [docs/performance.md]; hand-written sections in it
#                            (from its first "## " heading other than "## Results" to
#                            the end) are kept, after the generated part
#   KEEP [0]                 1: keep the scratch directory with every raw output
#   QUIET_BUSY [15] QUIET_WAIT [180; quick 0]: before each phase, wait up to
#                            QUIET_WAIT s for the machine to be at most QUIET_BUSY% busy
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

ORIG_ENV=()
for v in QUICK SECS CPU_SECS PACE_SECS REF_PAIRS RATES SPREAD_RATES MAX_RATES MAX_FPS MAX_SOCKBUF MAX_SPREAD MAX_TRIES REFINE STOP_AFTER LOSS_MAX SOCKBUF PORT_BASE TOOLS SPREAD HIFPS SPIN_US NO_BUILD CARGO_JOBS WRITE_DOC DOC KEEP QUIET_BUSY QUIET_WAIT; do
    if [[ -n "${!v+x}" ]]; then ORIG_ENV+=("$v=$(printf '%q' "${!v}")"); fi
done
CMDLINE="${ORIG_ENV[*]+${ORIG_ENV[*]} }bash bench/compare.sh${*:+ $*}"

QUICK=${QUICK:-0}
if [[ "$QUICK" == 1 ]]; then
    SECS=${SECS:-2}; CPU_SECS=${CPU_SECS:-2}; PACE_SECS=${PACE_SECS:-2}; REF_PAIRS=${REF_PAIRS:-1}
    RATES=${RATES:-"1G 2G 4G"}; REFINE=${REFINE:-0}; STOP_AFTER=${STOP_AFTER:-1}
    SPREAD_RATES=${SPREAD_RATES:-"2G 4G"}
    MAX_RATES=${MAX_RATES:-"8G"}; MAX_TRIES=${MAX_TRIES:-1}
    WRITE_DOC=${WRITE_DOC:-0}
else
    SECS=${SECS:-3}; CPU_SECS=${CPU_SECS:-10}; PACE_SECS=${PACE_SECS:-10}; REF_PAIRS=${REF_PAIRS:-5}
    RATES=${RATES:-"500M 1G 1.5G 2G 2.5G 3G 4G 5G 6G 8G 10G 12G 16G 20G"}; REFINE=${REFINE:-3}; STOP_AFTER=${STOP_AFTER:-2}
    SPREAD_RATES=${SPREAD_RATES:-$RATES}
    MAX_RATES=${MAX_RATES:-"8G 16G 20G 24G 28G 30G 32G 36G 40G"}; MAX_TRIES=${MAX_TRIES:-2}
    WRITE_DOC=${WRITE_DOC:-1}
fi
LOSS_MAX=${LOSS_MAX:-0.1}
SOCKBUF=${SOCKBUF:-4194304}
PORT_BASE=${PORT_BASE:-47000}
if [[ "$QUICK" == 1 ]]; then TOOLS=${TOOLS:-"ours ours_spread ours_max iperf3 iperf2"}; else TOOLS=${TOOLS:-"ours ours_spread ours_hifps ours_max iperf3 iperf2"}; fi
SPREAD=${SPREAD:-15ms}
HIFPS=${HIFPS:-1000}
MAX_FPS=${MAX_FPS:-1000}
MAX_SOCKBUF=${MAX_SOCKBUF:-268435456}
MAX_SPREAD=${MAX_SPREAD:-0}
SPIN_US=${SPIN_US:-500}
NO_BUILD=${NO_BUILD:-0}
CARGO_JOBS=${CARGO_JOBS:-}
DOC=${DOC:-docs/performance.md}
KEEP=${KEEP:-0}
QUIET_BUSY=${QUIET_BUSY:-15}
if [[ "$QUICK" == 1 ]]; then QUIET_WAIT=${QUIET_WAIT:-0}; else QUIET_WAIT=${QUIET_WAIT:-180}; fi
DGRAM=1400            # UDP payload bytes, every tool
FPS=60                # frame rate of our streams and of iperf2's isochronous mode
OURS_FPS=$FPS         # what ours_run uses
OURS_SRV_ARGS=()      # extra server options of ours_run (--frame-spread, --spin-us)
OURS_SOCKBUF=$SOCKBUF # what ours_run asks for on both ends
CPU_RATE=1000000000   # bit/s of the CPU runs
PACE_RATE=100000000   # bit/s of the pacing runs
HOST=127.0.0.1        # loopback only, never anything else
START_TS=$(date +%s)

log() { printf '[%4ds] %s\n' "$(( $(date +%s) - START_TS ))" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- processes

WORK=$(mktemp -d "${TMPDIR:-/tmp}/compare.XXXXXX")
BG_PIDS=()
cleanup() {
    local p
    for p in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do
        # each is a `timeout`, which passes the signal on to its process group
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do wait "$p" 2>/dev/null || true; done
    if [[ "$KEEP" == 1 ]]; then log "raw outputs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_bg NAME LIMIT CMD...: run CMD in the background under timeout and
# /usr/bin/time (CPU to $WORK/NAME.time, output to $WORK/NAME.out); sets BG.
start_bg() {
    local name=$1 limit=$2; shift 2
    timeout -k 3 "$limit" /usr/bin/time -o "$WORK/$name.time" -f '%U %S' "$@" \
        </dev/null >"$WORK/$name.out" 2>&1 &
    BG=$!
    BG_PIDS+=("$BG")
}
# run_fg NAME LIMIT CMD...: the same in the foreground; never fails the script.
run_fg() {
    local name=$1 limit=$2; shift 2
    timeout -k 3 "$limit" /usr/bin/time -o "$WORK/$name.time" -f '%U %S' "$@" \
        </dev/null >"$WORK/$name.out" 2>&1 || log "  ($name exited with status $?)"
}
# stop_bg PID MAXSECS: wait (bounded) for a background process, then end it.
stop_bg() {
    local pid=$1 max=$2 i=0
    while kill -0 "$pid" 2>/dev/null && (( i < max * 10 )); do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$pid" 2>/dev/null; then
        log "  (pid $pid still running after ${max}s: stopping it)"
        kill -TERM "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# the kernel's UDP receive-buffer overflow counter (all sockets; counts skbs,
# and with GRO one skb can hold many datagrams)
rcvbuf_errors() {
    awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 } else { print (c ? $c : 0); exit } }' /proc/net/snmp
}
# busy jiffies of the whole machine (user nice system irq softirq steal)
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
# wait_quiet: wait (at most QUIET_WAIT s) until the machine is idle enough
# (tick-sampled, so it sees steady work such as a compiler, not short bursts)
# (at most QUIET_BUSY percent of all cores busy over 1 s); records what it saw.
wait_quiet() {
    local waited=0 a b busy
    while :; do
        a=$(busy_ticks); sleep 1; b=$(busy_ticks)
        busy=$(awk -v a="$a" -v b="$b" -v t="$(getconf CLK_TCK)" -v n="$(nproc)" 'BEGIN { printf "%.0f", 100 * (b - a) / t / n }')
        if (( busy <= QUIET_BUSY )) || (( waited >= QUIET_WAIT )); then break; fi
        log "machine ${busy}% busy (other work); waiting for <= ${QUIET_BUSY}% ($waited/${QUIET_WAIT}s)"
        sleep 5; waited=$((waited + 6))
    done
    QUIET_SEEN="$QUIET_SEEN $1:${busy}%"
    log "$1: machine ${busy}% busy before starting"
}
QUIET_SEEN=""

# ports: a fresh one per server, never one that is in use
PORT=$PORT_BASE
port_in_use() {
    local hex
    hex=$(printf ':%04X' "$1")
    awk -v h="$hex" 'FNR > 1 && substr($2, length($2) - 4) == h { f = 1 } END { exit !f }' \
        /proc/net/tcp /proc/net/udp /proc/net/tcp6 /proc/net/udp6 2>/dev/null
}
next_port() {
    local tries=0
    PORT=$((PORT + 1))
    while port_in_use "$PORT"; do
        PORT=$((PORT + 1)); tries=$((tries + 1))
        (( tries < 500 )) || die "no free port above $PORT_BASE"
    done
}
# wait_listen PORT tcp|udp: until something is bound to 127.0.0.1:PORT (at most 5 s)
wait_listen() {
    local hex i
    hex=$(printf '0100007F:%04X' "$1")
    for (( i = 0; i < 50; i++ )); do
        if [[ "$2" == tcp ]]; then
            awk -v h="$hex" '$2 == h && $4 == "0A" { f = 1 } END { exit !f }' /proc/net/tcp && return 0
        else
            awk -v h="$hex" '$2 == h { f = 1 } END { exit !f }' /proc/net/udp && return 0
        fi
        sleep 0.1
    done
    log "  (nothing listening on $HOST:$1/$2 after 5 s)"
}

# ---------------------------------------------------------------- setup

need=()
command -v iperf3 >/dev/null 2>&1 || need+=(iperf3)
command -v iperf >/dev/null 2>&1 || need+=(iperf)
[[ -x /usr/bin/time ]] || need+=(time)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if (( ${#need[@]} )); then
    SUDO=()
    if [[ $(id -u) != 0 ]]; then SUDO=(sudo); fi
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! timeout 900 "${SUDO[@]+"${SUDO[@]}"}" apt-get install -y "${need[@]}"; then
        timeout 900 "${SUDO[@]+"${SUDO[@]}"}" apt-get update
        timeout 900 "${SUDO[@]+"${SUDO[@]}"}" apt-get install -y "${need[@]}"
    fi
fi

BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/mediastream"
if [[ "$NO_BUILD" != 1 ]]; then
    log "cargo build --release -p mediastream-cli"
    timeout 1800 cargo build --release -p mediastream-cli ${CARGO_JOBS:+-j "$CARGO_JOBS"} >&2
fi
[[ -x "$BIN" ]] || die "$BIN missing (build it, or unset NO_BUILD)"

# Parsing and the report are in Python (json, percentiles, the table).
PY="$WORK/bench.py"
cat >"$PY" <<'PYEOF'
import json, math, os, re, sys

def num(x, default=float("nan")):
    try:
        return float(x)
    except (TypeError, ValueError):
        return default

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

def cpu(path):
    """user+system seconds from a /usr/bin/time -f '%U %S' file (last line)."""
    try:
        lines = [l.split() for l in open(path) if l.strip()]
        u, s = lines[-1][:2]
        return float(u) + float(s)
    except (OSError, ValueError, IndexError):
        return float("nan")

def rate(s):
    """500M, 1.5G, 2000000 -> bit/s (decimal units)."""
    m = re.fullmatch(r"([0-9.]+)([kKmMgG]?)", s.strip())
    if not m:
        raise SystemExit("bad rate " + s)
    mult = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[m.group(2).lower()]
    return int(round(float(m.group(1)) * mult))

def step_ours(cjson, sjson):
    """achieved_bps frame_loss% datagram_loss% datagrams_received seconds"""
    c, s = load(cjson), load(sjson)
    if not c or not c.get("streams"):
        return [0, 100, 100, 0, 0]
    st, t = c["streams"][0], c["totals"]
    frames = t["frames_completed"] + t["frames_dropped"] + t["frames_repeated"]
    floss = 100.0 * t["frames_dropped"] / frames if frames else 100.0
    sent = None
    if s and s.get("totals"):
        sent = s["totals"].get("datagrams_sent")
    if not sent and st.get("peer") and st["peer"].get("end"):
        sent = st["peer"]["end"].get("datagrams_sent")
    recv = t["datagrams_received"]
    dloss = 100.0 * max(0, sent - recv) / sent if sent else 100.0
    secs = st["settings"]["stream_length_secs"]
    return [num(st.get("bits_per_second"), 0), floss, dloss, recv, secs]

def step_iperf3(path):
    """achieved_bps loss% datagrams_received seconds"""
    d = load(path)
    try:
        e = d["end"]
        recv = e["sum"]["packets"] - e["sum"]["lost_packets"]
        return [e["sum_received"]["bits_per_second"], e["sum"]["lost_percent"], recv, e["sum_received"]["seconds"], e["sum"]["packets"]]
    except (TypeError, KeyError):
        return [0, 100, 0, 0, 0]

REPORT_RE = re.compile(r"\]\s+([0-9.]+)-\s*([0-9.]+) sec .*?([0-9.]+) ms\s+(\d+)/\s*(\d+)\s+\(")

def step_iperf2(path, dgram):
    """from the client's 'Server Report': achieved_bps loss% datagrams_received seconds sent"""
    try:
        text = open(path, errors="replace").read()
    except OSError:
        return [0, 100, 0, 0, 0]
    if "Server Report" not in text:
        return [0, 100, 0, 0, 0]
    tail = text.split("Server Report", 1)[1]
    m = REPORT_RE.search(tail)
    if not m:
        return [0, 100, 0, 0, 0]
    t0, t1, _jit, lost, total = m.groups()
    secs = float(t1) - float(t0)
    lost, total = int(lost), int(total)
    recv = total - lost
    bps = recv * dgram * 8 / secs if secs > 0 else 0
    return [bps, 100.0 * lost / total if total else 100, recv, secs, total]

def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = max(0, min(len(sorted_vals) - 1, math.ceil(p / 100.0 * len(sorted_vals)) - 1))
    return sorted_vals[k]

def pace_ours(sjson, cjson, jitter_csv, fps, prefix="ours"):
    out = {}
    for k, v in pace_ours_keys(sjson, cjson, jitter_csv, fps).items():
        out[prefix + k[len("ours"):]] = v
    return out

def pace_ours_keys(sjson, cjson, jitter_csv, fps):
    s, c = load(sjson), load(cjson)
    out = {}
    try:
        lat = s["streams"][0]["lateness_us"]
        # p50/p99 are histogram bucket upper bounds over the steady state (frames
        # due 1 s after the start on) when the JSON has steady_max: never report
        # them above the exact max of the same frames
        top = lat.get("steady_max")
        if top is None:
            top = lat["max"]
        out["ours.late.max_ms"] = top / 1e3
        out["ours.late.allmax_ms"] = lat["max"] / 1e3
        out["ours.late.p50_ms"] = min(lat["p50"], top) / 1e3
        out["ours.late.p99_ms"] = min(lat["p99"], top) / 1e3
    except (TypeError, KeyError, IndexError):
        pass
    try:
        t = c["totals"]
        out["ours.pace.jitter_ms"] = c["streams"][0]["jitter_ms"]
        out["ours.pace.frames"] = t["frames_completed"] + t["frames_dropped"] + t["frames_repeated"]
        out["ours.pace.dropped"] = t["frames_dropped"]
    except (TypeError, KeyError, IndexError):
        pass
    # frame completion (arrival of its last datagram) against an ideal 60 Hz grid
    xs = []
    try:
        for line in open(jitter_csv):
            f = line.strip().split(",")
            if len(f) < 5 or not f[0].isdigit():
                continue
            seq, rqpc, rqpf = int(f[0]), int(f[3]), int(f[4])
            if rqpc == 0 or rqpf == 0:
                continue
            xs.append(rqpc / rqpf - (seq - 1) / fps)
    except OSError:
        pass
    if xs:
        lo = min(xs)
        sp = sorted((x - lo) * 1e3 for x in xs)
        mean = sum(sp) / len(sp)
        out["ours.grid.mean_ms"] = mean
        out["ours.grid.p99_ms"] = pct(sp, 99)
        out["ours.grid.max_ms"] = sp[-1]
        out["ours.grid.stdev_ms"] = math.sqrt(sum((v - mean) ** 2 for v in sp) / len(sp))
        out["ours.grid.frames"] = len(sp)
    return out

def pace_iperf2(server_out, client_out):
    out = {}
    try:
        srv = open(server_out, errors="replace").read()
    except OSError:
        srv = ""
    try:
        cli = open(client_out, errors="replace").read()
    except OSError:
        cli = ""
    # server summary: ... <jitter> ms lost/total (x%) lat avg/min/max/stdev ms <pps> pps  rx/lost  favg/fmin/fmax/fstdev ms
    summary = None
    for line in srv.splitlines():
        if "pps" in line and re.search(r"\]\s+0\.0+-", line) and "PDF" not in line:
            summary = line
    if summary:
        m = re.search(r"([0-9.]+) ms\s+(\d+)/\s*(\d+)", summary)
        if m:
            out["iperf2.pace.jitter_ms"] = float(m.group(1))
            out["iperf2.pace.lost"] = int(m.group(2))
            out["iperf2.pace.total"] = int(m.group(3))
        m = re.search(r"pps\s+(\d+)/(\d+)\s+([0-9.]+)/([0-9.]+)/([0-9.]+)/([0-9.]+) ms", summary)
        if m:
            out["iperf2.frames.rx"] = int(m.group(1))
            out["iperf2.frames.lost"] = int(m.group(2))
            for k, v in zip(("mean", "min", "max", "stdev"), m.groups()[2:]):
                out["iperf2.flat." + k + "_ms"] = float(v)
    # frame latency histogram: bins of w us, index k covers [(k-1)w, kw)
    for line in srv.splitlines():
        m = re.search(r"F8\(f\)-PDF: bin\(w=(\d+)us\):cnt\((\d+)\)=([0-9:,]+)", line)
        if m:
            w = int(m.group(1)) / 1e3
            bins = sorted((int(a), int(b)) for a, b in (kv.split(":") for kv in m.group(3).split(",")))
            total = sum(b for _, b in bins)
            for p in (50, 99):
                run = 0
                for k, b in bins:
                    run += b
                    if run >= p / 100.0 * total:
                        out["iperf2.flat.p%d_ms" % p] = k * w
                        break
    m = None
    for line in cli.splitlines():
        mm = re.search(r"pps\s+(\d+)/(\d+)/(\d+)", line)
        if mm and re.search(r"\]\s+0\.0+-", line):
            m = mm
    if m:
        out["iperf2.isoch.tx"], out["iperf2.isoch.miss"], out["iperf2.isoch.slip"] = map(int, m.groups())
    for p in ("p50", "p99"):
        if "iperf2.flat.%s_ms" % p in out and "iperf2.flat.max_ms" in out:
            out["iperf2.flat.%s_ms" % p] = min(out["iperf2.flat.%s_ms" % p], out["iperf2.flat.max_ms"])
    if "iperf2.flat.min_ms" in out:
        lo = out["iperf2.flat.min_ms"]
        out["iperf2.grid.mean_ms"] = out["iperf2.flat.mean_ms"] - lo
        out["iperf2.grid.max_ms"] = out["iperf2.flat.max_ms"] - lo
        out["iperf2.grid.stdev_ms"] = out["iperf2.flat.stdev_ms"]
        if "iperf2.flat.p99_ms" in out:
            out["iperf2.grid.p99_ms"] = max(0.0, out["iperf2.flat.p99_ms"] - lo)
    return out

def ref_pairs(kv):
    """[(pair, ours p50/p99/max, ref p50/p99/max)] from pace_recv.py's keys."""
    out = []
    for k in range(1, 1000):
        if "oursrx%d.ife.p99_ms" % k not in kv and "ref%d.ife.p99_ms" % k not in kv:
            break
        row = [k]
        for t in ("oursrx%d" % k, "ref%d" % k):
            row.append(tuple(num(kv.get("%s.ife.%s_ms" % (t, q))) for q in ("p50", "p99", "max")))
            row.append((num(kv.get(t + ".counted")), num(kv.get(t + ".misses")), num(kv.get(t + ".datagrams")),
                        num(kv.get(t + ".busy")), num(kv.get(t + ".ife.p90_ms"))))
        out.append(row)
    return out

def median(xs):
    xs = sorted(x for x in xs if not math.isnan(x))
    if not xs:
        return float("nan")
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2

def ref_table(kvpath):
    rows = ref_pairs(read_kv(kvpath))
    head = ("pair", "ours p50/p90/p99/max ms", "C pacer p50/p90/p99/max ms", "p99 ours/C", "intervals ours/C",
            "missed ours/C", "datagrams ours/C", "machine busy % ours/C")
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k, o, oc, r, rc in rows:
        q4 = lambda v, c: "/".join(fmt(x, 3) for x in (v[0], c[4], v[1], v[2]))
        out.append("| {} | {} | {} | {} | {:.0f}/{:.0f} | {:.0f}/{:.0f} | {:.0f}/{:.0f} | {:.0f}/{:.0f} |".format(
            k, q4(o, oc), q4(r, rc), ratio(o[1], r[1]),
            oc[0], rc[0], oc[1], rc[1], oc[2], rc[2], oc[3], rc[3]))
    print("\n".join(out))

def read_kv(path):
    kv = {}
    try:
        for line in open(path):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                kv[k] = v
    except OSError:
        pass
    return kv

def read_steps(path):
    rows = []
    try:
        for line in open(path):
            f = line.rstrip("\n").split("\t")
            if len(f) >= 8 and f[0] != "tool":
                rows.append(dict(tool=f[0], req=float(f[1]), ach=float(f[2]), loss=float(f[3]),
                                 dloss=num(f[4]), recv=float(f[5]), secs=float(f[6]), verdict=f[7],
                                 rcvbuf=f[8] if len(f) > 8 else ""))
    except OSError:
        pass
    return rows

def best(rows, tool, key="loss", limit=0.1):
    ok = [r for r in rows if r["tool"] == tool and r[key] < limit and r["ach"] > 0]
    return max(ok, key=lambda r: r["ach"]) if ok else None

def fmt(v, nd=2):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, str):
        return v
    if abs(v) >= 1e4:
        return "{:,.0f}".format(v)
    return "{:.{}f}".format(v, nd)

def ratio(a, b):
    a, b = num(a), num(b)
    if math.isnan(a) or math.isnan(b) or b == 0:
        return "-"
    return "{:.2f}".format(a / b)

def report(kvpath, stepspath, limit):
    kv = read_kv(kvpath)
    rows = read_steps(stepspath)
    g = lambda k: num(kv.get(k))
    table = []  # (label, ours, iperf3, iperf2, r3, r2)
    bo, b3, b2 = best(rows, "ours", "loss", limit), best(rows, "iperf3", "loss", limit), best(rows, "iperf2", "loss", limit)
    bod = best(rows, "ours", "dloss", limit)
    gb = lambda r: r["ach"] / 1e9 if r else float("nan")
    dps = lambda r: r["recv"] / r["secs"] if r and r["secs"] > 0 else float("nan")
    rq = lambda r: "{:g}G".format(r["req"] / 1e9) if r else "-"
    table.append(("max loss-free rate, Gbit/s", gb(bo), gb(b3), gb(b2), ratio(gb(bo), gb(b3)), ratio(gb(bo), gb(b2))))
    table.append(("  (requested rate of that step)", rq(bo), rq(b3), rq(b2), "", ""))
    table.append(("  ours, by datagram loss", gb(bod), "", "", ratio(gb(bod), gb(b3)), ratio(gb(bod), gb(b2))))
    if any(r["tool"] == "ours_spread" for r in rows):
        bs = best(rows, "ours_spread", "loss", limit)
        table.append(("  ours, --frame-spread %s (frame loss)" % os.environ.get("SPREAD", "?"), gb(bs), "", "", ratio(gb(bs), gb(b3)), ratio(gb(bs), gb(b2))))
    if any(r["tool"] == "ours_hifps" for r in rows):
        bh = best(rows, "ours_hifps", "loss", limit)
        table.append(("  ours at %s frames/s (frame loss)" % os.environ.get("HIFPS", "?"), gb(bh), "", "", ratio(gb(bh), gb(b3)), ratio(gb(bh), gb(b2))))
    if any(r["tool"] == "ours_max" for r in rows):
        bm = best(rows, "ours_max", "loss", limit)
        spread = os.environ.get("MAX_SPREAD", "0")
        tries = int(os.environ.get("MAX_TRIES", "1"))
        label = "  ours, best settings: %s fps, %d MiB bufs%s%s (frame loss)" % (
            os.environ.get("MAX_FPS", "?"), int(os.environ.get("MAX_SOCKBUF", "0")) >> 20,
            "" if spread in ("", "0") else ", spread " + spread,
            ", best of %d" % tries if tries > 1 else "")
        table.append((label, gb(bm), "", "", ratio(gb(bm), gb(b3)), ratio(gb(bm), gb(b2))))
    table.append(("datagrams/s at that rate", dps(bo), dps(b3), dps(b2), ratio(dps(bo), dps(b3)), ratio(dps(bo), dps(b2))))
    def cpu_row(t, side):
        if side == "ends+ksoftirqd":
            secs = g(t + ".cpu.sender.secs") + g(t + ".cpu.receiver.secs") + g(t + ".cpu.ksoftirqd.secs")
            n = g(t + ".cpu.receiver.dgrams")
        else:
            secs, n = g(t + ".cpu." + side + ".secs"), g(t + ".cpu." + side + ".dgrams")
        return secs / (n / 1e6) if n > 0 else float("nan")
    for side, label in (("sender", "CPU s per M datagrams @1 Gbit/s, sender"),
                        ("receiver", "CPU s per M datagrams @1 Gbit/s, receiver"),
                        ("ends+ksoftirqd", "  both ends + ksoftirqd")):
        o, i3, i2 = cpu_row("ours", side), cpu_row("iperf3", side), cpu_row("iperf2", side)
        table.append((label, o, i3, i2, ratio(o, i3), ratio(o, i2)))
    trip = lambda a, b, c, nd=2: "/".join(fmt(x, nd) for x in (a, b, c)) if not all(math.isnan(num(x)) for x in (a, b, c)) else "-"
    table.append(("pacing, 60 frames/s at 100 Mbit/s:", "", "", "", "", ""))
    spin = os.environ.get("SPIN_US", "0")
    pcpu = lambda t: 100.0 * g(t + ".pace.cpu_secs") / g(t + ".pace.secs") if g(t + ".pace.secs") > 0 else float("nan")
    table.append(("  send lateness p50/p99/max ms, default (no spin)",
                  trip(g("ours.late.p50_ms"), g("ours.late.p99_ms"), g("ours.late.max_ms"), 3), "-", "-", "", ""))
    if spin not in ("", "0"):
        table.append(("  send lateness p50/p99/max ms, --spin-us %s" % spin,
                      trip(g("ours_spin.late.p50_ms"), g("ours_spin.late.p99_ms"), g("ours_spin.late.max_ms"), 3), "-", "-", "", ""))
    table.append(("  send lateness max incl. first second, ms" + (" (default/spin)" if spin not in ("", "0") else ""),
                  "/".join(fmt(g(t + ".late.allmax_ms"), 3) for t in ("ours", "ours_spin"))
                  if spin not in ("", "0") else fmt(g("ours.late.allmax_ms"), 3), "-", "-", "", ""))
    table.append(("  sender CPU, % of one core" + (" (default/spin)" if spin not in ("", "0") else ""),
                  "/".join(fmt(pcpu(t), 1) for t in ("ours", "ours_spin")) if spin not in ("", "0") else fmt(pcpu("ours"), 1),
                  "-", "-", "", ""))
    table.append(("  iperf2 frame latency p50/p99/max ms", "-", "-",
                  trip(g("iperf2.flat.p50_ms"), g("iperf2.flat.p99_ms"), g("iperf2.flat.max_ms")), "", ""))
    iso = "-"
    if "iperf2.isoch.tx" in kv:
        iso = "{}/{}/{}".format(kv["iperf2.isoch.tx"], kv["iperf2.isoch.miss"], kv["iperf2.isoch.slip"])
    table.append(("  iperf2 frames sent/missed/slipped", "-", "-", iso, "", ""))
    table.append(("  frame done vs 60 Hz grid mean/p99/max ms",
                  trip(g("ours.grid.mean_ms"), g("ours.grid.p99_ms"), g("ours.grid.max_ms")), "-",
                  trip(g("iperf2.grid.mean_ms"), g("iperf2.grid.p99_ms"), g("iperf2.grid.max_ms")),
                  "", "p99 " + ratio(g("ours.grid.p99_ms"), g("iperf2.grid.p99_ms"))))
    pairs = ref_pairs(kv)
    if pairs:
        med = lambda i, j: median([p[i][j] for p in pairs])
        table.append(("  frame start interval error p50/p99/max ms, median of %d" % len(pairs),
                      trip(med(1, 0), med(1, 1), med(1, 2), 3), "-", "-", "", ""))
        table.append(("  the same, C timerfd pacer (bench/pacer_ref.c)",
                      trip(med(3, 0), med(3, 1), med(3, 2), 3), "-", "-", "", ""))
        table.append(("  p99 ours / C pacer: median of pairs (worst)",
                      "%s (%s)" % (fmt(median([num(ratio(p[1][1], p[3][1])) for p in pairs])),
                                   fmt(max((num(ratio(p[1][1], p[3][1])) for p in pairs), default=float("nan")))),
                      "-", "-", "", ""))
    table.append(("  RFC 3550 jitter at receiver, ms", g("ours.pace.jitter_ms"), g("iperf3.pace.jitter_ms"), g("iperf2.pace.jitter_ms"),
                  ratio(g("ours.pace.jitter_ms"), g("iperf3.pace.jitter_ms")), ratio(g("ours.pace.jitter_ms"), g("iperf2.pace.jitter_ms"))))
    head = ("metric", "mediastream", "iperf3", "iperf2", "ours/iperf3", "ours/iperf2")
    cells = [head] + [tuple(fmt(c, 3 if "jitter" in r[0] else 2) for c in r) for r in table]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    lines = []
    for n, r in enumerate(cells):
        lines.append("  ".join(r[i].ljust(widths[i]) if i == 0 else r[i].rjust(widths[i]) for i in range(len(r))).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    print("\n".join(lines))

def steps_table(stepspath):
    rows = read_steps(stepspath)
    head = ("tool", "requested Gbit/s", "received Gbit/s", "loss %", "datagram loss %", "kernel rcvbuf drops", "verdict")
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        out.append("| {} | {:g} | {:.3f} | {:.3f} | {} | {} | {} |".format(
            r["tool"], r["req"] / 1e9, r["ach"] / 1e9, r["loss"],
            "{:.3f}".format(r["dloss"]) if not math.isnan(r["dloss"]) else "", r["rcvbuf"], r["verdict"]))
    print("\n".join(out))

def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "rate":
        print(rate(args[0]))
    elif cmd == "total":
        d = load(args[0])
        print((d or {}).get("totals", {}).get(args[1]) or 0)
    elif cmd == "cpu-notes":
        kv = read_kv(args[0])
        g = lambda k: num(kv.get(k))
        parts = []
        for t in ("ours", "iperf3", "iperf2"):
            if t + ".cpu.sender.secs" in kv:
                counted = g(t + ".cpu.sender.secs") + g(t + ".cpu.receiver.secs") + g(t + ".cpu.ksoftirqd.secs")
                parts.append("%s sender %.2f s, receiver %.2f s, ksoftirqd %.2f s" % (t, g(t + ".cpu.sender.secs"), g(t + ".cpu.receiver.secs"), g(t + ".cpu.ksoftirqd.secs")))
        print("; ".join(parts) or "-")
    elif cmd == "cpu":
        print(cpu(args[0]))
    elif cmd == "step-ours":
        print(" ".join(str(x) for x in step_ours(*args)))
    elif cmd == "step-iperf3":
        print(" ".join(str(x) for x in step_iperf3(*args)))
    elif cmd == "step-iperf2":
        print(" ".join(str(x) for x in step_iperf2(args[0], int(args[1]))))
    elif cmd == "pace-ours":
        for k, v in pace_ours(args[0], args[1], args[2], int(args[3]), *args[4:5]).items():
            print("%s=%s" % (k, v))
    elif cmd == "pace-iperf2":
        for k, v in pace_iperf2(*args).items():
            print("%s=%s" % (k, v))
    elif cmd == "iperf3-jitter":
        d = load(args[0])
        try:
            print("iperf3.pace.jitter_ms=%s" % d["end"]["sum"]["jitter_ms"])
        except (TypeError, KeyError):
            pass
    elif cmd == "report":
        report(args[0], args[1], float(args[2]))
    elif cmd == "steps":
        steps_table(args[0])
    elif cmd == "ref-table":
        ref_table(args[0])
    else:
        raise SystemExit("unknown " + cmd)

main()
PYEOF
py() { HIFPS=$HIFPS SPREAD=$SPREAD SPIN_US=$SPIN_US MAX_FPS=$MAX_FPS MAX_SOCKBUF=$MAX_SOCKBUF MAX_SPREAD=$MAX_SPREAD MAX_TRIES=$MAX_TRIES timeout 120 python3 "$PY" "$@"; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

KV="$WORK/kv.txt"; : >"$KV"
STEPS="$WORK/steps.tsv"; printf 'tool\treq\tach\tloss\tdloss\trecv\tsecs\tverdict\trcvbuf_errors\n' >"$STEPS"
kv() { printf '%s=%s\n' "$1" "$2" >>"$KV"; }

has_tool() { [[ " $TOOLS " == *" $1 "* ]]; }

# ---------------------------------------------------------------- one run of each tool

N=0   # run counter, for file names

# ours_run RATE SECS [extra client args...]: server sends, client receives;
# the server also gets OURS_SRV_ARGS. Leaves $WORK/ours$N.{srv,cli}.{json,out,time}.
ours_run() {
    local r=$1 secs=$2; shift 2
    N=$((N + 1)); next_port
    local s="ours$N.srv" c="ours$N.cli"
    start_bg "$s" $((secs + 30)) "$BIN" server --listen "$HOST:$PORT" --status-interval 0 \
        --server-exit-limit 1 --socket-buffer "$OURS_SOCKBUF" --json "$WORK/$s.json" \
        --max-rate 100G --max-total-rate 100G \
        ${OURS_SRV_ARGS[@]+"${OURS_SRV_ARGS[@]}"}
    local spid=$BG
    wait_listen "$PORT" udp
    run_fg "$c" $((secs + 20)) "$BIN" client --target "$HOST:$PORT" --bits-per-second "$r" \
        --frame-rate "$OURS_FPS" --stream-length "$secs" --datagram-size "$DGRAM" --buffer-depth 1 \
        --socket-buffer "$OURS_SOCKBUF" --status-interval 0 --json "$WORK/$c.json" "$@"
    stop_bg "$spid" 10
}

# iperf3_run RATE SECS: client sends, server receives. Leaves $WORK/i3_$N.{srv,cli}.*
iperf3_run() {
    local r=$1 secs=$2
    N=$((N + 1)); next_port
    local s="i3_$N.srv" c="i3_$N.cli"
    start_bg "$s" $((secs + 30)) iperf3 -s -1 -B "$HOST" -p "$PORT"
    local spid=$BG
    wait_listen "$PORT" tcp
    run_fg "$c" $((secs + 20)) iperf3 -c "$HOST" -p "$PORT" -u -l "$DGRAM" -b "$r" -w "$SOCKBUF" \
        -t "$secs" --json
    stop_bg "$spid" 10
}

# iperf2_run RATE SECS [extra client args] -- [extra server args]: client sends.
iperf2_run() {
    local r=$1 secs=$2; shift 2
    local cargs=() sargs=()
    while (( $# )) && [[ "$1" != -- ]]; do cargs+=("$1"); shift; done
    (( $# )) && shift
    sargs=("$@")
    N=$((N + 1)); next_port
    local s="i2_$N.srv" c="i2_$N.cli"
    # server -t: receive for at most secs+2 s, then exit (it starts counting at the client's first datagram)
    start_bg "$s" $((secs + 30)) iperf -s -u -B "$HOST" -p "$PORT" -l "$DGRAM" -w "$SOCKBUF" \
        -t $((secs + 2)) ${sargs[@]+"${sargs[@]}"}
    local spid=$BG
    wait_listen "$PORT" udp
    if [[ -n "$r" ]]; then cargs=(-b "$r" ${cargs[@]+"${cargs[@]}"}); fi
    run_fg "$c" $((secs + 20)) iperf -c "$HOST" -p "$PORT" -u -l "$DGRAM" -w "$SOCKBUF" -t "$secs" \
        ${cargs[@]+"${cargs[@]}"}
    stop_bg "$spid" $((secs + 10))
}

# ---------------------------------------------------------------- 1. max loss-free rate

# measure TOOL BPS: one step; appends to $STEPS; sets CLEAN=1 when the loss was
# under LOSS_MAX and the receiver got at least 95% of the requested rate.
measure() {
    local tool=$1 bps=$2 ach loss dloss recv secs sent verdict e0 e1
    e0=$(rcvbuf_errors)
    case $tool in
        ours|ours_hifps|ours_spread|ours_max)
            OURS_FPS=$FPS; OURS_SRV_ARGS=()
            [[ "$tool" == ours_hifps ]] && OURS_FPS=$HIFPS
            [[ "$tool" == ours_spread ]] && OURS_SRV_ARGS=(--frame-spread "$SPREAD")
            if [[ "$tool" == ours_max ]]; then
                OURS_FPS=$MAX_FPS; OURS_SOCKBUF=$MAX_SOCKBUF
                [[ "$MAX_SPREAD" != 0 ]] && OURS_SRV_ARGS=(--frame-spread "$MAX_SPREAD")
            fi
            ours_run "$bps" "$SECS"
            OURS_FPS=$FPS; OURS_SRV_ARGS=(); OURS_SOCKBUF=$SOCKBUF
            read -r ach loss dloss recv secs < <(py step-ours "$WORK/ours$N.cli.json" "$WORK/ours$N.srv.json")
            ;;
        iperf3)
            iperf3_run "$bps" "$SECS"
            read -r ach loss recv secs sent < <(py step-iperf3 "$WORK/i3_$N.cli.out")
            dloss=$loss
            ;;
        iperf2)
            iperf2_run "$bps" "$SECS"
            read -r ach loss recv secs sent < <(py step-iperf2 "$WORK/i2_$N.cli.out" "$DGRAM")
            dloss=$loss
            ;;
    esac
    CLEAN=0; verdict="loss"
    if lt "$loss" "$LOSS_MAX"; then
        verdict="ok"
        if lt "$ach" "$(awk -v b="$bps" 'BEGIN { print 0.95 * b }')"; then
            verdict="ok, rate not reached"
        else
            CLEAN=1
        fi
    fi
    e1=$(rcvbuf_errors)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$bps" "$ach" "$loss" "$dloss" "$recv" "$secs" "$verdict" "$((e1 - e0))" >>"$STEPS"
    log "  $tool $(awk -v b="$bps" -v a="$ach" -v l="$loss" -v d="$dloss" \
        'BEGIN { printf "asked %.3f Gbit/s, got %.3f, loss %.4f%% (datagrams %.4f%%)", b / 1e9, a / 1e9, l, d }'), rcvbuf drops $((e1 - e0)): $verdict"
}

# measure_tries TOOL BPS: measure, and for ours_max again while unclean, up to
# MAX_TRIES times in all (every try is a row of the steps table).
measure_tries() {
    local tries=1 t
    [[ "$1" == ours_max ]] && tries=$MAX_TRIES
    for (( t = 0; t < tries; t++ )); do
        measure "$1" "$2"
        if (( CLEAN )); then break; fi
    done
    return 0
}

max_rate() {
    local tool=$1 r bps lo=0 hi=0 fails=0 i mid rates=$RATES
    [[ "$tool" == ours_spread ]] && rates=$SPREAD_RATES
    [[ "$tool" == ours_max ]] && rates=$MAX_RATES
    log "max loss-free rate: $tool (${SECS}s per step)"
    for r in $rates; do
        bps=$(py rate "$r")
        measure_tries "$tool" "$bps"
        if (( CLEAN )); then
            lo=$bps; hi=0; fails=0
        else
            (( hi == 0 )) && hi=$bps
            fails=$((fails + 1))
            (( fails >= STOP_AFTER )) && break
        fi
    done
    for (( i = 0; i < REFINE; i++ )); do
        (( lo > 0 && hi > lo )) || break
        mid=$(( (lo + hi) / 2 / 10000000 * 10000000 ))
        (( mid > lo && mid < hi )) || break
        measure_tries "$tool" "$mid"
        if (( CLEAN )); then lo=$mid; else hi=$mid; fi
    done
}

log "work dir $WORK; binary $BIN; load $(cut -d' ' -f1-3 /proc/loadavg)"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for t in $TOOLS; do wait_quiet "rate-$t"; max_rate "$t"; done

# ---------------------------------------------------------------- 2. CPU at 1 Gbit/s

wait_quiet cpu
log "CPU at 1 Gbit/s (${CPU_SECS}s each)"
CLK_TCK=$(getconf CLK_TCK)
# Kernel work that no process is charged for runs in ksoftirqd: its CPU over
# each run is added to both ends' (row "both ends + ksoftirqd"). Process times
# (rusage, /proc/PID/stat) come from the scheduler's runtime and are exact;
# /proc/stat's machine-wide busy time is tick-sampled and, on a tickless
# kernel, misses short bursts of work, so it is not used for the table.
KSOFT_PIDS=$(grep -l '^ksoftirqd/' /proc/[0-9]*/comm 2>/dev/null | cut -d/ -f3 | tr '\n' ' ' || true)
ksoft_ticks() {
    local p t=0 v
    for p in $KSOFT_PIDS; do
        v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)
        t=$((t + v))
    done
    echo "$t"
}
machine_cpu() { # TOOL KSOFT_TICKS_BEFORE (unused) RECEIVED_DATAGRAMS
    kv "$1.cpu.ksoftirqd.secs" "$(awk -v a="$2" -v b="$(ksoft_ticks)" -v t="$CLK_TCK" 'BEGIN { print (b - a) / t }')"
    kv "$1.cpu.ksoftirqd.dgrams" "$4"
}
if has_tool ours; then
    K0=$(ksoft_ticks); T0=$(busy_ticks)
    ours_run "$CPU_RATE" "$CPU_SECS"
    machine_cpu ours "$K0" "$T0" "$(py total "$WORK/ours$N.cli.json" datagrams_received)"
    kv ours.cpu.sender.secs "$(py cpu "$WORK/ours$N.srv.time")"
    kv ours.cpu.sender.dgrams "$(py total "$WORK/ours$N.srv.json" datagrams_sent)"
    kv ours.cpu.receiver.secs "$(py cpu "$WORK/ours$N.cli.time")"
    kv ours.cpu.receiver.dgrams "$(py total "$WORK/ours$N.cli.json" datagrams_received)"
fi
if has_tool iperf3; then
    K0=$(ksoft_ticks); T0=$(busy_ticks)
    iperf3_run "$CPU_RATE" "$CPU_SECS"
    read -r _ _ recv _ sent < <(py step-iperf3 "$WORK/i3_$N.cli.out")
    machine_cpu iperf3 "$K0" "$T0" "$recv"
    kv iperf3.cpu.sender.secs "$(py cpu "$WORK/i3_$N.cli.time")"
    kv iperf3.cpu.sender.dgrams "$sent"
    kv iperf3.cpu.receiver.secs "$(py cpu "$WORK/i3_$N.srv.time")"
    kv iperf3.cpu.receiver.dgrams "$recv"
fi
if has_tool iperf2; then
    K0=$(ksoft_ticks); T0=$(busy_ticks)
    iperf2_run "$CPU_RATE" "$CPU_SECS"
    read -r _ _ recv _ sent < <(py step-iperf2 "$WORK/i2_$N.cli.out" "$DGRAM")
    machine_cpu iperf2 "$K0" "$T0" "$recv"
    kv iperf2.cpu.sender.secs "$(py cpu "$WORK/i2_$N.cli.time")"
    kv iperf2.cpu.sender.dgrams "$sent"
    kv iperf2.cpu.receiver.secs "$(py cpu "$WORK/i2_$N.srv.time")"
    kv iperf2.cpu.receiver.dgrams "$recv"
fi
grep '\.cpu\.' "$KV" | sed 's/^/  /' >&2 || true

# ---------------------------------------------------------------- 3. pacing, 60 frames/s at 100 Mbit/s

wait_quiet pacing
log "pacing at $FPS frames/s, 100 Mbit/s (${PACE_SECS}s each)"
if has_tool ours; then
    ours_run "$PACE_RATE" "$PACE_SECS" --jitter-file "$WORK/ours_pace_jitter.csv"
    py pace-ours "$WORK/ours$N.srv.json" "$WORK/ours$N.cli.json" "$WORK/ours_pace_jitter.csv" "$FPS" >>"$KV"
    kv ours.pace.cpu_secs "$(py cpu "$WORK/ours$N.srv.time")"
    kv ours.pace.secs "$PACE_SECS"
    if [[ "$SPIN_US" != 0 ]]; then
        # the same run with the sender (our server) spinning up to SPIN_US before each frame
        OURS_SRV_ARGS=(--spin-us "$SPIN_US")
        ours_run "$PACE_RATE" "$PACE_SECS" --jitter-file "$WORK/ours_spin_jitter.csv"
        OURS_SRV_ARGS=()
        py pace-ours "$WORK/ours$N.srv.json" "$WORK/ours$N.cli.json" "$WORK/ours_spin_jitter.csv" "$FPS" ours_spin >>"$KV"
        kv ours_spin.pace.cpu_secs "$(py cpu "$WORK/ours$N.srv.time")"
        kv ours_spin.pace.secs "$PACE_SECS"
    fi
fi
if has_tool iperf2; then
    # the server gets -e and --histograms (frame latency percentiles); --trip-times
    # puts the client's frame start times in the datagrams (same clock on loopback)
    iperf2_run "" "$PACE_SECS" -e --isochronous="$FPS:$PACE_RATE,0" --trip-times -- -e --histograms
    py pace-iperf2 "$WORK/i2_$N.srv.out" "$WORK/i2_$N.cli.out" >>"$KV"
fi
if has_tool iperf3; then
    # iperf3 has no frames; its receiver's RFC 3550 jitter at the same rate
    iperf3_run "$PACE_RATE" "$PACE_SECS"
    py iperf3-jitter "$WORK/i3_$N.cli.out" >>"$KV"
fi

# The C reference pacer and ours, timed alike: a receiver with kernel
# receive timestamps (bench/pace_recv.py) finds each frame's first datagram
# and the error of each frame interval. REF_PAIRS pairs back to back, the
# order alternating (odd pairs the C pacer first, even pairs ours first).
REF_BIN=""
# The C pacer's first send of a frame carries as many datagrams as ours.
FIRST_RUN=$(sed -n 's/^pub const FIRST_RUN_SEGMENTS: usize = \([0-9]*\);.*/\1/p' crates/mediastream-core/src/server/service.rs 2>/dev/null || true)
FIRST_RUN=${FIRST_RUN:-46}
if has_tool ours && [[ "$REF_PAIRS" != 0 ]]; then
    if command -v gcc >/dev/null 2>&1 && timeout 120 gcc -O2 -Wall -o "$WORK/pacer_ref" bench/pacer_ref.c >&2; then
        REF_BIN="$WORK/pacer_ref"
    else
        log "  (no gcc, or bench/pacer_ref.c did not build: no reference pacer rows)"
    fi
fi
# run_busy "TICKS TIME": percent of all cores busy since busy_ticks said
# TICKS at TIME (date +%s.%N)
run_busy() {
    awk -v a="${1% *}" -v t0="${1#* }" -v b="$(busy_ticks)" -v t1="$(date +%s.%N)" \
        -v t="$(getconf CLK_TCK)" -v n="$(nproc)" \
        'BEGIN { printf "%.0f", (t1 > t0 ? 100 * (b - a) / t / n / (t1 - t0) : 0) }'
}
# ref_run K: the C pacer sends to a timestamping receiver on a fresh port
ref_run() {
    N=$((N + 1)); next_port
    start_bg "ref$1.rx" $((PACE_SECS + 20)) python3 bench/pace_recv.py --port "$PORT" --fps "$FPS" \
        --secs "$PACE_SECS" --prefix "ref$1"
    local rpid=$BG b0
    wait_listen "$PORT" udp
    b0="$(busy_ticks) $(date +%s.%N)"
    run_fg "ref$1.tx" $((PACE_SECS + 10)) "$REF_BIN" "$PORT" "$FPS" "$PACE_RATE" "$DGRAM" "$PACE_SECS" "$FIRST_RUN"
    kv "ref$1.busy" "$(run_busy "$b0")"
    stop_bg "$rpid" 15
    grep '^ref' "$WORK/ref$1.rx.out" >>"$KV" || true
}
# oursrx_run K: the timestamping receiver asks our server for a plain
# ctsTraffic stream (START) of the same rate, frame rate and length
oursrx_run() {
    N=$((N + 1)); next_port
    start_bg "oursrx$1.srv" $((PACE_SECS + 30)) "$BIN" server --listen "$HOST:$PORT" --status-interval 0 \
        --server-exit-limit 1 --socket-buffer "$SOCKBUF" --max-rate 100G --max-total-rate 100G \
        --bits-per-second "$PACE_RATE" --frame-rate "$FPS" --stream-length "$PACE_SECS" --datagram-size "$DGRAM"
    local spid=$BG b0
    wait_listen "$PORT" udp
    b0="$(busy_ticks) $(date +%s.%N)"
    run_fg "oursrx$1.rx" $((PACE_SECS + 20)) python3 bench/pace_recv.py --start "$PORT" --fps "$FPS" \
        --secs "$PACE_SECS" --prefix "oursrx$1"
    kv "oursrx$1.busy" "$(run_busy "$b0")"
    stop_bg "$spid" 10
    grep '^oursrx' "$WORK/oursrx$1.rx.out" >>"$KV" || true
}
if [[ -n "$REF_BIN" ]]; then
    wait_quiet pacing-ref
    log "C reference pacer and ours, kernel receive timestamps: $REF_PAIRS pair(s), ${PACE_SECS}s each"
    for (( k = 1; k <= REF_PAIRS; k++ )); do
        if (( k % 2 )); then ref_run "$k"; oursrx_run "$k"; else oursrx_run "$k"; ref_run "$k"; fi
        log "  pair $k: frame interval error p99 ours $(sed -n "s/^oursrx$k.ife.p99_ms=//p" "$KV") ms, C pacer $(sed -n "s/^ref$k.ife.p99_ms=//p" "$KV") ms"
    done
fi
grep -E '\.(late|grid|flat|isoch|pace)\.' "$KV" | sed 's/^/  /' >&2 || true

# ---------------------------------------------------------------- report

TABLE=$(py report "$KV" "$STEPS" "$LOSS_MAX")
LEGEND=$(cat <<EOF
- max loss-free rate: the highest rate the receiver measured in any step with
  under $LOSS_MAX% loss (${SECS} s per step, rates tried: $RATES, then up to
  $REFINE bisection steps). mediastream's loss is lost *frames*
  (frames_dropped / all frames, $FPS frames/s, so with ${SECS} s = $((SECS * FPS)) frames a single
  dropped frame fails the step); iperf3 and iperf2 count lost datagrams. The
  row "ours, by datagram loss" applies the datagram criterion to the same steps;
  "ours, --frame-spread $SPREAD" repeats our steps at $FPS frames/s with the
  server given \`--frame-spread $SPREAD\` (opt-in): each frame's datagrams
  leave in 1 ms sub-bursts spread over $SPREAD of the
  $(awk -v f="$FPS" 'BEGIN { printf "%.1f", 1000 / f }') ms frame interval instead of as one burst, the way a
  media pacer smooths an encoder (same frame-loss criterion; rates tried:
  $SPREAD_RATES);
  "ours at $HIFPS frames/s" repeats our steps with $HIFPS frames/s: the same
  rate in bursts $(awk -v h="$HIFPS" -v f="$FPS" 'BEGIN { printf "%.0f", h / f }') times smaller (iperf3 and iperf2 spread
  their datagrams over time: iperf3 in 1 ms slices, iperf2 one by one).
- "ours, best settings" (tool ours_max) is our highest rate with the
  settings that reach it, not the common ones: $MAX_FPS frames/s, both ends
  asking for $MAX_SOCKBUF-byte socket buffers instead of $SOCKBUF (the
  kernel grants twice what is asked, as root past net.core.rmem_max: about
  $(awk -v b="$MAX_SOCKBUF" 'BEGIN { printf "%.0f", 2 * b * 8 / 30e9 * 1000 }') ms of data at 30 Gbit/s), $( [[ "$MAX_SPREAD" == 0 ]] && echo "each frame one burst" || echo "the server given --frame-spread $MAX_SPREAD" ); the same
  frame-loss criterion ($((SECS * MAX_FPS)) frames per step), but each step is
  tried up to $MAX_TRIES times and counts as clean when one try is (every
  try is a row of the steps table); rates tried: $MAX_RATES.
- datagrams/s: datagrams received per second in that step.
- CPU s per M datagrams: user+system seconds of the whole process
  (/usr/bin/time) over datagrams it sent or received, one ${CPU_SECS} s run at
  1 Gbit/s. Senders: mediastream server, iperf3 -c, iperf -c. Receivers:
  mediastream client, iperf3 -s, iperf -s. Lower is better. "both ends +
  ksoftirqd" adds ksoftirqd's CPU over the run (kernel packet work charged
  to no process) to both processes', per million datagrams received.
  mediastream sends a frame's datagrams with UDP GSO (up to 46 per sendmsg)
  and receives with UDP GRO where the kernel allows (Linux; loopback does);
  iperf3 and iperf2 make one syscall per datagram.
- send lateness (mediastream server JSON, streams[].lateness_us): how long
  after its due time each frame's first datagram was handed to the socket;
  p50/p99 are histogram upper bounds (at most 12.5% high), capped at the max;
  p50/p99/max cover the steady state (frames due from 1 s after the start
  on, as the tool reports them), the "incl. first second" row every frame.
  "default (no spin)" is the default timer (timerfd, the thread sleeps until
  the frame is due), so lateness includes the kernel's timer wake-up
  latency; "--spin-us $SPIN_US" is the same run with the sender (our server)
  given the opt-in \`--spin-us $SPIN_US\`: it wakes up to $SPIN_US us early and
  spins until the frame is due, which costs CPU while it spins (0.000 ms:
  under 1 us).
- sender CPU, % of one core: the mediastream server's user+system seconds
  (/usr/bin/time) over the ${PACE_SECS} s pacing run, for each of the two runs.
- iperf2 frame latency (iperf -s -e --histograms, client --isochronous
  --trip-times): from the frame's scheduled start to the arrival of its last
  datagram, so it includes send lateness, the burst's own length and transit;
  p50/p99 are upper bounds of 0.1 ms bins (capped at the max), max is exact.
- iperf2 frames sent/missed/slipped: the isochronous client's own count of
  frames it sent and frames whose send time it missed.
- frame done vs 60 Hz grid: the only measure both tools allow. For each frame,
  the arrival of its last datagram minus its place on an ideal 60 Hz grid, less
  the smallest such value in the run (mediastream: --jitter-file receiver
  timestamps; iperf2: frame latency minus its minimum, p99 from the 0.1 ms
  histogram). 0 means "as early as the best frame"; it shows the spread.
- frame start interval error (rows present when gcc built bench/pacer_ref.c):
  a receiver with kernel receive timestamps (SO_TIMESTAMPNS; bench/pace_recv.py)
  takes each frame's first datagram (a datagram more than half a frame
  interval after the previous one starts a frame) and, for consecutive
  frames after the first second, |interval - 1/$FPS s|; p50/p99/max per run,
  then the median of each over the $REF_PAIRS pair(s). The same receiver times
  a reference pacer in C (bench/pacer_ref.c: a timerfd armed with
  TFD_TIMER_ABSTIME on CLOCK_MONOTONIC for each frame, a blocking read, then
  the frame as UDP GSO sendmsg runs, the first of $FIRST_RUN datagrams and the
  rest of 46, as ours sends them) and our server sending a plain
  ctsTraffic stream to it (START), back to back, without --spin-us.
- RFC 3550 jitter: each receiver's interarrival jitter at 100 Mbit/s (iperf3:
  plain -b 100M, no frames).
- By default, at $FPS frames/s mediastream hands each frame to the kernel as
  one burst, as ctsTraffic's MediaStream sender does (at 2 Gbit/s that is
  4.2 MB every 16.7 ms), which the receiver's socket buffer must absorb;
  iperf3 and iperf2 spread their datagrams over time, and so does
  mediastream with \`--frame-spread\` (server, client and loopback accept it).
  The steps' "kernel rcvbuf drops" column shows where a receive buffer
  overflowed.
EOF
)

echo
echo "mediastream vs iperf3 vs iperf2, loopback $HOST, $DGRAM-byte datagrams, socket buffers $SOCKBUF B asked"
echo "$TABLE"
echo
echo "$LEGEND"
if [[ -n "$REF_BIN" ]]; then
    echo
    echo "C reference pacer and ours, every pair (odd pairs the C pacer first):"
    py ref-table "$KV"
fi

ELAPSED=$(( $(date +%s) - START_TS ))
log "done in ${ELAPSED}s"

if [[ "$WRITE_DOC" == 1 ]]; then
    mkdir -p "$(dirname "$DOC")"
    GIT_REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    GIT_DIRTY=$(git status --porcelain --untracked-files=no -- crates src 2>/dev/null | wc -l)
    CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    DOC_TAIL=""
    if [[ -f "$DOC" ]]; then DOC_TAIL=$(awk '/^## / && $0 != "## Results" { f = 1 } f' "$DOC"); fi
    {
        cat <<EOF
# Performance: mediastream, iperf3 and iperf2 on loopback

\`bench/compare.sh\` runs our tool and iperf3 (and iperf2) back to back on
127.0.0.1, one stream at a time, with 1400-byte UDP payloads and 4 MiB socket
buffers asked for on every socket, and compares:

1. the highest single-stream rate with under 0.1% loss (stepped rates, then a
   short bisection);
2. CPU seconds per million datagrams at 1 Gbit/s, for the sending and the
   receiving process of each tool;
3. pacing at 60 frames/s and 100 Mbit/s: our frame send lateness (default
   timer, and with the opt-in \`--spin-us\`) and the sender's CPU, iperf2's
   isochronous frame latency, and when frames were complete at the receiver
   against a 60 Hz grid (the one measure both produce).

Reproduce with \`bash bench/compare.sh\` (installs iperf3 and iperf with
apt-get when missing, builds \`mediastream-cli\` in release mode, takes about
${ELAPSED} s here). \`QUICK=1 bash bench/compare.sh\` is a smoke run of about a
minute that prints the table without writing this file; \`KEEP=1\` keeps every
raw output. The script's header lists the other settings.

Loopback measures the tools, not a network: sender and receiver share the
machine's cores, so the numbers depend on the host and on what else runs.

## Results

- command: \`$CMDLINE\`
- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')
- kernel: $(uname -r), nproc: $(nproc), CPU: ${CPU_MODEL:-unknown}
- load average at start: $LOAD_START; machine busy (all cores, 1 s) before each phase:$QUIET_SEEN
- CPU runs, seconds the table counts: $(py cpu-notes "$KV")
- mediastream: $(timeout 10 "$BIN" --version 2>/dev/null || echo "?") at commit $GIT_REV (${GIT_DIRTY} locally modified tracked files under crates/ and src/)
- $(timeout 10 iperf3 --version 2>/dev/null | head -1); $(timeout 10 iperf -v 2>&1 | head -1)
- settings: SECS=$SECS CPU_SECS=$CPU_SECS PACE_SECS=$PACE_SECS REF_PAIRS=$REF_PAIRS REFINE=$REFINE STOP_AFTER=$STOP_AFTER LOSS_MAX=$LOSS_MAX SOCKBUF=$SOCKBUF TOOLS="$TOOLS" SPREAD=$SPREAD HIFPS=$HIFPS SPIN_US=$SPIN_US MAX_FPS=$MAX_FPS MAX_SOCKBUF=$MAX_SOCKBUF MAX_SPREAD=$MAX_SPREAD MAX_TRIES=$MAX_TRIES
- net.core.rmem_max=$(cat /proc/sys/net/core/rmem_max) net.core.wmem_max=$(cat /proc/sys/net/core/wmem_max)

\`\`\`
$TABLE
\`\`\`

$LEGEND

### Every rate step

"verdict": \`ok\` is under the loss limit, \`ok, rate not reached\` is under the
loss limit but the receiver got less than 95% of the requested rate (the
sender could not go faster), \`loss\` is over the limit. For mediastream
"loss %" is frame loss and the next column datagram loss. "kernel rcvbuf
drops" is the change of RcvbufErrors in /proc/net/snmp over the step
(datagrams dropped because a receive buffer was full; with UDP GRO one
drop can be a batch of up to 46 datagrams).

EOF
        py steps "$STEPS"
        if [[ -n "$REF_BIN" ]]; then
            cat <<EOF

### Pacing against the C reference pacer, every pair

Frame start interval error at a receiver with kernel receive timestamps
(see the table's legend), ${PACE_SECS} s runs at $FPS frames/s and $PACE_RATE bit/s, in the
order run (odd pairs the C pacer first). "intervals" are the frame
intervals measured, "missed" those over 1.5 frame intervals (left out),
"machine busy" all cores' busy time over the run (tick-sampled; other
work on the machine shows here and in the tail).

EOF
            py ref-table "$KV"
        fi
        cat <<EOF

### Commands

\`\`\`
mediastream server --listen 127.0.0.1:PORT --status-interval 0 --server-exit-limit 1 --socket-buffer $SOCKBUF --json FILE --max-rate 100G --max-total-rate 100G [--frame-spread $SPREAD | --spin-us $SPIN_US]
mediastream client --target 127.0.0.1:PORT --bits-per-second RATE --frame-rate $FPS --stream-length SECS --datagram-size $DGRAM --buffer-depth 1 --socket-buffer $SOCKBUF --status-interval 0 --json FILE [--jitter-file FILE]
ours_max: the same two with --socket-buffer $MAX_SOCKBUF, the client with --frame-rate $MAX_FPS$( [[ "$MAX_SPREAD" == 0 ]] || echo ", the server with --frame-spread $MAX_SPREAD" )
iperf3 -s -1 -B 127.0.0.1 -p PORT
iperf3 -c 127.0.0.1 -p PORT -u -l $DGRAM -b RATE -w $SOCKBUF -t SECS --json
iperf -s -u -B 127.0.0.1 -p PORT -l $DGRAM -w $SOCKBUF -t SECS+2 [-e --histograms]
iperf -c 127.0.0.1 -p PORT -u -l $DGRAM -w $SOCKBUF -t SECS -b RATE
iperf -c 127.0.0.1 -p PORT -u -l $DGRAM -w $SOCKBUF -t SECS -e --isochronous=$FPS:$PACE_RATE,0 --trip-times
gcc -O2 -Wall -o pacer_ref bench/pacer_ref.c
python3 bench/pace_recv.py --port PORT --fps $FPS --secs SECS   # then: pacer_ref PORT $FPS $PACE_RATE $DGRAM SECS $FIRST_RUN
mediastream server --listen 127.0.0.1:PORT --status-interval 0 --server-exit-limit 1 --socket-buffer $SOCKBUF --max-rate 100G --max-total-rate 100G --bits-per-second $PACE_RATE --frame-rate $FPS --stream-length SECS --datagram-size $DGRAM
python3 bench/pace_recv.py --start PORT --fps $FPS --secs SECS
\`\`\`

Each process runs under \`timeout\` and \`/usr/bin/time -f "%U %S"\`.
EOF
        if [[ -n "$DOC_TAIL" ]]; then printf '\n%s\n' "$DOC_TAIL"; fi
    } >"$DOC.tmp"
    mv "$DOC.tmp" "$DOC"
    log "wrote $DOC"
fi
