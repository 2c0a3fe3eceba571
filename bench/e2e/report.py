#!/usr/bin/python3
"""Aggregates loadgen result lines (bench/e2e/run.sh) into the side-by-side table.

  report.py RESULTS.jsonl [--markdown]

Each input line is one loadgen JSON result whose "label" is "<subject>:<scenario>:<rep>".
Every figure in the table is the median over the repetitions (start -> hello and idle RSS:
over every run of that subject, since every run starts the subject afresh); "lost" is the
sum over all runs. Ratios are infra-bot / peer, so below 1 means infra-bot is lower.
"""

import json
import os
import statistics
import sys
from collections import defaultdict

MAIN = ["infra-bot", "bolt", "floor"]
TITLES = {"infra-bot": "infra-bot", "bolt": "Bolt", "floor": "floor",
          "infra-bot-nodelay": "infra-bot + TCP_NODELAY (LD_PRELOAD)",
          "infra-bot-alt": "infra-bot (alt)",
          "infra-bot-refused": "infra-bot, refused in the ack",
          "infra-bot-alt-refused": "infra-bot (alt), refused in the ack"}


def load(path):
    runs = defaultdict(list)  # (subject, scenario) -> [result]
    bad = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            subject, scenario, _rep = r["label"].split(":")
            if r.get("error"):
                bad.append((r["label"], r["error"]))
            runs[(subject, scenario)].append(r)
    return runs, bad


def med(values):
    values = [v for v in values if v is not None and v >= 0]
    return statistics.median(values) if values else None


def fmt(v, unit=""):
    if v is None:
        return "–"
    if unit == "int":
        return "{:,.0f}".format(v)
    if unit == "MB":
        return "%.1f" % (v / 1024.0)
    if abs(v) >= 1000:
        return "{:,.0f}".format(v)
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.2f" % v


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    r = a / b
    return ("%.3f" % r) if r < 0.1 else ("%.2f" % r)


