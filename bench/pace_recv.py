#!/usr/bin/env python3
"""bench/pace_recv.py: a receiver that times frames with kernel receive
timestamps (SO_TIMESTAMPNS), the same way for any sender.

    pace_recv.py --port P [--start SERVER_PORT] --fps F --secs S [--out FILE]

Binds 127.0.0.1:P (0: any port; the port is printed as "port=N" on stdout
once bound), optionally sends b"START" to 127.0.0.1:SERVER_PORT (a plain
ctsTraffic stream request: a mediastream server then sends to this
socket), and reads every datagram with recvmsg, keeping the kernel's
arrival timestamp of each. It stops 1 s after the last datagram, or at
S + 10 seconds after it started.

Frames are found by arrival alone, so any sender is timed alike: a
datagram that arrives more than half a frame interval after the previous
one starts a frame. For each frame its first datagram's arrival t_i is
kept; frames in the first second are left out (warm-up), as the sender's
own lateness report does. The measure:

  inter-frame error e_i = |(t_i - t_{i-1}) - 1/F| for consecutive frames

(a frame interval over 1.5/F, a lost or skipped frame, is counted as a
miss and left out). p50/p90/p99/max of e_i are printed, in ms, as key=value
lines with the prefix given by --prefix. Also printed: "grid" p99/max, the
first-datagram arrival minus an ideal F Hz grid through the first counted
frame, less the smallest such value (the spread; on CLOCK_REALTIME, which
the kernel stamps with, so clock slewing over the run adds to it).
"""
import argparse
import math
import select
import socket
import struct
import sys
import time

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def pct(vals, p):
    if not vals:
        return float("nan")
    k = max(0, min(len(vals) - 1, math.ceil(p / 100.0 * len(vals)) - 1))
    return vals[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--fps", type=float, required=True)
    ap.add_argument("--secs", type=float, required=True)
    ap.add_argument("--prefix", default="pace")
    ap.add_argument("--out", default="")
    a = ap.parse_args()

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind(("127.0.0.1", a.port))
    print("port=%d" % s.getsockname()[1], flush=True)
    if a.start:
        s.sendto(b"START", ("127.0.0.1", a.start))
    s.setblocking(False)

    stamps = []
    t_begin = time.monotonic()
    deadline = t_begin + a.secs + 10
    last = None
    cspace = socket.CMSG_SPACE(16)
    while True:
        now = time.monotonic()
        if now >= deadline or (last is not None and now - last >= 1.0):
            break
        r, _, _ = select.select([s], [], [], 0.1)
        if not r:
            continue
        for _ in range(100000):
            try:
                _, anc, _, _ = s.recvmsg(65536, cspace)
            except BlockingIOError:
                break
            ts = None
            for level, typ, data in anc:
                if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS and len(data) >= 16:
                    sec, nsec = struct.unpack("qq", data[:16])
                    ts = sec * 1_000_000_000 + nsec
            if ts is None:
                ts = time.time_ns()
            stamps.append(ts)
        last = time.monotonic()

    period = 1e9 / a.fps
    firsts = []
    prev = None
    for t in stamps:
        if prev is None or t - prev > period / 2:
            firsts.append(t)
        prev = t
    warm = int(round(a.fps))
    counted = firsts[warm:]
    errs, misses = [], 0
    for x, y in zip(counted, counted[1:]):
        d = y - x
        if d > 1.5 * period:
            misses += 1
            continue
        errs.append(abs(d - period) / 1e6)
    errs.sort()
    grid = []
    if counted:
        g0 = counted[0]
        offs = [t - g0 - round((t - g0) / period) * period for t in counted]
        lo = min(offs)
        grid = sorted((o - lo) / 1e6 for o in offs)
    p = a.prefix
    print("%s.datagrams=%d" % (p, len(stamps)))
    print("%s.frames=%d" % (p, len(firsts)))
    print("%s.counted=%d" % (p, len(errs)))
    print("%s.misses=%d" % (p, misses))
    print("%s.ife.p50_ms=%.4f" % (p, pct(errs, 50)))
    print("%s.ife.p90_ms=%.4f" % (p, pct(errs, 90)))
    print("%s.ife.p99_ms=%.4f" % (p, pct(errs, 99)))
    print("%s.ife.max_ms=%.4f" % (p, errs[-1] if errs else float("nan")))
    print("%s.gridspread.p99_ms=%.4f" % (p, pct(grid, 99)))
    print("%s.gridspread.max_ms=%.4f" % (p, grid[-1] if grid else float("nan")))
    if a.out:
        with open(a.out, "w") as f:
            for t in firsts:
                f.write("%d\n" % t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
