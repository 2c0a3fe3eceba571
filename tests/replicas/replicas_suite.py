#!/usr/bin/python3
"""Several `infra-bot run` replicas serving one Slack app (issue 18): the integration suite.

  /usr/bin/python3 tests/replicas/replicas_suite.py --binary build/app/infra-bot \
      [--state memory|dynamodb] [--replicas 1..3] [--commands 5000] [--rate 60] \
      [--dynalite-node-modules DIR] [--faults auto|none|kill,sigterm,dynamo] [--seed 18]

What runs, all on 127.0.0.1:
  - one fake Slack (tests/fakes/fake_slack.py, TLS): every envelope is pushed "spread" — round
    robin over every live connection of every replica — with Slack's redelivery of an unacked
    envelope every --redeliver-after-ms to a connection other than the last one it went to
    (redeliver_to "other");
  - one fake Lambda (tests/fakes/fake_lambda.py --timeline): the orchestrator and the whitelist
    functions; reads answer in 20-100 ms, changes in 0.3-1.5 s and one in four in 3-6 s, so jobs
    overlap and faults land mid-job. Each replica signs with its own access key id, so every
    invocation names the replica that made it;
  - with --state dynamodb: dynalite (tests/fakes/dynalite_server.py --node-modules DIR) behind
    the fault proxy (tests/fakes/dynamodb_fault_proxy.py); every replica gets
    INFRA_STATE_TABLE, AWS_ENDPOINT_URL_DYNAMODB=<proxy> and INFRA_STATE_CREATE_TABLE=true;
  - N replicas (`--binary run`), 2 Socket Mode connections each.

The driver pushes --commands slash commands at --rate per second from --users distinct users
(cooldown --cooldown s, read limit --read-limit a minute): reads (`status dev|staging`,
`whitelist list`), changes (`stop|start dev|staging`, `whitelist add 203.0.113.N/32 --env=dev|
staging`), refused ones (`stop prod`, `start prod`) and parse errors. --slash-retries of them (3 %)
are pushed a second time with a new envelope id and the same payload (same trigger_id): Slack's
retry of one slash command, which is still ONE command.

Faults (--faults; "auto" = kill,sigterm,dynamo with --state dynamodb, sigterm with memory):
  kill     twice (at 30 % and 50 % of the pushes): kill -9 of the replica whose mutating Lambda
           invocation is in flight with at least 1.5 s left (it holds that job's lock), then a new
           replica in its slot 2 s later, as ECS would start one;
  sigterm  once (at 10 %, before the kills): SIGTERM of a replica with a change in flight (it drains: the job
           finishes and is answered), a new replica in its slot once it has exited;
  dynamo   bursts of 3 s every 12 s through the proxy: latency, 500s, throttling, dropped
           connections (in turn).

Checks (exit 1 when one fails, 2 when the run could not start):
  - nothing lost: every envelope pushed is acked by some replica (redeliveries included);
  - every command answered exactly once: by its ack (a refusal, busy, a parse error: any payload
    but "Working on …"), or — ack "Working on …" — by exactly one final response_url post (a
    "Still working on" progress post is not one), or by a survivor's report ("The bot restarted
    while `<command>` ran") when the replica running it was killed (reads too: a `status` killed
    mid-call is counted apart as killed_reads_unanswered, and fails the run); the envelopes of one command
    never carry two different ack payloads; a report only for a job whose replica was killed
    (one of its Lambda calls made by a replica killed after the call began and before the job's
    final: the call may already have been answered, the job's last state writes not).
    One double answer is counted apart, not failed, and only on evidence: the replica that ran
    the job posted its final and was killed within 5 s, before it removed the job's record (one
    state call); a survivor then reports the job too (killed_after_answering). Posting and
    removing are two effects no process can make one; the design answers twice rather than
    never;
  - zero duplicate changes: at most one mutating Lambda invocation per command (an invocation is
    tied to its command by requested_by.channel_id, unique per command; the Lambda's request_id
    is made by each replica and cannot tell a duplicate, and user_name is looked up);
  - never two mutating invocations in flight at once on one environment's services or one
    allow-list (from the fake Lambda's request line to its "answering" line);
  - no replica died unless killed on purpose; SIGTERM ends a replica with status 0; every Lambda
    request passed the SigV4 check.

Nothing here asserts wall-clock performance; the summary prints latencies for information, and
summary.json in the run folder keeps everything (bench/replicas/bench.py reads it).
"""

import argparse
import collections
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from harness import (FAKES, PYTHON, Child, Control, free_port, make_tls,  # noqa: E402
                     payload_text, percentile, read_cpu_seconds)

APP_TOKEN = "xapp-1-A0FAKE-7001-9f8e7d6cREPLICASAPP"
BOT_TOKEN = "xoxb-7001-5566778899-REPLICASBOT"
AWS_SECRET = "secretREPLICASwJalrXUtnFEMI/K7MDENG+bPxRfiCY"
ORCHESTRATOR_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator"
WHITELIST_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:infra-ip-whitelist"
TEAM = "T0123ABCD"
WORKING_MARK = "Working on `"
STATE_DOWN_MARK = "cannot reach its shared state"
PROGRESS_MARK = "Still working on"
REPORT_MARK = "The bot restarted while"
RESTART_MARK = "infra-bot is restarting"

# (weight, template, kind): {n} is replaced by a host number; kind is what the driver expects.
MIX = [
    (26, "status dev", "read"), (6, "status staging", "read"), (10, "whitelist list", "read"),
    (8, "stop dev", "mutating"), (8, "start dev", "mutating"),
    (8, "stop staging", "mutating"), (8, "start staging", "mutating"),
    (6, "whitelist add 203.0.113.{n}/32 --env=dev", "mutating"),
    (6, "whitelist add 203.0.113.{n}/32 --env=staging", "mutating"),
    (5, "stop prod", "refused"), (2, "start prod", "refused"),
    (4, "stop qa", "parse_error"), (3, "frobnicate dev", "parse_error"),
]
MUTATING_ACTIONS = {("infra-orchestrator", "stop"), ("infra-orchestrator", "start"),
                    ("infra-orchestrator", "teardown"), ("infra-orchestrator", "spinup"),
                    ("infra-orchestrator", "reboot"), ("infra-ip-whitelist", "add"),
                    ("infra-ip-whitelist", "remove"), ("infra-ip-whitelist", "refresh")}