def main():
    path = sys.argv[1]
    markdown = "--markdown" in sys.argv
    runs, bad = load(path)
    subjects = [s for s in MAIN if any(k[0] == s for k in runs)]
    titles = os.path.join(os.path.dirname(os.path.abspath(path)), "titles.json")
    if os.path.exists(titles):
        TITLES.update(json.load(open(titles)))
    extra = [s for s in ("infra-bot-alt", "infra-bot-nodelay", "infra-bot-refused",
                         "infra-bot-alt-refused")
             if any(k[0] == s for k in runs)]
    subjects += extra + sorted({k[0] for k in runs} - set(MAIN) - set(extra))

    def per_run(subject, scenario, key):
        return [r.get(key) for r in runs.get((subject, scenario), [])]

    def m(subject, scenario, key):
        return med(per_run(subject, scenario, key))

    def all_runs(subject, key):
        vals = []
        for (s, _sc), rs in runs.items():
            if s == subject:
                vals += [r.get(key) for r in rs]
        return med(vals)

    def cpu_per_env(subject, scenario):
        vals = []
        for r in runs.get((subject, scenario), []):
            if r.get("load_cpu_s") is not None and r.get("pushed"):
                vals.append(r["load_cpu_s"] / r["pushed"] * 1e6)
        return med(vals)

    def io_per_env(subject, scenario):
        vals = []
        for r in runs.get((subject, scenario), []):
            if r.get("busiest_thread_cpu_s") is not None and r.get("pushed"):
                vals.append(r["busiest_thread_cpu_s"] / r["pushed"] * 1e6)
        return med(vals)

    def lost(subject):
        n = 0
        any_run = False
        for (s, _sc), rs in runs.items():
            if s == subject:
                for r in rs:
                    any_run = True
                    n += int(r.get("lost", 0) or 0)
        return n if any_run else None

    def answered(subject, scenario, key="answered"):
        if not subject.startswith("infra-bot"):
            return None  # the peers only ack: nothing is posted to a response_url
        vals = []
        for r in runs.get((subject, scenario), []):
            if r.get("pushed"):
                vals.append(r.get(key, 0))
        return med(vals)

    def rss_at(subject, n, key="rss_at_kb"):
        vals = []
        for r in runs.get((subject, "footprint"), []):
            v = (r.get(key) or {}).get(str(n))
            if v is not None:
                vals.append(v)
        return med(vals)

    rows = []  # (metric, {subject: value}, unit)

    def row(metric, fn, unit=""):
        rows.append((metric, {s: fn(s) for s in subjects}, unit))

    row("start → hello (ms)", lambda s: all_runs(s, "start_to_hello_ms"))
    row("idle RSS after connect (MB)", lambda s: all_runs(s, "idle_rss_kb"), "MB")
    row("  of which RssAnon: heap, stacks (MB)", lambda s: all_runs(s, "idle_rss_anon_kb"), "MB")
    row("  of which RssFile: binary, libraries (MB)", lambda s: all_runs(s, "idle_rss_file_kb"), "MB")
    for scenario, title in (("r100", "100/s"), ("r1000", "1,000/s")):
        row("ack latency p50 @ %s (µs)" % title, lambda s, sc=scenario: m(s, sc, "p50_us"))
        row("ack latency p99 @ %s (µs)" % title, lambda s, sc=scenario: m(s, sc, "p99_us"))
        row("ack latency max @ %s (µs)" % title, lambda s, sc=scenario: m(s, sc, "max_us"))
    row("sustained acks/s @ max", lambda s: m(s, "max", "acks_per_s"))
    row("ack latency p50 @ max (µs)", lambda s: m(s, "max", "p50_us"))
    row("ack latency p99 @ max (µs)", lambda s: m(s, "max", "p99_us"))
    row("envelopes lost (all runs)", lost, "int")
    row("peak RSS, max run (MB)", lambda s: m(s, "max", "peak_rss_kb"), "MB")
    row("peak RssAnon, max run (MB)", lambda s: m(s, "max", "peak_rss_anon_polled_kb"), "MB")
    row("CPU s @ 1,000/s run", lambda s: m(s, "r1000", "load_cpu_s"))
    row("CPU s @ max run", lambda s: m(s, "max", "load_cpu_s"))
    row("CPU µs / envelope @ max (process)", lambda s: cpu_per_env(s, "max"))
    row("CPU µs / envelope @ max (busiest thread)", lambda s: io_per_env(s, "max"))
    row("commands answered on response_url @ 1,000/s", lambda s: answered(s, "r1000"), "int")
    row("commands answered on response_url @ max", lambda s: answered(s, "max"), "int")
    row("  of which \"too busy\" @ max", lambda s: answered(s, "max", "busy_replies"), "int")
    row("acked \"Working on…\" but not answered in 30 s @ max",
        lambda s: med([max(0, (r.get("working_acks") or 0) - (r.get("answered") or 0))
                       for r in runs.get((s, "max"), [])]) if s.startswith("infra-bot") else None,
        "int")
    row("refused \"too busy\" in the ack itself @ max", lambda s: answered(s, "max", "busy_acks"),
        "int")
    if any(k[1] == "footprint" for k in runs):
        row("footprint: RSS after connect (MB)", lambda s: m(s, "footprint", "idle_rss_kb"), "MB")
        for n in (10000, 50000, 100000):
            row("footprint: RSS after %s envelopes (MB)" % "{:,}".format(n),
                lambda s, n=n: rss_at(s, n), "MB")
        row("footprint: RSS 5 s after the load (MB)",
            lambda s: m(s, "footprint", "after_settle_rss_kb"), "MB")
        row("footprint: RssAnon after connect (MB)",
            lambda s: m(s, "footprint", "idle_rss_anon_kb"), "MB")
        for n in (10000, 50000, 100000):
            row("footprint: RssAnon after %s envelopes (MB)" % "{:,}".format(n),
                lambda s, n=n: rss_at(s, n, "rss_anon_at_kb"), "MB")
        row("footprint: RssAnon 5 s after the load (MB)",
            lambda s: m(s, "footprint", "after_settle_rss_anon_kb"), "MB")
        row("footprint: peak RSS (MB)", lambda s: m(s, "footprint", "peak_rss_kb"), "MB")

    header = ["metric"] + [TITLES.get(s, s) for s in subjects]
    ratio_cols = []
    if "infra-bot" in subjects and "bolt" in subjects:
        ratio_cols.append(("infra-bot/Bolt", "infra-bot", "bolt"))
    if "infra-bot" in subjects and "floor" in subjects:
        ratio_cols.append(("infra-bot/floor", "infra-bot", "floor"))
    header += [c[0] for c in ratio_cols]
    table = [header]
    for metric, values, unit in rows:
        if all(v is None for v in values.values()):
            continue
        line = [metric] + [fmt(values[s], unit) for s in subjects]
        line += [ratio(values[a], values[b]) for _t, a, b in ratio_cols]
        table.append(line)

    print_table(table, markdown)

    # The generator's own floor (harness facts, from every run).
    gen = []
    allr = [r for rs in runs.values() for r in rs]
    gen.append(("steady_clock::now() cost (ns)", med([r.get("gen_now_cost_ns") for r in allr])))
    gen.append(("steady_clock step (ns)", med([r.get("gen_clock_step_ns") for r in allr])))
    r1000 = [r for (s, sc), rs in runs.items() if sc == "r1000" for r in rs]
    gen.append(("pacer lag p50 @ 1,000/s (µs)", med([r.get("pacer_lag_p50_us") for r in r1000])))
    gen.append(("pacer lag p99 @ 1,000/s (µs)", med([r.get("pacer_lag_p99_us") for r in r1000])))
    gen.append(("push() call, mean (ns)", med([r.get("push_call_ns") for r in allr])))
    burst = runs.get(("floor", "burst"), [])
    gen.append(("burst push rate, floor client (envelopes/s)", med([r.get("pushes_per_s") for r in burst])))
    gen.append(("burst acks/s, floor client", med([r.get("acks_per_s") for r in burst])))
    gen.append(("acks/s @ max, floor client (window 256)", m("floor", "max", "acks_per_s")))
    print()
    print_table([["generator floor", "value"]] + [[k, fmt(v)] for k, v in gen if v is not None],
                markdown)

    # Targets of issue 8.
    def val(metric, subject):
        for mt, values, _u in rows:
            if mt == metric:
                return values.get(subject)
        return None

    print()
    checks = []
    p99 = val("ack latency p99 @ 1,000/s (µs)", "infra-bot")
    p99f = val("ack latency p99 @ 1,000/s (µs)", "floor")
    if p99 is not None:
        checks.append(("infra-bot p99 @ 1,000/s ≤ 1 ms", "%.0f µs" % p99, p99 <= 1000))
    if p99 is not None and p99f:
        checks.append(("infra-bot p99 @ 1,000/s ≤ 1.5× floor", "%.2f×" % (p99 / p99f),
                       p99 <= 1.5 * p99f))
    a, b = val("sustained acks/s @ max", "infra-bot"), val("sustained acks/s @ max", "bolt")
    if a and b:
        checks.append(("acks/s @ max ≥ 10× Bolt", "%.2f×" % (a / b), a >= 10 * b))
    a, b = val("idle RSS after connect (MB)", "infra-bot"), val("idle RSS after connect (MB)", "bolt")
    if a and b:
        checks.append(("idle RSS ≤ 1/10 of Bolt", "%.3f" % (a / b), a <= b / 10))
    a, b = val("peak RSS, max run (MB)", "infra-bot"), val("peak RSS, max run (MB)", "bolt")
    if a and b:
        checks.append(("peak RSS ≤ 1/10 of Bolt", "%.3f" % (a / b), a <= b / 10))
    a = val("  of which RssAnon: heap, stacks (MB)", "infra-bot")
    b = val("  of which RssAnon: heap, stacks (MB)", "bolt")
    if a and b:
        checks.append(("(idle RssAnon ≤ 1/10 of Bolt)", "%.3f" % (a / b), a <= b / 10))
    a, b = val("peak RssAnon, max run (MB)", "infra-bot"), val("peak RssAnon, max run (MB)", "bolt")
    if a and b:
        checks.append(("(peak RssAnon ≤ 1/10 of Bolt)", "%.3f" % (a / b), a <= b / 10))
    a, b = val("start → hello (ms)", "infra-bot"), val("start → hello (ms)", "bolt")
    if a and b:
        checks.append(("start → hello ≤ 1/10 of Bolt", "%.3f" % (a / b), a <= b / 10))
    print_table([["target (issue 8)", "measured", "met"]] +
                [[t, v, "yes" if ok else "NO"] for t, v, ok in checks], markdown)
    if bad:
        print()
        for label, error in bad:
            print("run %s: %s" % (label, error))


def print_table(table, markdown):
    widths = [max(len(str(r[i])) for r in table) for i in range(len(table[0]))]
    for i, r in enumerate(table):
        cells = [str(c).ljust(widths[j]) if j == 0 else str(c).rjust(widths[j])
                 for j, c in enumerate(r)]
        if markdown:
            print("| " + " | ".join(cells) + " |")
            if i == 0:
                print("|" + "|".join(("-" * (w + 1) + ":") if j else ("-" * (w + 2))
                                     for j, w in enumerate(widths)) + "|")
        else:
            print("  ".join(cells))
            if i == 0:
                print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
