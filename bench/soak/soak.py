#!/usr/bin/python3
"""Soak test of `infra-bot run` (issue 8, item 6): a bounded run against the fake Slack and the
fake Lambda of tests/fakes/, over real TLS sockets on 127.0.0.1 only.

Run it through bench/soak/soak.sh (which checks the binary and the interpreter), or directly:

  /usr/bin/python3 bench/soak/soak.py [--minutes 14] [--rate 20] [--binary build-micro/app/infra-bot]

Throughout the run:
  - slash commands are pushed at a steady rate (default 20/s) as Socket Mode envelopes, each with
    a fresh envelope_id, trigger_id and response_url, spread round-robin over the live
    connections, with Slack's redelivery of unacked envelopes (redeliver_after_ms 3000,
    max_retries 3: the fake re-sends the same envelope to the lowest live connection);
    the mix: `status dev`, `whitelist list`, `stop|start dev|staging|prod` (stop prod is refused
    by the policy, a second change to a busy environment is refused as busy) and `stop qa` (a
    parse error: unknown environment);
  - every 30 s one connection gets `disconnect` refresh_requested (the fake closes it 10 s later
    if the bot has not closed it by then, as Slack does);
  - every 45 s one connection is dropped (TCP abort, no close frame);
  - the fake Lambda answers after a realistic delay, and 1 answer in 20 (5 %) per function and
    request kind is an error: alternately a function error (200 + X-Amz-Function-Error) and an
    HTTP 500 (a 500 on a mutating call reaches the user as "indeterminate": still an answer);
  - the bot's RSS (VmRSS of /proc/<pid>/status) is sampled every 10 s.

What counts:
  pushed     envelopes the fake sent (first deliveries; redeliveries are counted apart)
  acked      envelopes the fake got an ack for (its "ack" events), within --ack-timeout (10 s)
             of the first push; an envelope never acked in that time is LOST
  answered   an ack whose payload is the "Working on …" message is an accepted command: it is
             answered by a final (non-progress) response_url post; any other ack payload (a
             refusal, busy, a parse error) is the answer itself; an ack without a payload for a
             slash command, or an accepted command without a final post within
             --answer-timeout (30 s), is UNANSWERED. Two final posts for one command are
             DOUBLE answers (App guarantees exactly one).
  RSS        flat = the median of the last 3 samples is at most --rss-growth % (20) above the
             median of the 3 samples around the end of the warm-up: 11 minutes when the run is
             13 minutes or longer (the default 14), else 2 minutes or a third of the run. The
             bot keeps Socket Mode dedupe keys for 10 minutes and routes and acks for the last
             10,000 envelopes, so its RSS rises by design for the first ~10 minutes at 20/s; a
             baseline taken inside that window measures the fill, not a leak.
  log        the bot's log lines of level error/critical are printed (and counted by message)

Exit status: 0 when nothing was lost, unanswered or answered twice, the bot did not die and
exited 0 on SIGTERM, and RSS stayed flat; 1 otherwise; 2 when the run could not start.
Everything the processes printed stays in the run folder (printed at the start) for post-mortem.
"""

import argparse
import collections
import http.client
import itertools
import json
import math
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from harness import (FAKES, PYTHON, Child, Control, free_port, make_tls,  # noqa: E402
                     payload_text, percentile, read_cpu_seconds, read_rss_kb)

APP_TOKEN = "xapp-1-A0FAKE-7001-9f8e7d6cSOAKAPPTOKEN"
BOT_TOKEN = "xoxb-7001-5566778899-SOAKBOTTOKEN"
AWS_KEY = "AKIDSOAK"
AWS_SECRET = "secretSOAKwJalrXUtnFEMI/K7MDENG+bPxRfiCY"
AWS_TOKEN = "sessionSOAKFQoGZXIvYXdzEJr//////////wEaDEXAMPLE+token="
ORCHESTRATOR_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator"
WHITELIST_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:infra-ip-whitelist"
TEAM, CHANNEL, USER, USER_NAME = "T0123ABCD", "C0123ABCD", "U0456EFGH", "alice"
ENVIRONMENTS = ["dev", "staging", "prod"]

# slack::SocketModeSettings::dedupe_window: the bot remembers 2 dedupe keys per envelope this
# long (and routes for the last 10,000 envelopes), so its RSS rises by design for that long.
DEDUPE_WINDOW_S = 600

WORKING_PREFIX = ":hourglass_flowing_sand: Working on `"
PROGRESS_MARK = "Still working on"

# (weight, command text, kind); kind is what the driver expects, for the summary only.
MIX = [(30, "status dev", "read"), (15, "whitelist list", "read"), (5, "stop qa", "parse_error")]
for _env in ENVIRONMENTS:
    MIX.append((25.0 / 3, "stop " + _env, "mutating"))
    MIX.append((25.0 / 3, "start " + _env, "mutating"))