def now():
    return time.monotonic()


def log(message):
    sys.stdout.write("[replicas %s] %s\n" % (time.strftime("%H:%M:%S"), message))
    sys.stdout.flush()


def channel_of(n):
    """Each command comes from its own channel: requested_by.channel_id ties a Lambda invocation
    to its command (the request_id is per replica, the user name is looked up)."""
    return "C9%07d" % n


def access_key(slot):
    return "AKIDREPLICA%d" % slot


def lock_of(function, env):
    return "%s/%s" % (env, "allow-list" if function == "infra-ip-whitelist" else "services")


# ---- the fake Lambda's script ----------------------------------------------------------------


def rfc3339(seconds_from_now):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds_from_now))


def lambda_script(rng, per_kind):
    answers = []
    for env in ("dev", "staging", "prod"):
        answers.append({"function": "infra-orchestrator", "match": {"action": "status",
                                                                    "environment": env},
                        "delay_ms": 40, "json": {
                            "ok": True, "environment": env, "ecs_services": [
                                {"name": "api", "status": "RUNNING", "desired_count": 2,
                                 "running_count": 2}],
                            "rds_instances": [{"identifier": "docustack-%s-db" % env,
                                               "status": "available"}]}})
        answers.append({"function": "infra-ip-whitelist", "match": {"action": "list",
                                                                    "environment": env},
                        "delay_ms": 40, "json": {"ok": True, "environment": env, "entries": [
                            {"cidr": "203.0.113.7/32", "description": "Home office",
                             "added_by": "Alice Example", "expires_at": rfc3339(86400)}]}})
    changes = []
    for env in ("dev", "staging"):
        for action in ("stop", "start"):
            verb = "stopped" if action == "stop" else "started"
            changes.append(("infra-orchestrator", action, env, {
                "ok": True, "action": action, "environment": env,
                "message": "Operation completed successfully.",
                "details": {"ecs_services_" + verb: 2, "rds_instances_" + verb: 1}}))
        changes.append(("infra-ip-whitelist", "add", env,
                        {"ok": True, "environment": env, "replaced": False,
                         "expires_at": rfc3339(7 * 86400)}))
    for function, action, env, body in changes:
        match = {"action": action, "environment": env}
        for _ in range(per_kind):
            delay = rng.randint(3000, 6000) if rng.random() < 0.25 else rng.randint(300, 1500)
            answers.append({"function": function, "match": match, "times": 1, "json": body,
                            "delay_ms": delay})
        answers.append({"function": function, "match": match, "json": body, "delay_ms": 800})
    return answers


# ---- what happened ----------------------------------------------------------------------------


class Command:
    def __init__(self, n, text, kind, user, frame, response_id):
        self.n = n
        self.text = text
        self.kind = kind
        self.user = user
        self.frame = frame
        self.response_id = response_id
        self.envelopes = []          # envelope ids (a slash retry adds one)
        self.acked = set()           # envelope ids acked
        self.ack_payloads = {}       # envelope id -> set of payload texts ("" = none)
        self.t_first_push = None     # fake clock
        self.t_first_ack = None
        self.ack_latency_ms = None
        self.t_sent = None           # driver clock
        self.t_working_ack = None    # driver clock of the "Working on" ack
        self.finals = []             # (driver time, text) of final response_url posts
        self.reports = []            # (driver time, text) survivor reports
        self.progress = 0
        self.invocations = []        # fake Lambda seq of mutating invocations
        self.read_invocations = []   # and of reads
        self.redeliveries = 0
        self.push_attempts = 0


