#!/usr/bin/python3
"""Discord (issue 17): time from an interaction's dispatch to the bot's initial response, one
`infra-bot run` with only Discord configured, against tests/fakes/fake_discord.py over TLS.

  /usr/bin/python3 bench/discord/bench.py --binary build/app/infra-bot \
      [--interactions 300] [--rate 5] [--workdir DIR]

What runs, all on 127.0.0.1:
  - fake_discord.py (Gateway WSS + REST, a throwaway CA and server certificate made with openssl);
  - `infra-bot run` with DISCORD_BOT_TOKEN, DISCORD_GUILD_ID, DISCORD_API_URL=<the fake>/api/v10,
    SSL_CERT_FILE=<the CA>, INFRA_DISCORD_ALLOWED_ROLES, INFRA_BACKEND=simulated,
    INFRA_COOLDOWN_SECONDS=0, INFRA_READ_RATE_LIMIT=0, INFRA_HEALTH_PORT=<a free port>,
    LOG_FORMAT=json, and no Slack tokens.

Once the Gateway session is up (/_control/gateway: identify >= 1, live non-empty) and the bot has
idled 2 x --idle-seconds (3 s each; its CPU is read over the second), the driver pushes --interactions INTERACTION_CREATEs through /_control/push at --rate a
second (absolute schedule), in turn:
  help     `/infra help` by a member with the allowed role;
  status   `/infra status env:dev`, same member;
  refused  `/infra status env:dev` by a member without the allowed role.
Each is taken by an ephemeral deferral (callback type 5, flags 64: the deferral is the claim,
sent before anything is admitted), then answered by edits of @original: help and the refusal by
one, status by "Working on…" and then the status card.

Times. Every REST request the bot makes is timed by the fake on its own monotonic clock ("time"
in /_control/requests). The fake does not time its dispatches: the "dispatch" line on its stdout
has its "t" (the time) overwritten by the dispatch's type, and /_control/gateway only counts. So a
push's time is the driver's time.monotonic() right before the /_control/push call, mapped onto
the fake's clock: both are CLOCK_MONOTONIC, the fake's times are relative to its start, and the
offset is measured by timing 30 requests of the driver to the fake's REST (which the fake records
with "time"), keeping the one with the shortest round trip (error <= half of it, printed). The
fake dispatches during the push call, so each figure also holds part of that call's round trip
("push call"). Reported, per kind: push -> initial response (the callback), p50/p99/max, and the
same from the push call's return (a lower bound: the dispatch lies between the two); for status:
push -> final answer (the last edit of @original) and callback -> final, per kind.

The bot's CPU: utime+stime from /proc/<pid>/stat from right before the first push to when every
interaction is answered, divided by the interactions (also: its CPU a second while idle).
Memory: VmRSS, RssAnon, RssFile, VmHWM from /proc/<pid>/status, idle after the session is up and
after the run. Nothing is asserted; the summary is printed and written to summary.json in the run
folder (with the fake's and the bot's logs).
"""

import argparse
import http.client
import json
import os
import ssl
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from harness import (FAKES, PYTHON, Child, free_port, make_tls, percentile,  # noqa: E402
                     read_cpu_seconds)

TOKEN = "discord-bot-token-BENCH-0123456789"
GUILD = "100000000000000777"
CHANNEL = "200000000000000001"
APPLICATION = "100000000000000001"  # the fake's default --app-id
OPERATOR_ROLE = "300000000000000001"
GUEST_ROLE = "300000000000000003"
KINDS = ("help", "status", "refused")
EXPECTED_CALLBACK = {"help": 5, "status": 5, "refused": 5}