def now():
    return time.monotonic()


def log(message):
    sys.stdout.write("[soak %s] %s\n" % (time.strftime("%H:%M:%S"), message))
    sys.stdout.flush()


# ---- the fake Lambda's script: per request kind, 19 answers ok then 1 error, repeated ---------


def rfc3339(seconds_from_now):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds_from_now))


def ok_json(function, action, env):
    if function == "infra-ip-whitelist":
        return {"ok": True, "environment": env, "entries": [
            {"cidr": "203.0.113.7/32", "description": "Home office", "added_by": "Alice Example",
             "expires_at": rfc3339(7 * 86400)},
            {"cidr": "198.51.100.0/24", "description": "VPN", "added_by": "Bob Builder",
             "expires_at": rfc3339(86400)}]}
    if action == "status":
        return {"ok": True, "environment": env,
                "ecs_services": [
                    {"name": "api", "status": "RUNNING", "desired_count": 2, "running_count": 2},
                    {"name": "worker", "status": "RUNNING", "desired_count": 1,
                     "running_count": 1}],
                "rds_instances": [{"identifier": "docustack-%s-db" % env,
                                   "status": "available"}]}
    verb = "stopped" if action == "stop" else "started"
    return {"ok": True, "action": action, "environment": env,
            "message": "Operation completed successfully.",
            "details": {"ecs_services_" + verb: 2, "rds_instances_" + verb: 1}}


def lambda_script(expected_requests, error_every, rng):
    """expected_requests: {(function, action, env): n}. Returns (answers, errors planned)."""
    answers, fallbacks = [], []
    for (function, action, env), n in expected_requests.items():
        match = {"action": action, "environment": env}
        if action == "status":
            delays = (20, 150)
        elif action in ("stop", "start"):
            delays = (100, 900)
        else:
            delays = (20, 100)
        blocks = int(math.ceil(n / float(error_every))) + 2
        for b in range(blocks):
            answers.append({"function": function, "match": match, "times": error_every - 1,
                            "json": ok_json(function, action, env),
                            "delay_ms": rng.randint(*delays)})
            if b % 2 == 0:
                answers.append({"function": function, "match": match, "times": 1,
                                "function_error": "Unhandled",
                                "json": {"errorMessage": "soak: injected function error",
                                         "errorType": "RuntimeError", "stackTrace": []},
                                "delay_ms": rng.randint(*delays)})
            else:
                answers.append({"function": function, "match": match, "times": 1, "status": 500,
                                "error_type": "ServiceException",
                                "message": "soak: injected HTTP 500",
                                "delay_ms": rng.randint(*delays)})
        fallbacks.append({"function": function, "match": match,
                          "json": ok_json(function, action, env), "delay_ms": delays[0]})
    return answers + fallbacks


# ---- what happened to each command ---------------------------------------------------------


class Command:
    __slots__ = ("n", "envelope_id", "response_id", "text", "kind", "frame", "t_sent",
                 "t_push", "t_ack", "acks", "ack_payload_seen", "answer", "t_answer", "finals",
                 "progress", "redeliveries", "push_attempts")

    def __init__(self, n, envelope_id, response_id, text, kind, frame):
        self.n = n
        self.envelope_id = envelope_id
        self.response_id = response_id
        self.text = text
        self.kind = kind
        self.frame = frame
        self.t_sent = None     # driver clock: the push request succeeded
        self.t_push = None     # fake clock: first push event
        self.t_ack = None      # fake clock: first ack event
        self.acks = 0
        self.ack_payload_seen = None  # "working", "refusal" or None (ack without payload)
        self.answer = None     # classification of the answer, see classify()
        self.t_answer = None   # fake clock
        self.finals = 0        # final response_url posts
        self.progress = 0
        self.redeliveries = 0
        self.push_attempts = 0


ID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\b[0-9]+\b")


def normalise(message, width):
    """A log message with ids and numbers blanked, so that equal messages count together."""
    return ID_PATTERN.sub("#", message)[:width]


def classify_refusal(text):
    if "is already running" in text:
        return "busy"
    if "is protected" in text:
        return "protected"
    if text.startswith(":x:") or "Unknown" in text or "unknown" in text:
        return "parse_error"
    return "other_ack_answer"