class Tracker:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_envelope = {}
        self.by_response = {}
        self.by_channel = {}
        self.counts = collections.Counter()
        self.hellos = 0
        self.marks = set()
        self.live = set()
        # fake Lambda
        self.invocations = {}        # seq -> dict
        self.in_flight = {}          # seq -> dict (mutating, not yet answering)
        self.any_in_flight = {}      # seq -> {"slot", "t_start"}: reads and changes
        self.reads = {}              # seq -> {"slot", "t_start"} of every read
        self.in_flight_by_lock = collections.defaultdict(set)
        self.violations = []         # (lock, seq new, [seqs in flight])
        self.max_concurrency = collections.Counter()
        self.unattributed = []
        self.unverified = []
        self.lambda_by_replica = collections.Counter()
        self.lambda_requests = collections.Counter()
        self.bot_errors = collections.Counter()

    def add(self, command):
        with self.lock:
            for envelope in command.envelopes:
                self.by_envelope[envelope] = command
            self.by_response[command.response_id] = command
            self.by_channel[command.frame["payload"]["channel_id"]] = command

    def add_envelope(self, command, envelope):
        with self.lock:
            command.envelopes.append(envelope)
            self.by_envelope[envelope] = command

    def on_slack(self, label, line):
        if label != "out":
            return
        event = json.loads(line)
        kind = event.get("event")
        t = now()
        with self.lock:
            if kind == "push":
                c = self.by_envelope.get(event.get("envelope_id"))
                if c is None:
                    return
                if event.get("retry_attempt"):
                    c.redeliveries += 1
                    self.counts["redeliveries"] += 1
                else:
                    self.counts["pushed"] += 1
                    if c.t_first_push is None:
                        c.t_first_push = event["t"]
            elif kind == "ack":
                self.counts["ack_events"] += 1
                envelope = event.get("envelope_id")
                c = self.by_envelope.get(envelope)
                if c is None:
                    self.counts["ack_unknown_envelope"] += 1
                    return
                if event.get("duplicate"):
                    self.counts["ack_duplicate_events"] += 1
                c.acked.add(envelope)
                text = payload_text(event.get("payload"))
                c.ack_payloads.setdefault(envelope, set()).add(text)
                if c.t_first_ack is None:
                    c.t_first_ack = event["t"]
                    c.ack_latency_ms = event.get("latency_ms")
                if WORKING_MARK in text[:80] and c.t_working_ack is None:
                    c.t_working_ack = t
            elif kind == "response_url":
                c = self.by_response.get(event.get("id"))
                if c is None:
                    self.counts["response_url_unknown"] += 1
                    return
                text = payload_text(event.get("body"))
                if event.get("status") != 200:
                    self.counts["response_url_refused"] += 1
                if PROGRESS_MARK in text[:120]:
                    c.progress += 1
                elif REPORT_MARK in text[:120]:
                    c.reports.append((t, text))
                else:
                    c.finals.append((t, text))
            elif kind == "hello_sent":
                self.hellos += 1
            elif kind == "ws_open":
                self.live = set(event.get("live") or [])
                self.counts["ws_open"] += 1
            elif kind == "ws_close":
                self.live.discard(event.get("conn"))
                self.counts["ws_close"] += 1
            elif kind == "mark":
                self.marks.add(event.get("label"))
            elif kind == "frame":
                self.counts["unexpected_client_frames"] += 1

    def on_lambda(self, label, line):
        if label != "out":
            return
        record = json.loads(line)
        t = now()
        with self.lock:
            if record.get("event") == "answering":
                self.any_in_flight.pop(record.get("seq"), None)
                done = self.in_flight.pop(record.get("seq"), None)
                if done is not None:
                    done["t_end"] = t
                    self.in_flight_by_lock[done["lock"]].discard(done["seq"])
                return
            payload = record.get("payload") if isinstance(record.get("payload"), dict) else {}
            function, action = record.get("function"), payload.get("action")
            self.lambda_requests["%s %s" % (function, action)] += 1
            if not record.get("verified"):
                self.unverified.append(record.get("reason"))
            key = record.get("access_key") or ""
            slot = int(key[len("AKIDREPLICA"):]) if key.startswith("AKIDREPLICA") else None
            self.lambda_by_replica[slot] += 1
            who = payload.get("requested_by") if isinstance(payload.get("requested_by"),
                                                            dict) else {}
            if (function, action) not in MUTATING_ACTIONS:
                # A read: in flight until answered too (a kill -9 can land on it).
                c = self.by_channel.get(who.get("channel_id"))
                if c is not None:
                    c.read_invocations.append(record.get("seq"))
                    self.any_in_flight[record.get("seq")] = {"slot": slot, "t_start": t}
                    self.reads[record.get("seq")] = {"slot": slot, "t_start": t}
                return
            env = payload.get("environment")
            inv = {"seq": record.get("seq"), "function": function, "action": action, "env": env,
                   "lock": lock_of(function, env), "slot": slot, "t_start": t,
                   "delay_ms": record.get("delay_ms") or 0, "t_end": None,
                   "channel_id": who.get("channel_id")}
            self.invocations[inv["seq"]] = inv
            c = self.by_channel.get(who.get("channel_id"))
            if c is None:
                self.unattributed.append(inv)
            else:
                c.invocations.append(inv["seq"])
                inv["command"] = c.n
            busy = self.in_flight_by_lock[inv["lock"]]
            if busy:
                self.violations.append((inv["lock"], inv["seq"], sorted(busy)))
            busy.add(inv["seq"])
            self.max_concurrency[inv["lock"]] = max(self.max_concurrency[inv["lock"]], len(busy))
            self.in_flight[inv["seq"]] = inv
            self.any_in_flight[inv["seq"]] = inv

    def on_bot(self, label, line):
        try:
            record = json.loads(line)
        except ValueError:
            return
        if isinstance(record, dict) and record.get("level") in ("error", "critical"):
            with self.lock:
                self.bot_errors[str(record.get("msg", ""))[:160]] += 1


# ---- the replicas -----------------------------------------------------------------------------


class Replicas:
    def __init__(self, args, workdir, base_env, tracker):
        self.args = args
        self.workdir = workdir
        self.base_env = base_env
        self.tracker = tracker
        self.slots = {}           # slot -> Child
        self.generation = collections.Counter()
        self.health_ports = {}
        self.retired = []         # (slot, Child, how: "kill"|"sigterm", t)
        self.unexpected_deaths = []
        self.sigterm_exits = []

    def start(self, slot):
        self.generation[slot] += 1
        port = free_port()
        env = dict(self.base_env, AWS_ACCESS_KEY_ID=access_key(slot),
                   INFRA_HEALTH_PORT=str(port))
        child = Child("replica%d" % slot, [self.args.binary, "run"], env, self.tracker.on_bot,
                      os.path.join(self.workdir, "bot-%d-%d.log" % (slot, self.generation[slot])))
        child.t_started = now()
        self.slots[slot] = child
        self.health_ports[slot] = port
        return child

    def check_alive(self):
        for slot, child in list(self.slots.items()):
            if not child.alive() and not getattr(child, "retiring", False):
                self.unexpected_deaths.append((slot, child.proc.returncode))
                log("replica %d (pid %d) died with status %s; starting another"
                    % (slot, child.proc.pid, child.proc.returncode))
                child.retiring = True
                self.retired.append((slot, child, "died", now()))
                self.start(slot)

    def kill(self, slot):
        child = self.slots[slot]
        child.retiring = True
        child.proc.send_signal(signal.SIGKILL)
        child.proc.wait(10)
        self.retired.append((slot, child, "kill", now()))
        log("kill -9 replica %d (pid %d)" % (slot, child.proc.pid))

    def sigterm(self, slot):
        """SIGTERM, then (in a thread) wait for the exit and start a new replica in the slot."""
        child = self.slots[slot]
        child.retiring = True
        child.proc.send_signal(signal.SIGTERM)
        self.retired.append((slot, child, "sigterm", now()))
        log("SIGTERM replica %d (pid %d)" % (slot, child.proc.pid))

        def wait_and_restart():
            try:
                status = child.proc.wait(60)
            except Exception:
                child.proc.kill()
                status = "timeout"
            self.sigterm_exits.append((slot, status))
            log("replica %d exited %s after SIGTERM; starting another" % (slot, status))
            self.pending_restarts.append(slot)

        threading.Thread(target=wait_and_restart, daemon=True).start()

    pending_restarts = None

    def stop_all(self):
        statuses = {}
        for slot, child in self.slots.items():
            if child.alive():
                statuses[slot] = child.stop(signal.SIGTERM, timeout=40.0)
        for _, child, _, _ in self.retired:
            if child.alive():
                child.stop(signal.SIGKILL, timeout=5.0)
            else:
                try:
                    child.stop(signal.SIGKILL, timeout=1.0)
                except Exception:
                    pass
        return statuses


# ---- DynamoDB (dynalite behind the fault proxy) ---------------------------------------------


