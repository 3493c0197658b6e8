#!/usr/bin/env python3
"""Writes plot-fixture.json beside this script: a `--json` document (see
docs/json.md) of a loopback run whose receiving stream has 300 frames at
60 frames/s with 8 dropped frames (three alone, five in a row: one freeze
of 5 frames), one late frame (also counted in frames_dropped, 9) and one
repeated frame; delays 0.2-3 ms.
Deterministic: rerunning writes the same file."""
import json, math, os, random

rng = random.Random(9)
RATE, FRAMES, BUFFER_MS, PER_FRAME = 60, 300, 200, 13
INTERVAL = 1000 / RATE
DROPPED_ALONE = {40, 95, 180}
FREEZE = set(range(210, 215))
LATE, REPEATED = 250, 130

def pct(values):
    v = sorted(values)
    rank = lambda q: v[max(1, min(len(v), math.ceil(q * len(v)))) - 1]
    return {"count": len(v), "min": round(v[0], 4), "mean": round(sum(v) / len(v), 4),
            "p50": rank(0.5), "p90": rank(0.9), "p99": rank(0.99), "p999": rank(0.999), "max": v[-1]}

timeline, lost = [], 0
for seq in range(1, FRAMES + 1):
    due = round(BUFFER_MS + (seq - 1) * INTERVAL, 3)
    wave = 0.9 + 0.6 * math.sin(seq / 23.0)
    last = round(min(3.0, max(0.3, wave + rng.uniform(0.0, 0.9) + (1.2 if rng.random() < 0.04 else 0.0))), 3)
    first = round(max(0.2, last - rng.uniform(0.1, 0.6)), 3)
    entry = {"seq": seq, "due_ms": due, "outcome": "completed", "first_ms": first, "last_ms": last, "datagrams": PER_FRAME}
    if seq in DROPPED_ALONE:
        entry.update(outcome="dropped", datagrams=PER_FRAME - 2)
        lost += 2
    elif seq in FREEZE:
        entry.update(outcome="dropped", first_ms=None, last_ms=None, datagrams=0)
        lost += PER_FRAME
    elif seq == LATE:
        entry.update(outcome="late", last_ms=212.4)
    elif seq == REPEATED:
        entry.update(outcome="repeated", datagrams=PER_FRAME + 1)
    timeline.append(entry)

count = lambda o: sum(1 for e in timeline if e["outcome"] == o)
lasts = [e["last_ms"] for e in timeline if e["last_ms"] is not None]
firsts = [e["first_ms"] for e in timeline if e["first_ms"] is not None]
ipdv = [round(abs(b - a), 3) for a, b in zip(lasts, lasts[1:])]
expected = FRAMES * PER_FRAME
settings = {"bits_per_second": 8000000, "frame_rate": RATE, "stream_length_secs": 5,
            "datagram_size": 1400, "buffer_depth_ms": BUFFER_MS, "frame_size": 16666, "stream_frames": FRAMES}
common = {"connection_id": "0b6a4c1e-2f57-4a8e-9a55-6c1d2e3f4a5b", "v1": True, "status": "completed",
          "error": None, "error_kind": None, "settings": settings, "duration_secs": 5.21,
          "frames_error": 0, "datagrams_corrupt": 0, "datagrams_malformed": 0}
# A late frame was short at its tick: counted dropped there, as ctsTraffic does.
completed, dropped, repeated = count("completed"), count("dropped") + count("late"), count("repeated")
received = expected - lost + 1
sender = dict(common, role="sender", local="127.0.0.1:4444", remote="127.0.0.1:50123", view="peer",
              frames_completed=completed, frames_dropped=dropped, frames_repeated=repeated,
              bytes_received=received * 1283, datagrams_received=received, jitter_ms=0.081,
              bits_per_second=7999820.0, frames_sent=FRAMES, datagrams_sent=expected, bytes_sent=expected * 1283,
              lateness_us={"p50": 96.0, "p99": 640.0, "max": 702.0, "steady_max": 690.0, "steady": True, "frames": FRAMES},
              rtt_ms={"samples": 5, "min": 0.11, "mean": 0.14, "max": 0.2},
              peer={"report": None, "end": None}, metrics=None, timeline=None)
receiver = dict(common, role="receiver", local="127.0.0.1:50123", remote="127.0.0.1:4444", view="own",
                frames_completed=completed, frames_dropped=dropped, frames_repeated=repeated,
                bytes_received=received * 1283, datagrams_received=received, jitter_ms=0.081,
                bits_per_second=7843210.0, frames_sent=0, datagrams_sent=0, bytes_sent=0,
                lateness_us=None, rtt_ms=None, peer={"report": None, "end": {"frames_sent": FRAMES, "datagrams_sent": expected, "bytes_sent": expected * 1283}},
                metrics={
                    "delay_basis": "same_host",
                    "frame_delay_ms": {"first": pct(firsts), "last": pct(lasts)},
                    "datagram_delay_ms": pct(firsts + lasts), "pdv_ms": pct([round(v - min(lasts), 3) for v in lasts]),
                    "ipdv_ms": pct(ipdv),
                    "datagrams": {"expected": expected, "received_unique": expected - lost, "lost": lost,
                                  "duplicates": 1, "reordered": 2, "loss_percent": round(100 * lost / expected, 4)},
                    "loss_runs": {"bursts": 4, "burst_density": 0.62, "gap_density": 0.0004,
                                  "burst_ms_mean": 25.0, "gap_ms_mean": 1160.0, "longest_loss_run": 5 * PER_FRAME},
                    "playout": {"late_frames": count("late"), "freezes": 5, "freeze_ms_total": round(9 * INTERVAL, 3),
                                "freeze_ms_longest": round(5 * INTERVAL, 3)},
                    "packets_per_second": round(received / 5.0, 1), "goodput_bps": 7843210.0},
                timeline=timeline)
doc = {"schema": 1, "tool": "mediastream", "version": "0.1.0", "command": "loopback", "interrupted": False,
       "streams": [sender, receiver],
       "totals": {"streams": 2, "succeeded": 2, "network_errors": 0, "protocol_errors": 0,
                  "frames_completed": 2 * completed, "frames_dropped": 2 * dropped, "frames_repeated": 2 * repeated,
                  "frames_error": 0, "bytes_received": 2 * received * 1283, "datagrams_received": 2 * received,
                  "jitter_ms": 0.081, "jitter_ms_max": 0.081, "bytes_sent": expected * 1283, "datagrams_sent": expected}}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plot-fixture.json")
with open(path, "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
print(f"{path}: {completed} completed, {dropped} dropped, {count('late')} late, {repeated} repeated")