class Tracker:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_envelope = {}
        self.by_response = {}
        self.fake_t = 0.0  # the fake's clock, last seen
        self.counts = collections.Counter()
        self.api_calls = collections.Counter()
        self.api_errors = collections.Counter()
        self.ws_events = collections.Counter()
        self.close_reasons = collections.Counter()
        self.live = set()
        self.hellos = 0
        self.marks = set()
        self.lambda_requests = collections.Counter()
        self.lambda_status = collections.Counter()
        self.lambda_unverified = []
        self.bot_levels = collections.Counter()
        self.bot_problems = collections.Counter()  # error/critical by message
        self.bot_problem_lines = []
        self.bot_warnings = collections.Counter()
        self.ack_latencies = []

    def add(self, command):
        with self.lock:
            self.by_envelope[command.envelope_id] = command
            self.by_response[command.response_id] = command

    # -- fake Slack events
    def on_slack(self, label, line):
        if label != "out":
            return
        event = json.loads(line)
        kind = event.get("event")
        with self.lock:
            self.fake_t = max(self.fake_t, float(event.get("t", 0.0)))
            if kind == "push":
                c = self.by_envelope.get(event.get("envelope_id"))
                if c is None:
                    return
                if event.get("retry_attempt"):
                    c.redeliveries += 1
                    self.counts["redeliveries"] += 1
                    if c.t_ack is not None and c.t_ack <= event["t"]:
                        # The fake re-sent an envelope it had an ack for (see the note in
                        # soak.sh on fake_slack.py's redelivery race).
                        self.counts["redeliveries_after_ack"] += 1
                elif c.t_push is None:
                    c.t_push = event["t"]
                    self.counts["pushed"] += 1
            elif kind == "ack":
                self.counts["ack_events"] += 1
                if event.get("duplicate"):
                    self.counts["ack_duplicates"] += 1
                if event.get("over_limit"):
                    self.counts["ack_over_limit"] += 1
                c = self.by_envelope.get(event.get("envelope_id"))
                if c is None:
                    self.counts["ack_unknown_envelope"] += 1
                    return
                c.acks += 1
                if c.t_ack is None:
                    c.t_ack = event["t"]
                    if event.get("latency_ms") is not None:
                        self.ack_latencies.append(float(event["latency_ms"]))
                text = payload_text(event.get("payload"))
                if text:
                    if text.startswith(WORKING_PREFIX):
                        c.ack_payload_seen = "working"
                    elif c.answer is None:
                        c.ack_payload_seen = "refusal"
                        c.answer = classify_refusal(text)
                        c.t_answer = event["t"]
            elif kind == "response_url":
                c = self.by_response.get(event.get("id"))
                if c is None:
                    self.counts["response_url_unknown"] += 1
                    return
                text = payload_text(event.get("body"))
                if event.get("status") != 200:
                    self.counts["response_url_refused"] += 1
                if PROGRESS_MARK in text:
                    c.progress += 1
                    return
                c.finals += 1
                if c.finals == 1:
                    c.t_answer = event["t"]
                    if "failed" in text[:80]:
                        c.answer = "final_failure"
                    else:
                        c.answer = "final_ok"
            elif kind == "api":
                method = event.get("method")
                self.api_calls[method] += 1
                if event.get("error") or event.get("status") != 200:
                    self.api_errors["%s %s %s" % (method, event.get("status"),
                                                  event.get("error"))] += 1
            elif kind == "ws_open":
                self.ws_events["open"] += 1
                self.live = set(event.get("live") or [])
            elif kind == "hello_sent":
                self.hellos += 1
            elif kind == "ws_close":
                self.ws_events["close"] += 1
                self.close_reasons["%s/%s" % (event.get("by"), event.get("code"))] += 1
                self.live.discard(event.get("conn"))
            elif kind == "ws_refused":
                self.ws_events["refused"] += 1
            elif kind == "disconnect_sent":
                self.ws_events["disconnect_sent"] += 1
            elif kind == "mark":
                self.marks.add(event.get("label"))
            elif kind in ("frame",):
                self.counts["unexpected_client_frames"] += 1

    # -- fake Lambda requests
    def on_lambda(self, label, line):
        if label != "out":
            return
        record = json.loads(line)
        payload = record.get("payload") if isinstance(record.get("payload"), dict) else {}
        with self.lock:
            self.lambda_requests["%s %s" % (record.get("function"), payload.get("action"))] += 1
            self.lambda_status[record.get("answer_status")] += 1
            if not record.get("verified"):
                self.lambda_unverified.append(record.get("reason"))

    # -- the bot's log
    def on_bot(self, label, line):
        level, message = None, line
        try:
            record = json.loads(line)
            if isinstance(record, dict):
                level = record.get("level")
                message = str(record.get("msg", line))
        except ValueError:
            for candidate in ("critical", "error", "warning", "warn", "info", "debug"):
                if "[%s]" % candidate in line:
                    level = candidate
                    break
        with self.lock:
            self.bot_levels[level or "unparsed"] += 1
            if level in ("error", "critical", "err"):
                self.bot_problems[normalise(message, 200)] += 1
                if len(self.bot_problem_lines) < 200:
                    self.bot_problem_lines.append(line)
            elif level in ("warn", "warning"):
                self.bot_warnings[normalise(message, 150)] += 1