def start_dynamodb(args, workdir, fake_env, children):
    """(proxy endpoint, proxy control URL), or None when one of them did not start."""
    if not args.dynalite_node_modules or not os.path.isdir(args.dynalite_node_modules):
        log("--state dynamodb needs --dynalite-node-modules DIR (a folder with dynalite "
            "installed; dev.sh installs it into <build>/state-tests/node_modules): %r"
            % args.dynalite_node_modules)
        return None
    for script in ("dynalite_server.py", "dynamodb_fault_proxy.py"):
        if not os.path.exists(os.path.join(FAKES, script)):
            log("missing tests/fakes/%s" % script)
            return None
    dyn = Child("dynalite", [PYTHON, "-u", os.path.join(FAKES, "dynalite_server.py"),
                             "--node-modules", args.dynalite_node_modules],
                fake_env, lambda label, line: None, os.path.join(workdir, "dynalite.log"),
                first_line_json=True, stdin_pipe=True)
    children.append(dyn)
    first = dyn.wait_first(60) or {}
    if not first.get("endpoint"):
        log("dynalite did not start: %r (see dynalite.log)" % first)
        return None
    proxy = Child("dynamodb_proxy", [PYTHON, "-u", os.path.join(FAKES, "dynamodb_fault_proxy.py"),
                                     "--upstream", first["endpoint"]],
                  fake_env, lambda label, line: None, os.path.join(workdir, "dynamodb_proxy.log"),
                  first_line_json=True, stdin_pipe=True)
    children.append(proxy)
    first_proxy = proxy.wait_first(30) or {}
    if not first_proxy.get("endpoint") or not first_proxy.get("control"):
        log("the DynamoDB fault proxy did not start: %r" % first_proxy)
        return None
    return first_proxy["endpoint"], first_proxy["control"]


