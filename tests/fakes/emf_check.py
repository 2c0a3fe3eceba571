#!/usr/bin/python3
"""Checks CloudWatch Embedded Metric Format documents, one per line, against the specification
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
and /work/shared/notes/aws-services.md §11):

  root: one JSON object with "_aws": {"Timestamp": <integer epoch ms>,
        "CloudWatchMetrics": [MetricDirective, ...]}
  MetricDirective: {"Namespace": 1-255 chars, "Dimensions": [[name, ...], ...],
        "Metrics": [{"Name", "Unit"?, "StorageResolution"? (1 | 60)}, ...]}
  a DimensionSet has at most 30 names, each a root member holding a string;
  at most 100 MetricDefinitions, each Name a root member holding a number or an array of at
  most 100 numbers; Unit a CloudWatch unit; an event at most 1 MB.

  emf_check.py FILE...    prints "<n> documents ok" or each problem; exit 0 when all are fine
"""

import json
import sys

UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
}


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check(line):
    problems = []
    if len(line.encode()) > 1024 * 1024:
        problems.append("larger than 1 MB")
    try:
        doc = json.loads(line)
    except ValueError as error:
        return ["not JSON: %s" % error]
    if not isinstance(doc, dict):
        return ["not a JSON object"]
    aws = doc.get("_aws")
    if not isinstance(aws, dict):
        return ["no _aws object"]
    stamp = aws.get("Timestamp")
    if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp < 0:
        problems.append("_aws.Timestamp is not an integer of epoch milliseconds: %r" % (stamp,))
    directives = aws.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return problems + ["_aws.CloudWatchMetrics is not a non-empty array"]
    for d, directive in enumerate(directives):
        where = "CloudWatchMetrics[%d]" % d
        if not isinstance(directive, dict):
            problems.append(where + " is not an object")
            continue
        namespace = directive.get("Namespace")
        if not isinstance(namespace, str) or not 1 <= len(namespace) <= 255:
            problems.append(where + ".Namespace is not 1-255 characters")
        dimensions = directive.get("Dimensions")
        if not isinstance(dimensions, list):
            problems.append(where + ".Dimensions is not an array")
            dimensions = []
        for s, dimension_set in enumerate(dimensions):
            if not isinstance(dimension_set, list):
                problems.append("%s.Dimensions[%d] is not an array" % (where, s))
                continue
            if len(dimension_set) > 30:
                problems.append("%s.Dimensions[%d] has %d keys (at most 30)"
                                % (where, s, len(dimension_set)))
            for name in dimension_set:
                if not isinstance(name, str) or not isinstance(doc.get(name), str):
                    problems.append("%s: dimension %r is not a root member holding a string"
                                    % (where, name))
        metrics = directive.get("Metrics")
        if not isinstance(metrics, list) or not metrics:
            problems.append(where + ".Metrics is not a non-empty array")
            continue
        if len(metrics) > 100:
            problems.append("%s.Metrics has %d definitions (at most 100)" % (where, len(metrics)))
        names = set()
        for definition in metrics:
            if not isinstance(definition, dict) or not isinstance(definition.get("Name"), str):
                problems.append(where + ": a MetricDefinition without a Name")
                continue
            extra = set(definition) - {"Name", "Unit", "StorageResolution"}
            if extra:
                problems.append("%s: %s has unknown members %s" % (where, definition["Name"],
                                                                   sorted(extra)))
            name = definition["Name"]
            if name in names:
                problems.append("%s: metric %r defined twice" % (where, name))
            names.add(name)
            if "Unit" in definition and definition["Unit"] not in UNITS:
                problems.append("%s: %s has unit %r" % (where, name, definition["Unit"]))
            if definition.get("StorageResolution", 60) not in (1, 60):
                problems.append("%s: %s has a bad StorageResolution" % (where, name))
            value = doc.get(name)
            if isinstance(value, list):
                if len(value) > 100 or not all(is_number(v) for v in value):
                    problems.append("%s: %s is not an array of at most 100 numbers"
                                    % (where, name))
            elif not is_number(value):
                problems.append("%s: metric %r is not a root member holding a number: %r"
                                % (where, name, value))
    return problems


def main():
    count, bad = 0, 0
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if not line:
                    continue
                count += 1
                for problem in check(line):
                    bad += 1
                    print("%s:%d: %s" % (path, number, problem))
    if count == 0:
        print("no documents")
        return 1
    print("%d documents %s" % (count, "ok" if bad == 0 else "with %d problems" % bad))
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