# ---- the run ---------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description="Soak test of infra-bot run (bounded).")
    parser.add_argument("--minutes", type=float, default=14.0,
                        help="duration (default 14: 10 minutes to fill the bot's bounded "
                             "windows, then 3 to show RSS is flat)")
    parser.add_argument("--rate", type=float, default=20.0, help="commands per second (20)")
    parser.add_argument("--binary", default=os.path.join(ROOT, "build-micro", "app", "infra-bot"))
    parser.add_argument("--refresh-every", type=float, default=30.0,
                        help="seconds between disconnect refresh_requested (30)")
    parser.add_argument("--refresh-close-after", type=float, default=10.0,
                        help="the fake closes a refreshed connection the bot kept this long (10)")
    parser.add_argument("--drop-every", type=float, default=45.0,
                        help="seconds between dropped sockets (45)")
    parser.add_argument("--stall-before-drop", type=float, default=0.0,
                        help="stall the connection this many seconds before dropping it (the "
                             "fake stops reading it and stops pinging; acks the bot writes "
                             "meanwhile wait in the fake's buffer and still count when the "
                             "socket goes); 0 = a plain TCP abort (default)")
    parser.add_argument("--error-every", type=int, default=20,
                        help="1 Lambda answer in N is an error (20 = 5%%)")
    parser.add_argument("--ack-timeout", type=float, default=10.0)
    parser.add_argument("--answer-timeout", type=float, default=30.0)
    parser.add_argument("--rss-growth", type=float, default=20.0, help="max %% growth (20)")
    parser.add_argument("--warmup", type=float, default=None,
                        help="seconds of warm-up before the RSS baseline (660 for runs of 13 "
                             "minutes or more, else 120 or a third of the run)")
    parser.add_argument("--log-level", default="debug", help="LOG_LEVEL of the bot (debug, as "
                        "the integration tests)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--workdir", default=None, help="run folder (default: a new /tmp one)")
    args = parser.parse_args()

    if not (0 < args.minutes <= 120) or not (0 < args.rate <= 500):
        parser.error("--minutes must be in (0, 120] and --rate in (0, 500]")
    if not os.access(args.binary, os.X_OK):
        log("no executable %s: build it first (see soak.sh)" % args.binary)
        return 2
    duration = args.minutes * 60.0
    if args.warmup is not None:
        warmup = args.warmup
    elif duration >= DEDUPE_WINDOW_S + 180:
        warmup = DEDUPE_WINDOW_S + 60.0
    else:
        warmup = min(120.0, duration / 3.0)
    rng = random.Random(args.seed)
    workdir = args.workdir or tempfile.mkdtemp(prefix="infra-bot-soak-")
    os.makedirs(workdir, exist_ok=True)
    log("run folder %s (bot.log, fake_slack.log, fake_lambda.log, rss.csv, summary.json)"
        % workdir)

    ca_file, cert_file, key_file = make_tls(workdir)

    # Expected Lambda requests per kind (with margin: retries, redeliveries never reach it).
    total = args.rate * duration
    weights = sum(w for w, _, _ in MIX)
    expected = collections.Counter()
    for weight, text, kind in MIX:
        words = text.split()
        share = total * weight / weights * 1.5 + 40
        if words[0] == "status":
            expected[("infra-orchestrator", "status", words[1])] += share
        elif words[0] in ("stop", "start") and words[1] in ENVIRONMENTS:
            expected[("infra-orchestrator", words[0], words[1])] += share
        elif words[0] == "whitelist":
            expected[("infra-ip-whitelist", "list", "dev")] += share
    script_path = os.path.join(workdir, "lambda_script.json")
    with open(script_path, "w") as f:
        json.dump({"answers": lambda_script(expected, args.error_every, rng)}, f)

    tracker = Tracker()
    children = []
    fake_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1"}
    status = 2
    try:
        slack = Child("fake_slack",
                      [PYTHON, "-u", os.path.join(FAKES, "fake_slack.py"), "--tls", cert_file,
                       key_file, "--app-token", APP_TOKEN, "--bot-token", BOT_TOKEN,
                       "--server-ping-interval", "10", "--max-connections", "10"],
                      fake_env, tracker.on_slack, os.path.join(workdir, "fake_slack.log"), True)
        children.append(slack)
        lam = Child("fake_lambda",
                    [PYTHON, "-u", os.path.join(FAKES, "fake_lambda.py"), "--tls", cert_file,
                     key_file, "--credentials", "%s:%s:%s" % (AWS_KEY, AWS_SECRET, AWS_TOKEN),
                     "--script", script_path],
                    fake_env, tracker.on_lambda, os.path.join(workdir, "fake_lambda.log"), True)
        children.append(lam)
        slack_port, lambda_port = slack.wait_port(20), lam.wait_port(20)
        if not slack_port or not lambda_port:
            log("a fake did not start (see the run folder)")
            return 2
        base = "https://127.0.0.1:%d" % slack_port
        control = Control(slack_port, ca_file)

        health_port = free_port()
        bot_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": base + "/api/",
            "SSL_CERT_FILE": ca_file,
            "INFRA_BACKEND": "lambda",
            "ORCHESTRATOR_LAMBDA_ARN": ORCHESTRATOR_ARN,
            "IP_WHITELIST_LAMBDA_ARN": WHITELIST_ARN,
            "AWS_ENDPOINT_URL_LAMBDA": "https://127.0.0.1:%d" % lambda_port,
            "AWS_ACCESS_KEY_ID": AWS_KEY,
            "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
            "AWS_SESSION_TOKEN": AWS_TOKEN,
            "AWS_REGION": "eu-west-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
            "AWS_CONFIG_FILE": "/nonexistent/config",
            "INFRA_HEALTH_PORT": str(health_port),
            "INFRA_HEALTH_ADDRESS": "127.0.0.1",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": args.log_level,
            "INFRA_COOLDOWN_SECONDS": "0",
            "INFRA_SOCKET_CONNECTIONS": "2",
            "INFRA_ALLOW_EVERYONE": "true",
            "INFRA_READ_RATE_LIMIT": "0",
        }
        t_start_bot = now()
        bot = Child("infra-bot", [args.binary, "run"], bot_env, tracker.on_bot,
                    os.path.join(workdir, "bot.log"))
        children.append(bot)
        deadline = now() + 15
        while now() < deadline and tracker.hellos < 2 and bot.alive():
            time.sleep(0.02)
        if tracker.hellos < 2:
            log("the bot did not get 2 hellos within 15 s (see %s/bot.log)" % workdir)
            return 2
        log("bot pid %d: 2 connections said hello after %.0f ms; soaking %.1f min at %.0f/s"
            % (bot.proc.pid, (now() - t_start_bot) * 1000, args.minutes, args.rate))

        trigger_base = rng.randint(10 ** 9, 2 * 10 ** 9)
        template = json.load(open(os.path.join(ROOT, "proto-fixtures", "slack",
                                               "slash_command_stop.json")))
        choices = [text for _, text, _ in MIX]
        kinds = {text: kind for _, text, kind in MIX}
        cum_weights = list(itertools.accumulate(w for w, _, _ in MIX))

        def new_command(n):
            text = rng.choices(choices, cum_weights=cum_weights)[0]
            envelope_id = "soak-%d-%06d" % (os.getpid(), n)
            response_id = "r%06d" % n
            frame = json.loads(json.dumps(template))
            frame["envelope_id"] = envelope_id
            payload = frame["payload"]
            payload.update(text=text, response_url=base + "/response/" + response_id,
                           trigger_id="%d.0123456789.soak%06d" % (trigger_base + n, n),
                           user_id=USER, user_name=USER_NAME, channel_id=CHANNEL, team_id=TEAM)
            return Command(n, envelope_id, response_id, text, kinds[text], frame)

        rss = []  # (seconds since start, kB)
        rss_file = open(os.path.join(workdir, "rss.csv"), "w", buffering=1)
        rss_file.write("seconds,vmrss_kb,cpu_seconds\n")
        start = now()
        end = start + duration
        next_push = start
        next_refresh = start + args.refresh_every
        next_drop = start + args.drop_every
        next_rss = start
        next_report = start + 30
        closes = []    # (when, conn) refreshed connections to close if still live
        stalled = []   # (when, conn) paused connections to drop
        repush = collections.deque()  # (when, command): no live connection at push time
        n = 0
        refreshes = drops = refresh_closes = 0
        refresh_turn = drop_turn = 0
        bot_died = None
        push_errors = collections.Counter()

        def push(command):
            command.push_attempts += 1
            answer = control.call("push", {"conn": "spread", "frame": command.frame,
                                           "redeliver_after_ms": 3000, "max_retries": 3})
            if answer.get("ok"):
                command.t_sent = now()
                return True
            push_errors[answer.get("error", "?")] += 1
            return False

        def live_ids():
            state = control.call("state", {})
            return sorted(state.get("live") or [])

        while True:
            t = now()
            if t >= end:
                break
            if not bot.alive():
                bot_died = bot.proc.returncode
                log("infra-bot exited during the soak with status %s" % bot_died)
                break
            if t >= next_push:
                n += 1
                command = new_command(n)
                tracker.add(command)
                if not push(command):
                    repush.append((t + 0.2, command))
                next_push += 1.0 / args.rate
                if t - next_push > 1.0:  # fell behind (a slow control call): do not burst
                    next_push = t
            while repush and repush[0][0] <= t:
                _, command = repush.popleft()
                if not push(command) and command.push_attempts < 50:
                    repush.append((t + 0.2, command))
            if t >= next_refresh:
                live = live_ids()
                if live:
                    conn = live[refresh_turn % len(live)] if len(live) < 2 else (
                        live[0] if refresh_turn % 2 == 0 else live[-1])
                    refresh_turn += 1
                    answer = control.call("disconnect", {"conn": conn,
                                                         "reason": "refresh_requested"})
                    if answer.get("ok"):
                        refreshes += 1
                        closes.append((t + args.refresh_close_after, conn))
                next_refresh += args.refresh_every
            for item in [c for c in closes if c[0] <= t]:
                closes.remove(item)
                if item[1] in live_ids():
                    if control.call("close", {"conn": item[1], "code": 1000}).get("ok"):
                        refresh_closes += 1
            if t >= next_drop:
                live = live_ids()
                if live:
                    conn = live[0] if drop_turn % 2 == 0 else live[-1]
                    drop_turn += 1
                    if args.stall_before_drop > 0:
                        control.call("pause", {"conn": conn, "paused": True})
                        stalled.append((t + args.stall_before_drop, conn))
                    elif control.call("drop", {"conn": conn}).get("ok"):
                        drops += 1
                next_drop += args.drop_every
            for item in [c for c in stalled if c[0] <= t]:
                stalled.remove(item)
                if control.call("drop", {"conn": item[1]}).get("ok"):
                    drops += 1
            if t >= next_rss:
                kb = read_rss_kb(bot.proc.pid)
                cpu = read_cpu_seconds(bot.proc.pid)
                if kb is not None:
                    rss.append((t - start, kb))
                    rss_file.write("%.1f,%d,%s\n" % (t - start, kb,
                                                     "" if cpu is None else "%.2f" % cpu))
                next_rss += 10.0
            if t >= next_report:
                with tracker.lock:
                    acked = sum(1 for c in tracker.by_envelope.values() if c.t_ack is not None)
                    answered = sum(1 for c in tracker.by_envelope.values()
                                   if c.answer is not None)
                    live = sorted(tracker.live)
                log("t=%4.0fs sent %d pushed %d acked %d answered %d | refresh %d drop %d | "
                    "live %s | RSS %s kB" % (t - start, n, tracker.counts["pushed"], acked,
                                             answered, refreshes, drops, live,
                                             rss[-1][1] if rss else "?"))
                next_report += 30
            upcoming = [next_push, next_refresh, next_drop, next_rss, next_report, end]
            upcoming += [c[0] for c in closes + stalled] + [r[0] for r in repush]
            time.sleep(max(0.0, min(0.05, min(upcoming) - now())))

        # ---- let the last commands finish (bounded), then stop the bot --------------------
        t_stop_push = now()
        drain_deadline = t_stop_push + args.answer_timeout
        while now() < drain_deadline and bot.alive():
            with tracker.lock:
                open_ = [c for c in tracker.by_envelope.values()
                         if c.t_sent is not None and (c.t_ack is None or c.answer is None)]
            if not open_:
                break
            time.sleep(0.2)
        time.sleep(1.0)  # a second final reply, if any, shows up
        kb = read_rss_kb(bot.proc.pid)
        if kb is not None:
            rss.append((now() - start, kb))
            rss_file.write("%.1f,%d,\n" % (now() - start, kb))
        cpu_total = read_cpu_seconds(bot.proc.pid)
        metrics_text = ""
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % health_port,
                                        timeout=3) as response:
                metrics_text = response.read().decode()
        except OSError:
            pass
        mark = "end-%d" % os.getpid()
        try:
            control.call("mark", {"label": mark})
        except (OSError, http.client.HTTPException, ValueError):
            pass
        deadline = now() + 5
        while now() < deadline and mark not in tracker.marks:
            time.sleep(0.05)
        bot_alive_at_end = bot.alive()
        bot_exit = bot.stop(signal.SIGTERM, timeout=40.0)
        rss_file.close()

        # ---- the verdict ------------------------------------------------------------------
        with tracker.lock:
            commands = list(tracker.by_envelope.values())
            sent = [c for c in commands if c.t_sent is not None]
            never_pushed = [c for c in commands if c.t_sent is None]
            lost = [c for c in sent if c.t_ack is None or c.t_push is None or
                    c.t_ack - c.t_push > args.ack_timeout]
            late_acks = [c for c in sent if c.t_ack is not None and c.t_push is not None and
                         c.t_ack - c.t_push > 1.0]
            accepted = [c for c in sent if c.ack_payload_seen == "working"]
            acked_empty = [c for c in sent if c.t_ack is not None and
                           c.ack_payload_seen is None]
            unanswered = [c for c in sent if c.t_ack is not None and (
                c.answer is None or c.t_push is None or
                c.t_answer - c.t_push > args.answer_timeout)]
            doubles = [c for c in accepted if c.finals > 1]
            answers = collections.Counter(c.answer for c in sent if c.answer)
            answer_latency = [(c.t_answer - c.t_push) * 1000 for c in accepted
                              if c.answer and c.t_push is not None]
            ack_latency = list(tracker.ack_latencies)
            by_text = collections.Counter(c.text for c in sent)

        rss_kb = [kb for _, kb in rss]
        baseline_samples = [kb for s, kb in rss if abs(s - warmup) <= 15] or rss_kb[:3]
        baseline = statistics.median(baseline_samples) if baseline_samples else None
        final = statistics.median(rss_kb[-3:]) if rss_kb else None
        growth = ((final - baseline) / baseline * 100.0) if baseline and final else None
        after = [(s, kb) for s, kb in rss if s >= warmup]
        slope = None
        if len(after) >= 3:
            mean_s = statistics.mean(s for s, _ in after)
            mean_kb = statistics.mean(kb for _, kb in after)
            den = sum((s - mean_s) ** 2 for s, _ in after)
            if den > 0:
                slope = sum((s - mean_s) * (kb - mean_kb) for s, kb in after) / den * 60.0

        metrics = {}
        for line in metrics_text.splitlines():
            if line.startswith(("infra_reconnects_total", "infra_duplicate_envelopes_total",
                                "infra_envelopes_total", "infra_jobs_total",
                                "infra_lambda_calls_total", "infra_socket_connections")):
                name, _, value = line.rpartition(" ")
                metrics[name] = value

        problems = []
        if lost:
            problems.append("%d lost envelope(s)" % len(lost))
        if unanswered:
            problems.append("%d unanswered command(s)" % len(unanswered))
        if doubles:
            problems.append("%d command(s) answered twice" % len(doubles))
        if never_pushed:
            problems.append("%d command(s) never pushed (no live connection for 10 s)"
                            % len(never_pushed))
        if bot_died is not None or not bot_alive_at_end:
            problems.append("infra-bot died during the run (status %s)" % bot.proc.returncode)
        elif bot_exit != 0:
            problems.append("infra-bot exited %s after SIGTERM (want 0)" % bot_exit)
        if growth is not None and growth > args.rss_growth:
            problems.append("RSS grew %.1f%% after the warm-up (limit %.0f%%)%s"
                            % (growth, args.rss_growth,
                               "; the warm-up ends inside the bot's 10-minute dedupe window, "
                               "whose bounded growth this includes: judge a leak with "
                               "--minutes 14 --warmup 660" if warmup < DEDUPE_WINDOW_S else ""))
        if tracker.lambda_unverified:
            problems.append("%d Lambda request(s) failed the SigV4 check"
                            % len(tracker.lambda_unverified))

        summary = {
            "command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
            "minutes": args.minutes, "rate_per_s": args.rate,
            "commands_sent": len(sent), "never_pushed": len(never_pushed),
            "envelopes_pushed": tracker.counts["pushed"],
            "redeliveries_pushed": tracker.counts["redeliveries"],
            "redeliveries_after_ack": tracker.counts["redeliveries_after_ack"],
            "acked": len(sent) - len([c for c in sent if c.t_ack is None]),
            "ack_events": tracker.counts["ack_events"],
            "ack_events_duplicate": tracker.counts["ack_duplicates"],
            "acked_later_than_1s": len(late_acks),
            "lost": len(lost),
            "accepted": len(accepted),
            "answered": len(sent) - len(unanswered) - len([c for c in sent if c.t_ack is None]),
            "unanswered": len(unanswered), "acked_without_payload": len(acked_empty),
            "double_answers": len(doubles),
            "answers": dict(answers), "mix": dict(by_text),
            "ack_latency_ms": {"p50": percentile(ack_latency, 50),
                               "p99": percentile(ack_latency, 99),
                               "max": max(ack_latency) if ack_latency else None},
            "answer_latency_ms_accepted": {"p50": percentile(answer_latency, 50),
                                           "p99": percentile(answer_latency, 99),
                                           "max": max(answer_latency) if answer_latency
                                           else None},
            "refresh_requested_sent": refreshes, "refreshed_closed_by_fake": refresh_closes,
            "sockets_dropped": drops, "ws": dict(tracker.ws_events),
            "ws_close": dict(tracker.close_reasons), "hellos": tracker.hellos,
            "push_errors": dict(push_errors),
            "lambda_requests": dict(tracker.lambda_requests),
            "lambda_answer_status": {str(k): v for k, v in tracker.lambda_status.items()},
            "lambda_unverified": len(tracker.lambda_unverified),
            "web_api_calls": dict(tracker.api_calls), "web_api_errors": dict(tracker.api_errors),
            "rss_kb": {"first": rss_kb[0] if rss_kb else None, "baseline": baseline,
                       "final": final, "max": max(rss_kb) if rss_kb else None,
                       "growth_pct": growth, "slope_kb_per_min_after_warmup": slope,
                       "warmup_s": warmup, "samples": len(rss_kb)},
            "bot_cpu_seconds": cpu_total,
            "bot_exit_after_sigterm": bot_exit,
            "bot_log_levels": dict(tracker.bot_levels),
            "bot_errors": dict(tracker.bot_problems),
            "bot_warnings_top": dict(tracker.bot_warnings.most_common(12)),
            "metrics": metrics,
            "problems": problems,
            "workdir": workdir,
        }
        with open(os.path.join(workdir, "summary.json"), "w") as f:
            json.dump(summary, f, indent=2, sort_keys=True)

        def show(items, what, limit=10):
            for c in items[:limit]:
                log("  %s: %s %r push=%s ack=%s acks=%d payload=%s answer=%s finals=%d "
                    "redeliveries=%d" % (what, c.envelope_id, c.text, c.t_push, c.t_ack, c.acks,
                                         c.ack_payload_seen, c.answer, c.finals,
                                         c.redeliveries))

        print()
        print("=== soak summary (%s) ===" % summary["command"])
        print("duration            %.1f min at %.0f commands/s" % (args.minutes, args.rate))
        print("envelopes pushed    %d (+ %d redeliveries by the fake, %d of them after the "
              "envelope's ack had arrived)"
              % (summary["envelopes_pushed"], summary["redeliveries_pushed"],
                 tracker.counts["redeliveries_after_ack"]))
        print("acked               %d  (ack events %d, duplicates %d; acked > 1 s after push: %d)"
              % (summary["acked"], summary["ack_events"], summary["ack_events_duplicate"],
                 len(late_acks)))
        print("lost (no ack ≤ %.0f s) %d" % (args.ack_timeout, len(lost)))
        print("answered            %d  (accepted → final response_url post: %d; by the ack: %d)"
              % (summary["answered"], len(accepted), len(sent) - len(accepted)))
        print("answers             %s" % ", ".join("%s %d" % kv for kv in sorted(answers.items())))
        print("unanswered          %d   answered twice %d   acked without payload %d"
              % (len(unanswered), len(doubles), len(acked_empty)))
        print("ack latency (fake)  p50 %.2f ms  p99 %.2f ms  max %.2f ms"
              % (summary["ack_latency_ms"]["p50"], summary["ack_latency_ms"]["p99"],
                 summary["ack_latency_ms"]["max"] or float("nan")))
        print("answer latency      p50 %.0f ms  p99 %.0f ms  max %.0f ms (accepted commands)"
              % (summary["answer_latency_ms_accepted"]["p50"],
                 summary["answer_latency_ms_accepted"]["p99"],
                 summary["answer_latency_ms_accepted"]["max"] or float("nan")))
        print("faults              refresh_requested %d (closed by fake after %.0f s: %d), "
              "drops %d%s; ws opened %d closed %d; hellos %d"
              % (refreshes, args.refresh_close_after, refresh_closes, drops,
                 " (each after a %.1f s stall)" % args.stall_before_drop
                 if args.stall_before_drop > 0 else "",
                 tracker.ws_events["open"], tracker.ws_events["close"], tracker.hellos))
        print("lambda              %s; statuses %s; SigV4 failures %d"
              % (sum(tracker.lambda_requests.values()),
                 dict(sorted(summary["lambda_answer_status"].items())),
                 len(tracker.lambda_unverified)))
        print("web api             %s" % dict(tracker.api_calls))
        if tracker.api_errors:
            print("web api errors      %s" % dict(tracker.api_errors))
        r = summary["rss_kb"]
        print("RSS (VmRSS)         first %s kB, at warm-up (%.0f s) %s kB, final %s kB, max %s kB;"
              " growth %s; slope after warm-up %s kB/min"
              % (r["first"], warmup, r["baseline"], r["final"], r["max"],
                 "%.1f%%" % growth if growth is not None else "?",
                 "%.1f" % slope if slope is not None else "?"))
        print("bot CPU             %s s; exit after SIGTERM %s"
              % ("%.1f" % cpu_total if cpu_total is not None else "?", bot_exit))
        print("bot log levels      %s" % dict(tracker.bot_levels))
        if tracker.bot_problems:
            print("bot errors          %d line(s):" % sum(tracker.bot_problems.values()))
            for message, count in tracker.bot_problems.most_common(10):
                print("    %5d  %s" % (count, message))
        if tracker.bot_warnings:
            print("bot warnings (top)")
            for message, count in tracker.bot_warnings.most_common(8):
                print("    %5d  %s" % (count, message))
        if metrics:
            print("metrics             %s" % ", ".join("%s=%s" % kv for kv in sorted(
                metrics.items()) if "reconnect" in kv[0] or "duplicate" in kv[0]))
        show(lost, "lost")
        show(unanswered, "unanswered")
        show(doubles, "double")
        print("run folder          %s" % workdir)
        if problems:
            print("RESULT: FAIL — " + "; ".join(problems))
            status = 1
        else:
            print("RESULT: PASS — zero lost, zero unanswered, RSS flat")
            status = 0
        return status
    finally:
        for child in reversed(children):
            if child.alive():
                child.stop(signal.SIGTERM, timeout=10.0)


if __name__ == "__main__":
    sys.exit(main())