class Control:
    """fake_discord.py's /_control/ API (and its REST) over one keep-alive HTTPS connection."""

    def __init__(self, port, ca_file):
        self.port = port
        self.context = ssl.create_default_context(cafile=ca_file)
        self.connection = None

    def request(self, method, path, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(2):
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPSConnection(
                        "127.0.0.1", self.port, context=self.context, timeout=15)
                self.connection.request(method, path, body=data, headers=dict(
                    {"Content-Type": "application/json"}, **(headers or {})))
                response = self.connection.getresponse()
                text = response.read().decode()
                try:
                    return response.status, json.loads(text) if text else {}
                except ValueError:
                    return response.status, {"text": text}
            except (OSError, http.client.HTTPException):
                if self.connection is not None:
                    self.connection.close()
                self.connection = None
                if attempt == 1:
                    raise
        return 0, {}

    def call(self, op, body=None):
        return self.request("POST" if body is not None else "GET", "/_control/" + op, body)[1]


def interaction(iid, kind):
    roles = [GUEST_ROLE] if kind == "refused" else [OPERATOR_ROLE]
    if kind == "help":
        options = [{"name": "help", "type": 1, "options": []}]
    else:
        options = [{"name": "status", "type": 1,
                    "options": [{"name": "env", "type": 3, "value": "dev"}]}]
    return {"id": iid, "application_id": APPLICATION, "type": 2, "token": "btok-" + iid,
            "version": 1, "guild_id": GUILD, "channel_id": CHANNEL,
            "member": {"user": {"id": "400000000000000001", "username": "alice",
                                "global_name": "Alice"}, "roles": roles},
            "data": {"id": "900", "name": "infra", "type": 1, "options": options}}


def proc_status(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM", "Threads"):
                    fields = value.split()
                    out[key] = int(fields[0]) if fields else None
    except OSError:
        pass
    mb = {k + "_mb": round(v / 1024.0, 2) for k, v in out.items() if k != "Threads"}
    mb["threads"] = out.get("Threads")
    return mb


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return [float(x) for x in f.read().split()[:3]]
    except OSError:
        return None


def stats_ms(values):
    if not values:
        return None
    return {"n": len(values), "p50": round(percentile(values, 50) * 1000, 3),
            "p99": round(percentile(values, 99) * 1000, 3),
            "max": round(max(values) * 1000, 3), "min": round(min(values) * 1000, 3)}


def calibrate(control, samples=30):
    """The fake's clock minus the driver's: REST requests the fake records with its "time"."""
    marks = []
    for i in range(samples):
        path = "/api/v10/_bench/clock/%d-%d" % (os.getpid(), i)
        t0 = time.monotonic()
        control.request("GET", path, headers={"User-Agent": "DiscordBot (bench, 1)"})
        t1 = time.monotonic()
        marks.append((path, t0, t1))
        time.sleep(0.01)
    seen = {r["path"]: r["time"] for r in control.call("requests").get("requests", [])
            if r.get("path", "").startswith("/api/v10/_bench/clock/")}
    best, rtts = None, sorted(t1 - t0 for _, t0, t1 in marks)
    for path, t0, t1 in marks:
        if path in seen and (best is None or t1 - t0 < best[1]):
            best = (seen[path] - (t0 + t1) / 2.0, t1 - t0, rtts[len(rtts) // 2])
    return best  # (offset, shortest round trip, median round trip) or None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--interactions", type=int, default=300)
    parser.add_argument("--rate", type=float, default=5.0, help="interactions a second")
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    parser.add_argument("--settle-timeout", type=float, default=30.0)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="infra-bot-discord-bench-")
    os.makedirs(workdir, exist_ok=True)
    tls_dir = os.path.join(workdir, "tls")
    os.makedirs(tls_dir, exist_ok=True)
    ca_file, cert_file, key_file = make_tls(tls_dir)
    summary = {"started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "binary": os.path.abspath(args.binary), "interactions": args.interactions,
               "rate": args.rate, "nproc": os.cpu_count(), "loadavg_start": loadavg(),
               "run_folder": workdir}
    fake_events = []

    def on_fake(label, line):
        if label == "out" and line.startswith("{"):
            try:
                fake_events.append(json.loads(line))
            except ValueError:
                pass

    bot_lines = []
    fake = Child("fake_discord", [PYTHON, "-u", os.path.join(FAKES, "fake_discord.py"), "--tls",
                                  cert_file, key_file, "--token", TOKEN, "--guild", GUILD],
                 dict(os.environ), on_fake, os.path.join(workdir, "fake_discord.log"),
                 first_line_port=True)
    bot = None
    try:
        port = fake.wait_port(20)
        if not port:
            print("bench: fake_discord.py did not start (see %s)" % workdir, file=sys.stderr)
            return 2
        control = Control(port, ca_file)
        health_port = free_port()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": workdir,
               "DISCORD_BOT_TOKEN": TOKEN, "DISCORD_GUILD_ID": GUILD,
               "DISCORD_API_URL": "https://127.0.0.1:%d/api/v10" % port,
               "SSL_CERT_FILE": ca_file, "INFRA_DISCORD_ALLOWED_ROLES": OPERATOR_ROLE,
               "INFRA_BACKEND": "simulated", "INFRA_COOLDOWN_SECONDS": "0",
               "INFRA_READ_RATE_LIMIT": "0", "INFRA_HEALTH_PORT": str(health_port),
               "INFRA_HEALTH_ADDRESS": "127.0.0.1", "LOG_FORMAT": "json"}
        summary["bot_env"] = {k: ("<token>" if k == "DISCORD_BOT_TOKEN" else v)
                              for k, v in env.items() if k not in ("PATH", "HOME")}
        t_start = time.monotonic()
        bot = Child("infra-bot", [args.binary, "run"], env,
                    lambda label, line: bot_lines.append((label, line)),
                    os.path.join(workdir, "infra-bot.log"))
        gateway = {}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and bot.alive():
            gateway = control.call("gateway")
            if gateway.get("identify", 0) >= 1 and gateway.get("live"):
                break
            time.sleep(0.05)
        else:
            print("bench: no Gateway session in 20 s (bot %s); see %s"
                  % ("alive" if bot.alive() else "exited %s" % bot.proc.poll(), workdir),
                  file=sys.stderr)
            return 2
        summary["start_to_session_s"] = round(time.monotonic() - t_start, 3)
        pid = bot.proc.pid
        time.sleep(args.idle_seconds)
        cpu_idle0 = read_cpu_seconds(pid)
        time.sleep(args.idle_seconds)
        cpu_idle1 = read_cpu_seconds(pid)
        summary["memory_idle"] = proc_status(pid)
        summary["cpu_idle_ms_per_s"] = round((cpu_idle1 - cpu_idle0) * 1000 / args.idle_seconds, 2)
        cal = calibrate(control)
        if cal is None:
            print("bench: clock calibration failed", file=sys.stderr)
            return 2
        offset, cal_rtt, cal_rtt_p50 = cal
        summary["clock"] = {"fake_minus_driver_s": round(offset, 6),
                            "calibration_rtt_ms": round(cal_rtt * 1000, 3),
                            "calibration_rtt_p50_ms": round(cal_rtt_p50 * 1000, 3),
                            "error_bound_ms": round(cal_rtt * 500, 3)}

        pushes = []  # dicts: id, kind, push (fake clock), call_s, lag_s, delivered
        cpu0 = read_cpu_seconds(pid)
        interval = 1.0 / args.rate
        t0 = time.monotonic() + 0.2
        for i in range(args.interactions):
            kind = KINDS[i % len(KINDS)]
            iid = str(1700000000000000000 + i)
            due = t0 + i * interval
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            body = {"t": "INTERACTION_CREATE", "d": interaction(iid, kind)}
            before = time.monotonic()
            answer = control.call("push", body)
            after = time.monotonic()
            pushes.append({"id": iid, "kind": kind, "push": before + offset,
                           "call_s": after - before, "lag_s": before - due,
                           "delivered": answer.get("delivered")})
        push_end = time.monotonic()

        # Settle: every interaction has its callback, every status an edit of @original, and
        # nothing new for 2 s (a status may be edited more than once); or the deadline.
        by_token = {"btok-" + p["id"]: p for p in pushes}
        deadline = time.monotonic() + args.settle_timeout
        last_count, last_change = -1, time.monotonic()
        requests = []
        while time.monotonic() < deadline:
            requests = control.call("requests").get("requests", [])
            seen_cb, seen_edit = set(), set()
            for r in requests:
                parts = r.get("path", "").split("/")
                token = parts[5] if len(parts) > 5 else ""
                if token in by_token:
                    (seen_cb if parts[3] == "interactions" else seen_edit).add(token)
            done = len(seen_cb) == len(pushes) and all(t in seen_edit for t in by_token)
            if len(requests) != last_count:
                last_count, last_change = len(requests), time.monotonic()
            if done and time.monotonic() - last_change >= 2.0:
                break
            time.sleep(0.25)
        cpu1 = read_cpu_seconds(pid)
        settled_after_s = time.monotonic() - push_end
        summary["memory_after"] = proc_status(pid)
        summary["gateway"] = {k: v for k, v in control.call("gateway").items()
                              if k in ("identify", "resume", "heartbeat", "acks", "opened",
                                       "dispatches", "live", "closes")}
        summary["loadavg_end"] = loadavg()

        # Per interaction: its requests in order (the fake appends them as they arrive).
        per = {p["id"]: [] for p in pushes}
        routes, statuses = {}, {}
        for r in requests:
            route = r.get("route") or (
                "GET /_bench/clock (the driver's calibration)"
                if r.get("path", "").startswith("/api/v10/_bench/clock/") else r.get("path"))
            routes[route] = routes.get(route, 0) + 1
            statuses[str(r.get("status"))] = statuses.get(str(r.get("status")), 0) + 1
            parts = r.get("path", "").split("/")
            token = parts[5] if len(parts) > 5 else ""
            if token in by_token:
                per[by_token[token]["id"]].append(r)
        lat = {k: [] for k in KINDS}
        lat_after = {k: [] for k in KINDS}  # from the push call's return: a lower bound
        final = {k: [] for k in KINDS}
        cb_to_final = {k: [] for k in KINDS}
        wrong, unanswered, edits_per_status = [], [], {}
        for p in pushes:
            rs = per[p["id"]]
            callbacks = [r for r in rs if "/callback" in r["path"]]
            if not callbacks:
                unanswered.append(p["id"])
                continue
            cb = callbacks[0]
            body = cb.get("body") if isinstance(cb.get("body"), dict) else {}
            flags = (body.get("data") or {}).get("flags", 0) if isinstance(
                body.get("data"), dict) else 0
            if body.get("type") != EXPECTED_CALLBACK[p["kind"]] or not (flags or 0) & 64:
                wrong.append({"id": p["id"], "kind": p["kind"], "type": body.get("type"),
                              "flags": flags})
            lat[p["kind"]].append(cb["time"] - p["push"])
            lat_after[p["kind"]].append(cb["time"] - (p["push"] + p["call_s"]))
            edits = [r for r in rs if r["method"] == "PATCH"]
            if p["kind"] == "status":
                edits_per_status[len(edits)] = edits_per_status.get(len(edits), 0) + 1
            if edits:
                final[p["kind"]].append(edits[-1]["time"] - p["push"])
                cb_to_final[p["kind"]].append(edits[-1]["time"] - cb["time"])
            else:
                unanswered.append(p["id"])
        cpu = cpu1 - cpu0
        summary.update({
            "push_to_callback_ms": {k: stats_ms(v) for k, v in lat.items()},
            "push_return_to_callback_ms": {k: stats_ms(v) for k, v in lat_after.items()},
            "push_to_final_ms": {k: stats_ms(v) for k, v in final.items()},
            "callback_to_final_ms": {k: stats_ms(v) for k, v in cb_to_final.items()},
            "status_edits_of_original": {str(k): v for k, v in sorted(edits_per_status.items())},
            "push_call_ms": stats_ms([p["call_s"] for p in pushes]),
            "pacer_lag_ms": stats_ms([p["lag_s"] for p in pushes]),
            "push_seconds": round(push_end - t0, 3),
            "settled_after_s": round(settled_after_s, 3),
            "delivered": {d: sum(1 for p in pushes if p["delivered"] == d)
                          for d in {p["delivered"] for p in pushes}},
            "unanswered": unanswered, "unexpected_callbacks": wrong[:20],
            "unexpected_callback_count": len(wrong),
            "rest_requests_by_route": routes, "rest_status_counts": statuses,
            "bot_cpu_s": round(cpu, 3),
            "bot_cpu_us_per_interaction": round(cpu * 1e6 / max(1, len(pushes)), 1),
            "clk_tck": os.sysconf("SC_CLK_TCK"),
            "bot_log_lines": len(bot_lines),
            "bot_error_lines": sum(1 for _, l in bot_lines if '"level":"error"' in l),
        })
    finally:
        if bot is not None:
            summary["bot_exit"] = bot.stop()
        fake.stop()
        with open(os.path.join(workdir, "summary.json"), "w") as f:
            json.dump(summary, f, indent=2, sort_keys=True)
    print_summary(summary)
    return 0


def print_summary(s):
    def row(label, st):
        if not st:
            print("  %-38s -" % label)
            return
        print("  %-38s %9.2f %9.2f %9.2f  (n=%d)" % (label, st["p50"], st["p99"], st["max"],
                                                     st["n"]))

    print()
    print("=== Discord bench: %d interactions at %.1f/s (help, status dev, refused in turn) ==="
          % (s["interactions"], s["rate"]))
    print("  load average start %s, end %s; %s CPUs" % (s.get("loadavg_start"),
                                                       s.get("loadavg_end"), s.get("nproc")))
    clock = s.get("clock") or {}
    print("  clock offset fake-driver %.6f s (calibration round trip %.3f ms; a plain REST"
          " request to the fake: %.3f ms p50)"
          % (clock.get("fake_minus_driver_s", float("nan")),
             clock.get("calibration_rtt_ms", float("nan")),
             clock.get("calibration_rtt_p50_ms", float("nan"))))
    print("  %-38s %9s %9s %9s" % ("ms", "p50", "p99", "max"))
    for kind in KINDS:
        row("push -> callback, %s" % kind, (s.get("push_to_callback_ms") or {}).get(kind))
    for kind in KINDS:
        row("push call return -> callback, %s" % kind,
            (s.get("push_return_to_callback_ms") or {}).get(kind))
    for kind in KINDS:
        row("push -> final edit, %s" % kind, (s.get("push_to_final_ms") or {}).get(kind))
    for kind in KINDS:
        row("callback -> final edit, %s" % kind, (s.get("callback_to_final_ms") or {}).get(kind))
    row("push call (driver round trip)", s.get("push_call_ms"))
    row("pacer lag", s.get("pacer_lag_ms"))
    print("  unanswered %d, unexpected callbacks %d, REST statuses %s, edits per status %s"
          % (len(s.get("unanswered", [])), s.get("unexpected_callback_count", 0),
             s.get("rest_status_counts"), s.get("status_edits_of_original")))
    print("  bot CPU %.2f s over the run: %.0f us per interaction (idle: %.2f ms/s)"
          % (s.get("bot_cpu_s", float("nan")), s.get("bot_cpu_us_per_interaction", float("nan")),
             s.get("cpu_idle_ms_per_s", float("nan"))))
    for label, key in (("idle after session", "memory_idle"), ("after the run", "memory_after")):
        m = s.get(key) or {}
        print("  memory %-19s VmRSS %s MB, RssAnon %s MB, RssFile %s MB, VmHWM %s MB, threads %s"
              % (label, m.get("VmRSS_mb"), m.get("RssAnon_mb"), m.get("RssFile_mb"),
                 m.get("VmHWM_mb"), m.get("threads")))
    print("  start -> Gateway session %s s; bot exit %s; run folder %s"
          % (s.get("start_to_session_s"), s.get("bot_exit"), s.get("run_folder")))


if __name__ == "__main__":
    sys.exit(main())
