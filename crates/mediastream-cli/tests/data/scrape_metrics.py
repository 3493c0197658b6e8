#!/usr/bin/env python3
"""Scrapes a `mediastream server --metrics-listen` endpoint once, the way
Prometheus does (an HTTP GET with a real client), and parses the text
with the Prometheus client library's parsers: the Prometheus text format
parser and the OpenMetrics parser (the endpoint serves OpenMetrics).

Usage: scrape_metrics.py URL    prints {"types": {family: type} (the
                                OpenMetrics parser's), "samples":
                                {"name{k=v,...}": value} (both parsers')}
       scrape_metrics.py --probe  exit 0 if prometheus_client is there,
                                  3 (with the reason) if not

Used by crates/mediastream-cli/tests/metrics.rs.
"""

import json
import sys
import urllib.request


def probe():
    try:
        import prometheus_client  # noqa: F401
    except ImportError as e:
        print(f"python3 has no prometheus_client ({e}): pip install prometheus_client")
        sys.exit(3)


def key(sample):
    labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
    return f"{sample.name}{{{labels}}}"


def parse(text, parser):
    types, samples = {}, {}
    for family in parser(text):
        types[family.name] = family.type
        for s in family.samples:
            samples[key(s)] = s.value
    return types, samples


def main():
    if sys.argv[1:] == ["--probe"]:
        probe()
        return
    probe()
    from prometheus_client.openmetrics.parser import (
        text_string_to_metric_families as openmetrics,
    )
    from prometheus_client.parser import text_string_to_metric_families as prometheus

    with urllib.request.urlopen(sys.argv[1], timeout=10) as response:
        if response.status != 200:
            sys.exit(f"HTTP {response.status}")
        content_type = response.headers.get("Content-Type", "")
        text = response.read().decode("utf-8")
    if not content_type.startswith("application/openmetrics-text"):
        sys.exit(f"Content-Type {content_type!r}")
    # The OpenMetrics parser knows the types (a counter's samples end in
    # _total); the classic Prometheus text parser must read the same
    # samples (it types a counter's _total samples "unknown").
    types, samples = parse(text, openmetrics)
    _, classic = parse(text, prometheus)
    if classic != samples:
        diff = set(classic.items()) ^ set(samples.items())
        sys.exit(f"the two parsers disagree: {sorted(diff)[:10]}")
    print(json.dumps({"types": types, "samples": samples}))


if __name__ == "__main__":
    main()
