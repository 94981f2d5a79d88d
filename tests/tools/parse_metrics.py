#!/usr/bin/env python3
"""Reads a Prometheus text exposition (0.0.4) from a file with prometheus_client's own parser
(Debian's python3-prometheus-client) and prints one line per sample:

    FAMILY TYPE SAMPLE_NAME {label=value,...} VALUE

so a test can check what a real scraper would read. Exits 1, with the parser's error, when the
text does not parse."""
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    try:
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
                print(f"{family.name} {family.type} {s.name} {{{labels}}} {s.value!r}")
    except Exception as e:  # the parser raises ValueError and others on bad input
        print(f"parse error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
