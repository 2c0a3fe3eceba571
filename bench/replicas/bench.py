#!/usr/bin/python3
"""What shared state costs (issue 18): one replica with --state memory, then one with --state
dynamodb (dynalite behind the fault proxy, no faults), same load, one after the other in one run.

  /usr/bin/python3 bench/replicas/bench.py --binary build/app/infra-bot \
      --dynalite-node-modules build/state-tests/node_modules [--commands 3000] [--rate 150]

Each half is tests/replicas/replicas_suite.py (--replicas 1 --faults none), which also checks the
run (a failing half is reported, its figures still printed). Printed per state: ack latency (the
fake Slack's ack time minus its push time: median, p99), commands acked per second (commands /
the time from the first push to the last first ack), the bot's CPU per command; then the added
cost per command in µs (median ack latency and CPU, dynamodb minus memory) and the DynamoDB calls
per command (the proxy's request counter / commands). Wall-clock figures: read them, never assert
them.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SUITE = os.path.join(ROOT, "tests", "replicas", "replicas_suite.py")


def run(args, state, workdir):
    summary_path = os.path.join(workdir, "summary-%s.json" % state)
    argv = ["/usr/bin/python3", "-u", SUITE, "--binary", args.binary, "--state", state,
            "--replicas", "1", "--faults", "none", "--commands", str(args.commands),
            "--rate", str(args.rate), "--users", str(args.users), "--read-limit", "0",
            "--slash-retries", "0", "--workdir", os.path.join(workdir, state),
            "--summary-json", summary_path]
    if state == "dynamodb":
        argv += ["--dynalite-node-modules", args.dynalite_node_modules or ""]
    print("bench: %s" % " ".join(argv), flush=True)
    status = subprocess.call(argv)
    summary = None
    if os.path.exists(summary_path):
        with open(summary_path) as f:
            summary = json.load(f)
    return status, summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--dynalite-node-modules", default=None)
    parser.add_argument("--commands", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=150.0)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="infra-bot-replicas-bench-")
    os.makedirs(workdir, exist_ok=True)
    results = {}
    for state in ("memory", "dynamodb"):
        results[state] = run(args, state, workdir)

    def fmt(value, spec="%.2f"):
        return spec % value if isinstance(value, (int, float)) else "-"

    print()
    print("=== replicas bench: %d commands at %.0f/s, 1 replica ===" % (args.commands, args.rate))
    print("%-10s %-7s %12s %12s %12s %14s %12s" % ("state", "result", "ack p50 ms", "ack p99 ms",
                                                  "cmds/s", "CPU us/cmd", "ddb calls/cmd"))
    for state, (status, s) in results.items():
        if s is None:
            print("%-10s exit %d, no summary" % (state, status))
            continue
        lat = s.get("ack_latency_ms") or {}
        print("%-10s %-7s %12s %12s %12s %14s %12s" % (
            state, "pass" if status == 0 else "exit %d" % status, fmt(lat.get("p50")),
            fmt(lat.get("p99")), fmt(s.get("acked_commands_per_second"), "%.1f"),
            fmt(s.get("bot_cpu_us_per_command"), "%.0f"),
            fmt(s.get("dynamodb_calls_per_command"))))
    memory, dynamo = results["memory"][1], results["dynamodb"][1]
    if memory and dynamo:
        def delta(key):
            a = (memory.get("ack_latency_ms") or {}).get(key)
            b = (dynamo.get("ack_latency_ms") or {}).get(key)
            return (b - a) * 1000.0 if isinstance(a, (int, float)) and isinstance(
                b, (int, float)) else None
        cpu_a, cpu_b = memory.get("bot_cpu_us_per_command"), dynamo.get("bot_cpu_us_per_command")
        print("added per command   ack latency p50 %s us, p99 %s us; bot CPU %s us"
              % (fmt(delta("p50"), "%+.0f"), fmt(delta("p99"), "%+.0f"),
                 fmt(cpu_b - cpu_a if cpu_a is not None and cpu_b is not None else None,
                     "%+.0f")))
        print("dynamodb calls      %s per command (%s calls for %s commands)"
              % (fmt(dynamo.get("dynamodb_calls_per_command")), dynamo.get("dynamodb_calls"),
                 (dynamo.get("counts") or {}).get("commands")))
    print("run folder          %s" % workdir)
    return 0 if all(status == 0 for status, _ in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