def proxy_call(control_url, body=None):
    """POST body to the proxy's control URL (GET when body is None); the JSON answer or {}."""
    try:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(control_url, data=data, method="GET" if data is None
                                         else "POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read().decode() or "{}")
    except (OSError, ValueError) as error:
        log("proxy control: %r" % (error,))
        return {}


CALM = {"latency_ms": 0, "error_500_rate": 0.0, "throttle_rate": 0.0, "drop_rate": 0.0}
BURSTS = [dict(CALM, latency_ms=250), dict(CALM, error_500_rate=0.3),
          dict(CALM, throttle_rate=0.3), dict(CALM, drop_rate=0.1)]


# ---- the run ----------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--state", choices=("memory", "dynamodb"), default="memory")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--commands", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=60.0, help="commands per second (60)")
    parser.add_argument("--users", type=int, default=300, help="distinct users (300)")
    parser.add_argument("--cooldown", type=int, default=2, help="INFRA_COOLDOWN_SECONDS (2)")
    parser.add_argument("--read-limit", type=int, default=10, help="INFRA_READ_RATE_LIMIT (10)")
    parser.add_argument("--slash-retries", type=float, default=0.03,
                        help="share of commands pushed twice, new envelope id (0.03)")
    parser.add_argument("--dynalite-node-modules", default=None)
    parser.add_argument("--faults", default="auto",
                        help="auto, none, or a comma list of kill, sigterm, dynamo")
    parser.add_argument("--redeliver-after-ms", type=int, default=3000)
    parser.add_argument("--max-retries", type=int, default=15,
                        help="redeliveries of an unacked envelope (15)")
    parser.add_argument("--answer-timeout", type=float, default=40.0,
                        help="seconds after the pushes end to wait for answers (40)")
    parser.add_argument("--orphan-timeout", type=float, default=110.0,
                        help="seconds after a kill -9 for the survivor's reports (110: the "
                             "60 s lease plus the sweep)")
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--summary-json", default=None, help="also write the summary here")
    args = parser.parse_args(argv)
    if not 1 <= args.replicas <= 3:
        parser.error("--replicas must be 1, 2 or 3")
    if args.commands < 1 or not 0 < args.rate <= 1000:
        parser.error("--commands must be positive and --rate in (0, 1000]")
    if args.faults == "auto":
        faults = {"kill", "sigterm", "dynamo"} if args.state == "dynamodb" else {"sigterm"}
    elif args.faults == "none":
        faults = set()
    else:
        faults = set(f.strip() for f in args.faults.split(",") if f.strip())
        unknown = faults - {"kill", "sigterm", "dynamo"}
        if unknown:
            parser.error("unknown fault(s): %s" % ", ".join(sorted(unknown)))
    if "dynamo" in faults and args.state != "dynamodb":
        parser.error("the dynamo fault needs --state dynamodb")
    args.fault_set = faults
    return args


def main(argv=None):
    args = parse_args(argv)
    if not os.access(args.binary, os.X_OK):
        log("no executable %s" % args.binary)
        return 2
    rng = random.Random(args.seed)
    workdir = args.workdir or tempfile.mkdtemp(prefix="infra-bot-replicas-")
    os.makedirs(workdir, exist_ok=True)
    log("run folder %s; state %s, %d replica(s), %d commands at %.0f/s, faults %s"
        % (workdir, args.state, args.replicas, args.commands, args.rate,
           ",".join(sorted(args.fault_set)) or "none"))
    ca_file, cert_file, key_file = make_tls(workdir)
    script_path = os.path.join(workdir, "lambda_script.json")
    with open(script_path, "w") as f:
        json.dump({"answers": lambda_script(rng, max(50, args.commands // 10))}, f)

    tracker = Tracker()
    children = []
    replicas = None
    fake_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        slack = Child("fake_slack",
                      [PYTHON, "-u", os.path.join(FAKES, "fake_slack.py"), "--tls", cert_file,
                       key_file, "--app-token", APP_TOKEN, "--bot-token", BOT_TOKEN,
                       "--server-ping-interval", "10", "--max-connections", "10"],
                      fake_env, tracker.on_slack, os.path.join(workdir, "fake_slack.log"), True)
        children.append(slack)
        credentials = []
        for slot in range(1, args.replicas + 1):
            credentials += ["--credentials", "%s:%s" % (access_key(slot), AWS_SECRET)]
        lam = Child("fake_lambda",
                    [PYTHON, "-u", os.path.join(FAKES, "fake_lambda.py"), "--tls", cert_file,
                     key_file, "--script", script_path, "--timeline"] + credentials,
                    fake_env, tracker.on_lambda, os.path.join(workdir, "fake_lambda.log"), True)
        children.append(lam)
        slack_port, lambda_port = slack.wait_port(20), lam.wait_port(20)
        if not slack_port or not lambda_port:
            log("a fake did not start (see the run folder)")
            return 2
        base = "https://127.0.0.1:%d" % slack_port
        control = Control(slack_port, ca_file)
        proxy_control = None
        base_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": base + "/api/", "SSL_CERT_FILE": ca_file,
            "INFRA_BACKEND": "lambda", "ORCHESTRATOR_LAMBDA_ARN": ORCHESTRATOR_ARN,
            "IP_WHITELIST_LAMBDA_ARN": WHITELIST_ARN,
            "AWS_ENDPOINT_URL_LAMBDA": "https://127.0.0.1:%d" % lambda_port,
            "AWS_SECRET_ACCESS_KEY": AWS_SECRET, "AWS_REGION": "eu-west-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
            "AWS_CONFIG_FILE": "/nonexistent/config",
            "INFRA_HEALTH_ADDRESS": "127.0.0.1", "LOG_FORMAT": "json",
            "LOG_LEVEL": args.log_level, "INFRA_COOLDOWN_SECONDS": str(args.cooldown),
            "INFRA_SOCKET_CONNECTIONS": "2", "INFRA_ALLOW_EVERYONE": "true",
            "INFRA_READ_RATE_LIMIT": str(args.read_limit),
        }
        if args.state == "dynamodb":
            started = start_dynamodb(args, workdir, fake_env, children)
            if started is None:
                return 2
            endpoint, proxy_control = started
            base_env.update({"INFRA_STATE_TABLE": "infra-bot-replicas-%d" % os.getpid(),
                             "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
                             "INFRA_STATE_CREATE_TABLE": "true",
                             "INFRA_ALLOW_INSECURE_ENDPOINTS": "true"})
            proxy_call(proxy_control, dict(CALM, seed=args.seed))

        replicas = Replicas(args, workdir, base_env, tracker)
        replicas.pending_restarts = []
        t_start = now()
        for slot in range(1, args.replicas + 1):
            replicas.start(slot)
            deadline = now() + 30
            while now() < deadline and tracker.hellos < 2 * slot:
                if not replicas.slots[slot].alive():
                    break
                time.sleep(0.02)
            if tracker.hellos < 2 * slot:
                log("replica %d did not say hello twice within 30 s (see %s/bot-%d-1.log)"
                    % (slot, workdir, slot))
                return 2
        log("%d replica(s) up, %d connections, after %.1f s"
            % (args.replicas, tracker.hellos, now() - t_start))
        cpu_before = {s: read_cpu_seconds(c.proc.pid) or 0.0 for s, c in replicas.slots.items()}

        # ---- the commands ------------------------------------------------------------------
        template = json.load(open(os.path.join(ROOT, "proto-fixtures", "slack",
                                               "slash_command_stop.json")))
        cum = []
        total = 0
        for weight, _, _ in MIX:
            total += weight
            cum.append(total)
        trigger_base = rng.randint(10 ** 9, 2 * 10 ** 9)
        commands = []

        def new_command(n):
            _, text, kind = rng.choices(MIX, cum_weights=cum)[0]
            text = text.format(n=rng.randint(1, 254))
            user = rng.randrange(args.users)
            frame = json.loads(json.dumps(template))
            frame["envelope_id"] = "rep-%d-%06d" % (os.getpid(), n)
            response_id = "r%06d" % n
            frame["payload"].update(
                text=text, response_url=base + "/response/" + response_id,
                trigger_id="%d.0123456789.rep%06d" % (trigger_base + n, n),
                user_id="U%07d" % user, user_name="user%d" % user,
                channel_id=channel_of(n), team_id=TEAM)
            command = Command(n, text, kind, user, frame, response_id)
            command.envelopes.append(frame["envelope_id"])
            return command

        push_errors = collections.Counter()

        def push(command, frame):
            command.push_attempts += 1
            try:
                answer = control.call("push", {"conn": "spread", "frame": frame,
                                               "redeliver_after_ms": args.redeliver_after_ms,
                                               "max_retries": args.max_retries,
                                               "redeliver_to": "other"})
            except Exception as error:
                push_errors[repr(error)[:80]] += 1
                return False
            if answer.get("ok"):
                if command.t_sent is None:
                    command.t_sent = now()
                return True
            push_errors[answer.get("error", "?")] += 1
            return False

        duration = args.commands / args.rate
        faults = args.fault_set
        schedule = []  # (driver time offset, what)
        # The SIGTERM first: a killed replica's locks stay held until their lease lapses
        # (60 s), so after the kills there may be no change left in flight to drain.
        if "kill" in faults:
            schedule += [(0.30 * duration, "kill"), (0.50 * duration, "kill")]
        if "sigterm" in faults:
            schedule.append((0.10 * duration, "sigterm"))
        schedule.sort()
        next_burst = 6.0 if "dynamo" in faults else None
        burst_turn = 0
        burst_end = None
        bursts = collections.Counter()
        kills = []         # (driver time, slot, [seqs in flight on it])
        sigterms = []      # (driver time, slot)
        restart_at = []    # (driver time, slot)
        pending_fault = None   # (deadline, what) a fault looking for its target
        retries = collections.deque()   # (when, command): slash retries to push
        repush = collections.deque()    # (when, command, frame)
        start = now()
        next_push = start
        n = 0
        last_report = start
        while n < args.commands or retries or repush:
            t = now()
            elapsed = t - start
            if n < args.commands and t >= next_push:
                n += 1
                command = new_command(n)
                commands.append(command)
                tracker.add(command)
                if not push(command, command.frame):
                    repush.append((t + 0.2, command, command.frame))
                if rng.random() < args.slash_retries:
                    retries.append((t + rng.uniform(0.2, 1.5), command))
                next_push += 1.0 / args.rate
                if t - next_push > 1.0:
                    next_push = t
            while retries and retries[0][0] <= t:
                _, command = retries.popleft()
                frame = json.loads(json.dumps(command.frame))
                frame["envelope_id"] = command.frame["envelope_id"] + "-retry"
                tracker.add_envelope(command, frame["envelope_id"])
                tracker.counts["slash_retries"] += 1
                if not push(command, frame):
                    repush.append((t + 0.2, command, frame))
            while repush and repush[0][0] <= t:
                _, command, frame = repush.popleft()
                if not push(command, frame) and command.push_attempts < 100:
                    repush.append((t + 0.2, command, frame))
            # faults
            if pending_fault is None and schedule and elapsed >= schedule[0][0]:
                pending_fault = (t + 15.0, schedule.pop(0)[1])
            if pending_fault is not None:
                deadline, what = pending_fault

                def current(inv):
                    """Made by the replica now in its slot (not one killed before)."""
                    child = replicas.slots.get(inv["slot"])
                    return (child is not None and not getattr(child, "retiring", False) and
                            inv["t_start"] >= child.t_started)

                with tracker.lock:
                    candidates = [inv for inv in tracker.in_flight.values() if current(inv) and
                                  inv["t_start"] + inv["delay_ms"] / 1000.0 - t >= 1.5]
                if candidates:
                    slot = candidates[0]["slot"]
                    with tracker.lock:
                        on_it = [s for s, inv in tracker.any_in_flight.items()
                                 if inv["slot"] == slot and current(inv)]
                    if what == "kill":
                        replicas.kill(slot)
                        kills.append((t, slot, on_it))
                        restart_at.append((t + 2.0, slot))
                    else:
                        replicas.sigterm(slot)
                        sigterms.append((t, slot))
                    pending_fault = None
                elif t >= deadline:
                    log("%s: no change in flight with 1.5 s left within 15 s; skipped" % what)
                    tracker.counts["faults_skipped"] += 1
                    pending_fault = None
            for item in [r for r in restart_at if r[0] <= t]:
                restart_at.remove(item)
                replicas.start(item[1])
            while replicas.pending_restarts:
                replicas.start(replicas.pending_restarts.pop(0))
            if next_burst is not None and elapsed >= next_burst and burst_end is None:
                setting = BURSTS[burst_turn % len(BURSTS)]
                burst_turn += 1
                proxy_call(proxy_control, setting)
                bursts[",".join("%s=%s" % kv for kv in setting.items() if kv[1])] += 1
                burst_end = t + 3.0
                next_burst += 12.0
            if burst_end is not None and t >= burst_end:
                proxy_call(proxy_control, CALM)
                burst_end = None
            replicas.check_alive()
            if t - last_report >= 15:
                last_report = t
                with tracker.lock:
                    acked = sum(1 for c in commands if c.acked)
                log("t=%4.0fs sent %d acked %d | lambda %d | live conns %d"
                    % (elapsed, n, acked, sum(tracker.lambda_requests.values()),
                       len(tracker.live)))
            waits = [next_push if n < args.commands else t + 0.05]
            waits += [r[0] for r in list(retries)[:1] + list(repush)[:1]]
            time.sleep(max(0.0, min(0.02, min(waits) - now())))
        t_pushed = now()
        if burst_end is not None:
            proxy_call(proxy_control, CALM)
        while replicas.pending_restarts or restart_at:
            for _, slot in restart_at:
                replicas.start(slot)
            restart_at = []
            while replicas.pending_restarts:
                replicas.start(replicas.pending_restarts.pop(0))
            time.sleep(0.05)

        # ---- wait for the answers (bounded) ------------------------------------------------
        drain_until = t_pushed + args.answer_timeout
        if kills:
            drain_until = max(drain_until, kills[-1][0] + args.orphan_timeout)

        def open_commands():
            with tracker.lock:
                return [c for c in commands
                        if len(c.acked) < len(c.envelopes) or
                        (any(WORKING_MARK in text[:80] for texts in c.ack_payloads.values()
                             for text in texts) and not c.finals and not c.reports)]

        while now() < drain_until:
            replicas.check_alive()
            while replicas.pending_restarts:
                replicas.start(replicas.pending_restarts.pop(0))
            if not open_commands():
                break
            time.sleep(0.25)
        time.sleep(2.0)  # a second answer, if any, shows up
        t_end = now()
        cpu_after = {s: read_cpu_seconds(c.proc.pid) for s, c in replicas.slots.items()}
        proxy_counters = proxy_call(proxy_control) if proxy_control else {}
        metrics = {}
        for slot, port in replicas.health_ports.items():
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                            timeout=3) as response:
                    metrics[slot] = response.read().decode()
            except OSError:
                pass
        mark = "end-%d" % os.getpid()
        try:
            control.call("mark", {"label": mark})
        except Exception:
            pass
        deadline = now() + 5
        while now() < deadline and mark not in tracker.marks:
            time.sleep(0.05)
        exit_statuses = replicas.stop_all()

        # ---- the verdict -------------------------------------------------------------------
        return verdict(args, workdir, tracker, replicas, commands, kills, sigterms, bursts,
                       push_errors, exit_statuses, proxy_counters, t_pushed - start,
                       t_end - start, cpu_before, cpu_after, metrics, start)
    finally:
        if replicas is not None:
            try:
                replicas.stop_all()
            except Exception:
                pass
        for child in reversed(children):
            if child.alive():
                child.stop(signal.SIGTERM, timeout=10.0)


def verdict(args, workdir, tracker, replicas, commands, kills, sigterms, bursts, push_errors,
            exit_statuses, proxy_counters, push_seconds, total_seconds, cpu_before, cpu_after,
            metrics, t0):
    killed_seqs = set()
    kill_times = [k[0] for k in kills]
    for _, _, seqs in kills:
        killed_seqs.update(seqs)
    killed_slots_at = collections.defaultdict(list)
    for t, slot, _ in kills:
        killed_slots_at[slot].append(t)
    out = collections.Counter()
    problems = []
    samples = collections.defaultdict(list)

    def flag(what, command, detail=""):
        out[what] += 1
        if len(samples[what]) < 8:
            samples[what].append("#%d %r envelopes=%s acks=%s finals=%d reports=%d "
                                 "invocations=%s %s"
                                 % (command.n, command.text, command.envelopes,
                                    {e: sorted(p) for e, p in command.ack_payloads.items()},
                                    len(command.finals), len(command.reports),
                                    command.invocations, detail))

    def killed_after_answering(c, calls):
        """The replica that ran c's job posted its final, then was killed within 5 s, before
        it removed the job's record: the survivor's report is then a second answer."""
        if not c.finals or not c.reports:
            return False
        runs = [calls[s] for s in c.invocations if s in calls]
        runs += [tracker.reads[s] for s in c.read_invocations if s in tracker.reads]
        t_final = min(t for t, _ in c.finals)
        t_report = min(t for t, _ in c.reports)
        for t_kill, slot, _ in kills:
            # The killed process itself ran the job (its slot is refilled 2 s after the kill);
            # the final was seen before the kill (1 s for the fake's event to reach the driver)
            # and at most 5 s before it; the report came after it.
            if (any(run["slot"] == slot and run["t_start"] < t_kill for run in runs) and
                    t_final - 1.0 <= t_kill <= t_final + 5.0 and t_report > t_kill):
                return True
        return False

    def killed_before_its_final(c, calls):
        """A replica that made one of c's Lambda calls was killed after the call began and before
        c's final was seen: the job died with it, though the call itself may have been answered
        first (the kill's in-flight list misses it then). Under the DynamoDB faults the job's last
        writes can hold its answer back for seconds after the Lambda answered. A survivor's
        report is then the job's answer."""
        runs = [calls[s] for s in c.invocations if s in calls]
        runs += [tracker.reads[s] for s in c.read_invocations if s in tracker.reads]
        t_final = min((t for t, _ in c.finals), default=None)
        for t_kill, slot, _ in kills:
            if (any(run["slot"] == slot and run["t_start"] < t_kill for run in runs) and
                    (t_final is None or t_final > t_kill)):
                return True
        return False

    with tracker.lock:
        invocations = dict(tracker.invocations)
        for c in commands:
            out["commands"] += 1
            out["kind " + c.kind] += 1
            if c.t_sent is None:
                flag("never_pushed", c)
                continue
            if len(c.envelopes) > 1:
                out["slash_retried"] += 1
            for envelope in c.envelopes:
                if envelope not in c.acked:
                    flag("lost_envelopes", c, "unacked %s" % envelope)
            texts = set()
            for payloads in c.ack_payloads.values():
                texts.update(p for p in payloads if p)
            if len(texts) > 1:
                if args.state == "memory" and any(RESTART_MARK in x for x in texts):
                    # A replica that drains acks "restarting"; a new process without shared
                    # state then handles the retry envelope: what memory state cannot know.
                    out["restart_notice_then_handled"] += 1
                    texts = set(x for x in texts if RESTART_MARK not in x)
                elif any(STATE_DOWN_MARK in x for x in texts) and len(c.envelopes) > 1:
                    # The first envelope came while the table failed: the change was refused
                    # (fail closed) and that refusal could not be stored for other replicas.
                    # This suite pushes the retry envelope even after an ack, which Slack
                    # does not: the retry then met the table again and was handled.
                    out["state_refusal_then_retry_handled"] += 1
                    texts = set(x for x in texts if STATE_DOWN_MARK not in x)
                else:
                    flag("conflicting_acks", c)
            working = any(WORKING_MARK in text[:80] for text in texts)
            mutating_calls = [invocations[s] for s in c.invocations if s in invocations]
            if len(mutating_calls) > 1:
                flag("duplicate_mutating_calls", c)
            out["mutating_invocations"] += len(mutating_calls)
            killed_job = (any(s in killed_seqs for s in c.invocations + c.read_invocations) or
                          killed_before_its_final(c, invocations))
            if killed_job:
                out["jobs_on_killed_replicas"] += 1
            if working:
                out["accepted"] += 1
                answers = len(c.finals) + len(c.reports)
                after_answering = killed_after_answering(c, invocations)
                if answers == 0:
                    flag("unanswered", c, "killed job" if killed_job else "")
                    if killed_job and not c.invocations:
                        out["killed_reads_unanswered"] += 1
                elif answers > 1:
                    if after_answering:
                        out["killed_after_answering"] += 1
                    else:
                        flag("answered_twice", c)
                if c.reports:
                    out["survivor_reports"] += 1
                    # A job whose replica was killed before it reached the Lambda (accepted,
                    # then killed; its delivery taken over by another replica, which acks
                    # it as working): a kill after the command's first push.
                    legit = killed_job or after_answering or (
                        not c.invocations and c.t_sent is not None and
                        any(t >= c.t_sent for t in kill_times))
                    if not legit:
                        flag("report_for_a_live_job", c)
                if killed_job and not c.reports and c.finals:
                    out["killed_job_answered_before_the_kill"] += 1
            elif texts:
                out["answered_by_ack"] += 1
                if c.finals or c.reports:
                    flag("post_after_a_refusal", c)
                if mutating_calls:
                    flag("refused_but_called", c)
                head = next(iter(texts))
                if "already running" in head or "busy" in head.lower():
                    out["busy"] += 1
            elif c.acked:
                flag("acked_without_payload", c)
    ack_latencies = [c.ack_latency_ms for c in commands if c.ack_latency_ms is not None]
    pushes = [c.t_first_push for c in commands if c.t_first_push is not None]
    first_acks = [c.t_first_ack for c in commands if c.t_first_ack is not None]
    # From the first push to the last command's first ack, on the fake's clock.
    ack_span = (max(first_acks) - min(pushes)) if pushes and first_acks else None
    for what in ("never_pushed", "lost_envelopes", "conflicting_acks", "duplicate_mutating_calls",
                 "unanswered", "answered_twice", "report_for_a_live_job", "post_after_a_refusal",
                 "refused_but_called", "acked_without_payload"):
        if out[what]:
            problems.append("%s: %d" % (what, out[what]))
    if tracker.violations:
        problems.append("concurrent mutating invocations on one lock: %d"
                        % len(tracker.violations))
    if tracker.unattributed:
        problems.append("mutating invocations not tied to a command: %d"
                        % len(tracker.unattributed))
    if tracker.unverified:
        problems.append("Lambda requests failing the SigV4 check: %d" % len(tracker.unverified))
    if replicas.unexpected_deaths:
        problems.append("replicas died unasked: %s" % replicas.unexpected_deaths)
    bad_sigterm = [(s, st) for s, st in replicas.sigterm_exits if st != 0]
    if bad_sigterm:
        problems.append("SIGTERM exit status not 0: %s" % bad_sigterm)
    bad_stop = {s: st for s, st in exit_statuses.items() if st != 0}
    if bad_stop:
        problems.append("exit status at the end not 0: %s" % bad_stop)
    if len(replicas.sigterm_exits) < len(sigterms):
        problems.append("a SIGTERM'd replica did not exit within 60 s")

    cpu = sum((cpu_after.get(s) or 0.0) - (cpu_before.get(s, 0.0) if replicas.generation[s] == 1
                                           else 0.0) for s in cpu_after)
    dynamo_calls = None
    if isinstance(proxy_counters, dict):
        for key in ("requests", "total", "forwarded", "calls"):
            if isinstance(proxy_counters.get(key), (int, float)):
                dynamo_calls = proxy_counters[key]
                break
    summary = {
        "command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
        "state": args.state, "replicas": args.replicas, "rate": args.rate,
        "faults": sorted(args.fault_set),
        "counts": dict(out),
        "envelopes_pushed": tracker.counts["pushed"],
        "redeliveries": tracker.counts["redeliveries"],
        "slash_retries": tracker.counts["slash_retries"],
        "ack_events": tracker.counts["ack_events"],
        "ack_duplicate_events": tracker.counts["ack_duplicate_events"],
        "kills": [(round(t - t0, 1), slot, len(seqs)) for t, slot, seqs in kills],
        "sigterms": [(round(t - t0, 1), slot) for t, slot in sigterms],
        "sigterm_exits": replicas.sigterm_exits,
        "faults_skipped": tracker.counts["faults_skipped"],
        "dynamodb_bursts": dict(bursts),
        "dynamodb_proxy": proxy_counters,
        "dynamodb_calls": dynamo_calls,
        "dynamodb_calls_per_command": (dynamo_calls / float(len(commands))
                                       if dynamo_calls is not None and commands else None),
        "concurrency_violations": tracker.violations[:20],
        "max_concurrency_per_lock": dict(tracker.max_concurrency),
        "lambda_requests": dict(tracker.lambda_requests),
        "lambda_by_replica": {str(k): v for k, v in tracker.lambda_by_replica.items()},
        "unattributed": tracker.unattributed[:10],
        "ack_latency_ms": {"p50": percentile(ack_latencies, 50),
                           "p99": percentile(ack_latencies, 99),
                           "max": max(ack_latencies) if ack_latencies else None,
                           "n": len(ack_latencies)},
        "push_seconds": push_seconds, "total_seconds": total_seconds,
        "ack_span_seconds": ack_span,
        "acked_commands_per_second": (len(first_acks) / ack_span) if ack_span else None,
        "commands_per_second": len(commands) / push_seconds if push_seconds else None,
        "bot_cpu_seconds": cpu,
        "bot_cpu_us_per_command": cpu / len(commands) * 1e6 if commands else None,
        "push_errors": dict(push_errors),
        "unexpected_deaths": replicas.unexpected_deaths,
        "bot_errors": dict(tracker.bot_errors.most_common(15)),
        "samples": dict(samples),
        "problems": problems,
        "workdir": workdir,
    }
    for path in filter(None, [os.path.join(workdir, "summary.json"), args.summary_json]):
        with open(path, "w") as f:
            json.dump(summary, f, indent=2, sort_keys=True, default=str)

    print()
    print("=== replicas summary: state %s, %d replica(s), faults %s ===" % (
        args.state, args.replicas, ",".join(sorted(args.fault_set)) or "none"))
    print("commands            %d (%s); slash retries (2nd envelope, same trigger_id) %d"
          % (out["commands"], ", ".join("%s %d" % (k[5:], v) for k, v in sorted(out.items())
                                        if k.startswith("kind ")), out["slash_retried"]))
    print("envelopes           pushed %d, redelivered %d, ack events %d (repeats %d), "
          "lost %d" % (tracker.counts["pushed"], tracker.counts["redeliveries"],
                       tracker.counts["ack_events"], tracker.counts["ack_duplicate_events"],
                       out["lost_envelopes"]))
    print("answers             by ack %d (busy %d), accepted %d: unanswered %d, twice %d, "
          "survivor reports %d" % (out["answered_by_ack"], out["busy"], out["accepted"],
                                   out["unanswered"], out["answered_twice"],
                                   out["survivor_reports"]))
    print("mutating calls      %d; duplicates %d; concurrent on one lock %d (max in flight %s); "
          "not tied to a command %d" % (out["mutating_invocations"],
                                        out["duplicate_mutating_calls"], len(tracker.violations),
                                        dict(tracker.max_concurrency), len(tracker.unattributed)))
    print("lambda by replica   %s" % {str(k): v for k, v in
                                      sorted(tracker.lambda_by_replica.items(), key=str)})
    print("faults              kill -9 %s; SIGTERM %s (exits %s); DynamoDB bursts %s; skipped %d"
          % (summary["kills"], summary["sigterms"], replicas.sigterm_exits, dict(bursts),
             tracker.counts["faults_skipped"]))
    print("jobs on killed      %d (answered before the kill %d; reads among the unanswered %d); "
          "answered, then killed before removing the record (reported again) %d"
          % (out["jobs_on_killed_replicas"], out["killed_job_answered_before_the_kill"],
             out["killed_reads_unanswered"], out["killed_after_answering"]))
    print("ack latency         p50 %.2f ms p99 %.2f ms (n %d); %.1f commands/s pushed; "
          "bot CPU %.0f us/command"
          % (summary["ack_latency_ms"]["p50"], summary["ack_latency_ms"]["p99"],
             len(ack_latencies), summary["commands_per_second"] or 0,
             summary["bot_cpu_us_per_command"] or 0))
    if dynamo_calls is not None:
        print("dynamodb            %s calls, %.2f per command; proxy %s"
              % (dynamo_calls, summary["dynamodb_calls_per_command"], proxy_counters))
    if tracker.bot_errors:
        print("bot errors (top)    %s" % dict(tracker.bot_errors.most_common(5)))
    for what, lines in samples.items():
        for line in lines[:4]:
            print("  %s: %s" % (what, line[:400]))
    for lock, seq, busy in tracker.violations[:5]:
        print("  concurrent: lock %s invocation %d while %s in flight" % (lock, seq, busy))
    print("run folder          %s" % workdir)
    if problems:
        print("RESULT: FAIL — " + "; ".join(problems))
        return 1
    print("RESULT: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
