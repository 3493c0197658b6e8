#!/usr/bin/env python3
"""Writes sample_720p30.csv: a made-up 720p30 encoder trace in the CSV
that `ffprobe -select_streams v:0 -show_entries packet=pts_time,size,flags
-of csv=p=0 FILE` prints (pts_time in seconds, size in bytes, flags with K
for a keyframe).

Nothing here comes from a real video: a keyframe every 2 s (60 frames),
keyframes around 9x the mean delta, deltas log-normal around 5,600 bytes
with a slow wander and a scene change (a busier stretch) from 4 s to 6 s.
About 1.8 Mbit/s, 10 s, 300 frames. Deterministic: the same file every run.

    python3 docs/traces/make_sample.py > docs/traces/sample_720p30.csv
"""

import math
import random

FPS = 30
FRAMES = 300
GOP = 60


def main():
    rng = random.Random(20261202)
    for n in range(FRAMES):
        t = n / FPS
        busy = 1.6 if 4.0 <= t < 6.0 else 1.0
        wander = 1.0 + 0.15 * math.sin(2 * math.pi * t / 7.0)
        if n % GOP == 0:
            size = 50_000 * busy * rng.lognormvariate(0.0, 0.08)
            flags = "K__"
        else:
            size = 5_600 * busy * wander * rng.lognormvariate(-0.045, 0.3)
            flags = "___"
        print(f"{t:.6f},{max(200, round(size))},{flags}")


if __name__ == "__main__":
    main()
