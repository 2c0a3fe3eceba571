#!/usr/bin/python3
"""Parses a Prometheus text exposition with prometheus_client's own parser, the
independent reader for tests/unit/metrics_test.cpp.

Run with Debian's /usr/bin/python3 (python3-prometheus-client 0.16):

    /usr/bin/python3 prometheus_parse.py <exposition.txt>

Output: one line per family and per sample, in the order parsed:
    family <name> <type> <documentation as JSON>
    sample <name> <labels as JSON object, keys in order> <value as Python repr>
The parser names a counter family without its `_total` suffix; its samples
keep it.

Exit status 3 when prometheus_client cannot be imported, 1 when the text does
not parse.
"""

import json
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError as error:
    print(f"prometheus_client is not importable: {error}", file=sys.stderr)
    sys.exit(3)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as error:  # the parser raises ValueError and friends
        print(f"unparsable exposition: {error!r}", file=sys.stderr)
        sys.exit(1)
    for family in families:
        print(f"family {family.name} {family.type} {json.dumps(family.documentation)}")
        for sample in family.samples:
            labels = json.dumps(sample.labels, separators=(",", ":"))
            print(f"sample {sample.name} {labels} {sample.value!r}")


if __name__ == "__main__":
    main()
