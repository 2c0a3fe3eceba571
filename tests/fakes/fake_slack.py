#!/usr/bin/python3
"""A fake Slack for tests: Web API, response_url endpoints and Socket Mode over TLS.

Run with Debian's python3 (python3-websockets 10.4, otherwise the standard library only):

  /usr/bin/python3 -u fake_slack.py --tls CERT KEY [--app-token xapp-1-TEST] [--bot-token xoxb-TEST]
                                    [--server-ping-interval SECONDS] [--max-connections N]

Two listeners on 127.0.0.1, ports chosen by the OS:
  HTTPS  Web API (/api/<method>), response_url endpoints (/response/<id>) and the control API
         (/control/<op>).  ThreadingHTTPServer + ssl, HTTP/1.1 keep-alive.
  WSS    Socket Mode (/link/?ticket=...), python3-websockets, same certificate.

stdout (one line each, flushed):
  PORT <https_port>        first line
  then one JSON object per event, always with "event" and "t" (seconds since start):
    {"event":"started","https_port":n,"ws_port":n}
    {"event":"api","method":"chat.postMessage","auth":"Bearer xoxb-TEST"|null,"content_type":...,
     "body":<JSON object | form fields as an object | raw string>,"status":200 (0: hung up),
     "error":"<ok:false error>"|null,"injected":true|false, "ticket":"..." (apps.connections.open),
     "trigger_age_ms":n (views.open/views.push when the trigger_id was pushed by this fake)}
    {"event":"response_url","id":"...","body":...,"use":n,"status":200|404}
    {"event":"ws_refused","status":401,"reason":"...","path":"...","ticket":"..."}
                                     (status 0: the handshake was cut without an answer)
    {"event":"ws_open","conn":n,"ticket":"...","query":"ticket=...&app_id=A0FAKE&...","path":...,
     "sni":"<TLS server name>"|null,"user_agent":...,"live":[ids, this one included]}
    {"event":"hello_sent","conn":n,"num_connections":n}
    {"event":"push","conn":n,"envelope_id":"..."|null,"size":bytes,"retry_attempt":n|null}
                                                       each frame sent by /control/push*
    {"event":"ack","conn":n,"envelope_id":"...","payload":<obj>|null,"size":bytes,
     "fragmented":bool,"latency_ms":n|null,"pushed_conn":n|null,"duplicate":bool,"over_limit":bool}
        an ack = a client text frame that is a JSON object with "envelope_id" and no "type".
        size: bytes of the message; fragmented: it came in more than one frame; latency_ms: since
        this fake pushed that envelope_id (null if it never did); pushed_conn: where it was pushed;
        duplicate: that envelope_id was acked before; over_limit: size >= 20 KB (real Slack would
        silently drop it; the fake records it anyway).
    {"event":"frame","conn":n,"text":"...","fragmented":bool}  any other client text message
                                                       (binary: "binary":true, "size", no text)
    {"event":"ping","conn":n,"data":"..."}            a client ping frame (answered unless paused)
    {"event":"pong","conn":n,"data":"..."}            a client pong frame (answer to a server ping)
    {"event":"server_ping","conn":n,"data":"..."}     a ping the fake sent
    {"event":"disconnect_sent","conn":n,"reason":"..."}
    {"event":"ws_close","conn":n,"code":n,"reason":"...","by":"client"|"server"|"drop"|"lost"}
  stderr: diagnostics and tracebacks only.

Control API (HTTPS, no auth; POST a JSON object, get a JSON object).  "conn" is a connection id
(1, 2, … in handshake order), null/absent = the lowest live one, "all" = every live one, "spread"
= the next live one round-robin.  Socket operations answer {"ok":bool,"conn":first id|null,
"conns":[ids acted on]} (ok false, "error":"no_live_connection" when nothing matched).
  /control/push        {"conn":..,"frame":{..}}      the frame as one text frame to each target
                       {"conn":..,"frames":[{..},..]} several, in order, in one call (with
                       "spread" each frame goes to the next connection); "conns" has one entry
                       per frame sent.  Frames keep being pushed to paused connections.
                       With a single frame, "redeliver_after_ms":3000,"max_retries":3 acts as
                       Slack does with an envelope that is not acked: every redeliver_after_ms
                       until it is acked, the same envelope again with retry_attempt + 1 and
                       retry_reason "timeout", to the lowest live connection.  With
                       "redeliver_to":"other" each redelivery goes instead to a live connection
                       other than the one the envelope last went to (round-robin over the
                       others; the same one only when it is the only one live), as Slack does
                       with several apps' connections (replicas).
  /control/push_raw    {"conn":..,"text":"..."}      any text, even empty or not JSON
  /control/disconnect  {"conn":..,"reason":"refresh_requested","close":false}
                       sends {"type":"disconnect","reason":..,"debug_info":{"host":"applink-fake"}};
                       close=true then closes the socket (close frame 1000) without waiting
  /control/close       {"conn":..,"code":1000,"reason":""}   a close frame only, no disconnect message
  /control/drop        {"conn":..}                   abort the TCP connection, no close frame
                       {"conn":..,"discard_unread":true}  and forget every client frame not
                       handled yet (with pause first: what the client wrote into a dying socket
                       never reaches Slack)
  /control/pause       {"conn":..,"paused":true}     stop reading that socket (client frames, pings
                       and close frames pile up unanswered) and stop sending server pings;
                       false resumes (everything queued is then processed)
  /control/fail_next   {"method":"apps.connections.open","count":1,"status":429,
                        "headers":{"Retry-After":"2"},"body":{"ok":false,"error":"ratelimited"},
                        "delay_ms":0,"action":"respond"|"close"}
                       the next `count` calls of `method` get that answer instead of the normal one.
                       "method" is a Web API method, "response_url" or "ws.connect" (the WSS
                       handshake of a valid ticket, answered with `status` instead of 101; the
                       ticket is used up all the same).  body defaults to
                       {"ok":false,"error":"ratelimited"} for 429, "internal_error" otherwise;
                       action "close" closes the connection without any answer; with status
                       omitted and delay_ms set, the call is delayed and then answered normally.
                       Rules queue up per method, first in first used.  A rule without status,
                       body, delay_ms or action "close" means status 500.
  /control/config      {"send_hello":true,"hello_delay_ms":0,"server_ping_interval":10,
                        "max_connections":10,"connection_lifetime":0,"refresh_grace":5,
                        "oauth_scopes":"chat:write,…","channels":{"C0AUDIT":{"name":"infra-audit",
                        "is_private":false,"is_member":true,"is_archived":false},…}}
                       any subset -> {"ok":true,"config":{whole config}}.  connection_lifetime
                       (seconds, 0 = unlimited): after it a connection gets disconnect
                       refresh_requested and is closed refresh_grace seconds later, as Slack
                       recycles links (hello then reports it as approximate_connection_time).
  /control/state       (GET or POST) {"ok":true,"live":[..],"paused":[..],"opened":n,"acks":n,
                        "api_calls":{method:n},"response_urls":{id:n},"tickets_issued":n,
                        "ws_refused":n,"pushed":n,"ws_port":n,"fail_rules":{method:remaining},
                        "config":{..}}
  /control/reset       clears fail rules and counters, the record of pushed/acked envelopes
                       and used trigger_ids (live connections and config stay)
  /control/mark        {"label":"..."} emits {"event":"mark","label":..} before answering: once
                       the test has read that line, every event emitted before the call is there

Behaviour notes:
  - apps.connections.open wants "Authorization: Bearer <app token>"; a token only in the body ->
    invalid_auth; no token at all -> not_authed; a bot token -> not_allowed_token_type; any other
    token -> invalid_auth.  Each URL's ticket works once: a reused or unknown ticket is refused at
    the WSS handshake with HTTP 401.
  - The other Web API methods want "Authorization: Bearer <bot token>" (missing or wrong ->
    invalid_auth; the app token -> not_allowed_token_type).  JSON bodies ("application/json";
    without "charset=utf-8" an ok answer carries Slack's "missing_charset" warning) or forms.
    Methods: auth.test, chat.postMessage (channel + text|blocks|attachments; ts increases),
    chat.postEphemeral (channel, user), chat.update (channel, ts), views.open / views.push
    (trigger_id, view; a trigger_id works once: exchanged_trigger_id), views.update (view_id or
    external_id, view), users.info (user; always Alice Example), conversations.info (channel; the
    config's "channels": public ones need channels:read in "oauth_scopes", private ones
    groups:read, else missing_scope; a private channel the bot is not in, or an unknown id ->
    channel_not_found); others -> unknown_method.  Every answer to the bot token carries
    x-oauth-scopes: the config's "oauth_scopes" (the manifest's four bot scopes plus
    channels:read and groups:read).
  - On connect: hello with num_connections = live connections including this one.  Above
    max_connections live, the newest also gets disconnect "too_many_websockets".
  - Server pings "Ping from applink-fake" every server_ping_interval seconds (0 = never); the fake
    never closes a connection because a pong is missing.
  - response_url: 5 uses per id, then 404 {"ok":false,"error":"expired_url"}.
  - SIGTERM/SIGINT end the process at once; so does the parent process going away.
"""

import argparse
import asyncio
import collections
import http
import itertools
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler

import websockets
from websockets.exceptions import ConnectionClosed
from websockets.frames import OP_BINARY, OP_PING, OP_PONG, OP_TEXT
from websockets.legacy.protocol import State
from websockets.legacy.server import WebSocketServerProtocol

from fake_http_server import TlsHTTPServer, read_body

APP_ID = "A0FAKE"
TEAM_ID = "T0123ABCD"  # the service fixture's kTeam
BOT_USER = "U0FAKEBOT"
BOT_ID = "B0FAKE"
DEFAULT_SCOPES = "chat:write,commands,app_mentions:read,users:read,channels:read,groups:read"
DEFAULT_CHANNELS = {
    "C0AUDIT": {"name": "infra-audit", "is_private": False, "is_member": True},
    "C0NOTIFY": {"name": "infra-notify", "is_private": False, "is_member": True},
    "C0OUTSIDE": {"name": "general", "is_private": False, "is_member": False},
    "G0PRIVATE": {"name": "ops-private", "is_private": True, "is_member": True},
    "G0HIDDEN": {"name": "ops-hidden", "is_private": True, "is_member": False},
}
HOST = "applink-fake"
ACK_LIMIT = 20 * 1024  # Slack silently drops Socket Mode responses of 20 KB or more
RESPONSE_URL_USES = 5

START = time.monotonic()
_print_lock = threading.Lock()


def emit(obj):
    record = {"event": obj.pop("event")}
    record["t"] = round(time.monotonic() - START, 4)
    record.update(obj)
    try:
        line = json.dumps(record, separators=(",", ":"), default=str)
    except Exception:  # never let an odd value stop the log
        line = json.dumps({"event": "emit_error", "detail": repr(record)[:2000]})
    with _print_lock:
        try:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except (BrokenPipeError, OSError):
            os._exit(0)  # nobody is listening any more


def log(message):
    try:
        sys.stderr.write("fake_slack: %s\n" % message)
        sys.stderr.flush()
    except OSError:
        pass


def log_exception(where):
    log("%s: %s" % (where, traceback.format_exc()))


# --------------------------------------------------------------------------------------------
# Shared state (guarded by STATE.lock; the WebSocket side runs on the asyncio thread, the HTTP
# side on one thread per connection).


class State_:
    def __init__(self, app_token, bot_token):
        self.lock = threading.RLock()
        self.app_token = app_token
        self.bot_token = bot_token
        self.loop = None
        self.ws_port = 0
        self.conns = {}  # id -> FakeProtocol (registered after the handshake)
        self.conn_ids = itertools.count(1)
        self.config = {
            "send_hello": True,
            "hello_delay_ms": 0,
            "server_ping_interval": 10.0,
            "max_connections": 10,
            "connection_lifetime": 0,  # seconds; 0 = connections live until told otherwise
            "refresh_grace": 5,  # seconds between the automatic refresh_requested and the close
            # The bot token's scopes (x-oauth-scopes) and the channels conversations.info knows.
            "oauth_scopes": DEFAULT_SCOPES,
            "channels": {k: dict(v) for k, v in DEFAULT_CHANNELS.items()},
        }
        self.tickets = {}  # ticket -> "issued" | "used"
        self.spread_next = -1
        self.other_next = -1
        # Not reset: message ts and view ids keep increasing for the life of the process.
        self.ts_counter = itertools.count(1)
        self.view_counter = itertools.count(1)
        self.ts_base = int(time.time())
        self.reset_counters()

    def reset_counters(self):
        with self.lock:
            self.opened = 0
            self.acks = 0
            self.api_calls = {}
            self.response_urls = {}
            self.posted_ts = set()
            self.rules = {}  # method -> list of rule dicts with "remaining"
            self.tickets_issued = 0
            self.ws_refused = 0
            self.pushed_count = 0
            self.pushed = {}  # envelope_id -> (monotonic time, conn)
            self.acked = set()
            self.triggers = {}  # trigger_id -> monotonic time it was pushed
            self.used_triggers = set()

    def take_rule(self, method):
        """The fail_next rule for this call of `method`, or None."""
        with self.lock:
            rules = self.rules.get(method)
            while rules:
                rule = rules[0]
                if rule["remaining"] <= 0:
                    rules.pop(0)
                    continue
                rule["remaining"] -= 1
                if rule["remaining"] <= 0:
                    rules.pop(0)
                return rule
            return None

    def live_ids(self):
        with self.lock:
            return sorted(i for i, ws in self.conns.items() if ws.state is State.OPEN)

    def next_ts(self):
        with self.lock:
            return "%d.000100" % (self.ts_base + next(self.ts_counter))


STATE = None


def default_fail_body(status):
    if status == 429:
        return {"ok": False, "error": "ratelimited"}
    return {"ok": False, "error": "internal_error"}


# --------------------------------------------------------------------------------------------
# WebSocket side (asyncio thread)


class FakeProtocol(WebSocketServerProtocol):
    """One Socket Mode connection.  Adds: ticket check, ping/pong observation, pause gate."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fake_id = None
        self.fake_ticket = None
        self.fake_query = ""
        self.fake_gate = asyncio.Event()  # set = reading allowed
        self.fake_gate.set()
        self.fake_closed_by = None
        self.fake_discard_unread = False  # dropped: client frames not handled yet are lost
        self.fake_fragmented = False  # the message being read came in more than one frame
        self.fake_fragment_flags = collections.deque()  # one per message queued for recv()

    async def process_request(self, path, request_headers):
        try:
            split = urllib.parse.urlsplit(path)
            query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
            ticket = (query.get("ticket") or [""])[0]
            self.fake_query = split.query
            self.fake_ticket = ticket
            rule = None
            status, reason = None, None
            with STATE.lock:
                previous = STATE.tickets.get(ticket)
                if previous is not None:
                    STATE.tickets[ticket] = "used"
                if not split.path.startswith("/link"):
                    status, reason = 404, "unknown path"
                elif previous is None:
                    status, reason = 401, "unknown ticket"
                elif previous == "used":
                    status, reason = 401, "ticket already used"
            if status is None:
                rule = STATE.take_rule("ws.connect")  # only a handshake that would succeed
            if status is None and rule is not None:
                if rule.get("delay_ms"):
                    await asyncio.sleep(rule["delay_ms"] / 1000.0)
                if rule.get("action") == "close":
                    status, reason = 0, "injected close"
                elif rule.get("status") is not None:
                    status, reason = int(rule["status"]), "injected"
            if status is None:
                # The id is taken now: frames (pings) can be read before ws_handler starts.
                with STATE.lock:
                    self.fake_id = next(STATE.conn_ids)
                return None
            with STATE.lock:
                STATE.ws_refused += 1
            emit({"event": "ws_refused", "status": status, "reason": reason, "path": path,
                  "ticket": ticket})
            if status == 0:
                self.transport.abort()
                return (http.HTTPStatus(401), [], b"")  # never reaches the client
            body = rule.get("body") if (rule is not None and reason == "injected") else None
            if body is None:
                body = {"ok": False, "error": reason.replace(" ", "_")}
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            headers = [("Content-Type", "application/json"),
                       ("Content-Length", str(len(data)))]
            if rule is not None and reason == "injected":
                headers += [(k, str(v)) for k, v in (rule.get("headers") or {}).items()]
            return (http.HTTPStatus(status), headers, data)
        except Exception:
            log_exception("process_request")
            return (http.HTTPStatus(500), [], b"fake_slack error\n")

    async def wait_unpaused(self):
        if self.fake_gate.is_set():
            return
        waiter = asyncio.ensure_future(self.fake_gate.wait())
        try:
            await asyncio.wait({waiter, self.connection_lost_waiter},
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()

    async def read_frame(self, max_size):
        await self.wait_unpaused()
        frame = await super().read_frame(max_size)
        # A read already waiting when the pause began must not slip through either: hold the
        # frame until the pause ends (the connection is lost).
        await self.wait_unpaused()
        try:
            if frame.opcode == OP_PING:
                emit({"event": "ping", "conn": self.fake_id,
                      "data": frame.data.decode("utf-8", "replace")})
            elif frame.opcode == OP_PONG:
                emit({"event": "pong", "conn": self.fake_id,
                      "data": frame.data.decode("utf-8", "replace")})
            elif frame.opcode in (OP_TEXT, OP_BINARY) and not frame.fin:
                self.fake_fragmented = True
        except Exception:
            log_exception("read_frame")
        return frame

    async def read_message(self):
        # Runs on the reading task, ahead of recv(): the flag travels with the message.
        self.fake_fragmented = False
        message = await super().read_message()
        if message is not None:
            self.fake_fragment_flags.append(self.fake_fragmented)
        return message

    def fake_next_fragmented(self):
        return self.fake_fragment_flags.popleft() if self.fake_fragment_flags else False

    async def fake_send(self, text):
        await self.send(text)

    async def fake_ping(self, data):
        # write_frame directly: ping() refuses a payload that is still waiting for its pong, and
        # Slack sends the same text every time.
        if self.state is State.OPEN:
            await self.write_frame(True, OP_PING, data)


async def connection_timers(ws):
    """Server pings every server_ping_interval, and the end of a connection's life after
    connection_lifetime seconds (disconnect refresh_requested, close refresh_grace s later)."""
    opened = last_ping = time.monotonic()
    refreshed_at = None
    try:
        while ws.state is State.OPEN:
            await asyncio.sleep(0.05)
            now = time.monotonic()
            config = STATE.config
            interval = float(config.get("server_ping_interval") or 0)
            if not ws.fake_gate.is_set():
                last_ping = now  # a zombie link sends nothing
                continue
            if interval > 0 and now - last_ping >= interval:
                last_ping = now
                data = b"Ping from " + HOST.encode()
                await ws.fake_ping(data)
                emit({"event": "server_ping", "conn": ws.fake_id, "data": data.decode()})
            lifetime = float(config.get("connection_lifetime") or 0)
            if refreshed_at is None and lifetime > 0 and now - opened >= lifetime:
                refreshed_at = now
                await send_disconnect(ws, "refresh_requested")
            grace = float(config.get("refresh_grace") or 0)
            if refreshed_at is not None and now - refreshed_at >= grace:
                ws.fake_closed_by = "server"
                asyncio.ensure_future(ws.close(1000, ""))
                return
    except (ConnectionClosed, asyncio.CancelledError):
        pass
    except Exception:
        log_exception("connection_timers")


def hello_frame(num_connections):
    lifetime = float(STATE.config.get("connection_lifetime") or 0)
    lifetime = max(1, int(round(lifetime))) if lifetime > 0 else 18060
    return {
        "type": "hello",
        "num_connections": num_connections,
        "debug_info": {"host": HOST, "build_number": 1,
                       "approximate_connection_time": lifetime},
        "connection_info": {"app_id": APP_ID},
    }


def handle_client_text(ws, text, fragmented):
    try:
        message = json.loads(text)
    except ValueError:
        message = None
    if isinstance(message, dict) and "envelope_id" in message and "type" not in message:
        envelope_id = message.get("envelope_id")
        size = len(text.encode("utf-8"))
        now = time.monotonic()
        with STATE.lock:
            STATE.acks += 1
            pushed = STATE.pushed.get(envelope_id) if isinstance(envelope_id, str) else None
            duplicate = envelope_id in STATE.acked if isinstance(envelope_id, str) else False
            if isinstance(envelope_id, str):
                STATE.acked.add(envelope_id)
        emit({
            "event": "ack",
            "conn": ws.fake_id,
            "envelope_id": envelope_id,
            "payload": message.get("payload"),
            "size": size,
            "fragmented": fragmented,
            "latency_ms": round((now - pushed[0]) * 1000.0, 1) if pushed else None,
            "pushed_conn": pushed[1] if pushed else None,
            "duplicate": duplicate,
            "over_limit": size >= ACK_LIMIT,
        })
    else:
        emit({"event": "frame", "conn": ws.fake_id, "text": text, "fragmented": fragmented})


async def ws_handler(ws):
    with STATE.lock:
        if ws.fake_id is None:
            ws.fake_id = next(STATE.conn_ids)
        conn = ws.fake_id
        STATE.conns[conn] = ws
        STATE.opened += 1
    pinger = None
    try:
        sni = None
        try:
            ssl_object = ws.transport.get_extra_info("ssl_object")
            sni = getattr(ssl_object, "fake_sni", None)
        except Exception:
            pass
        live = STATE.live_ids()
        emit({"event": "ws_open", "conn": conn, "ticket": ws.fake_ticket, "query": ws.fake_query,
              "path": ws.path, "sni": sni,
              "user_agent": ws.request_headers.get("User-Agent"), "live": live})
        if STATE.config.get("send_hello", True):
            delay = STATE.config.get("hello_delay_ms") or 0
            if delay:
                await asyncio.sleep(delay / 1000.0)
            count = len(STATE.live_ids())
            await ws.send(json.dumps(hello_frame(count)))
            emit({"event": "hello_sent", "conn": conn, "num_connections": count})
            limit = STATE.config.get("max_connections")
            if limit and count > int(limit):
                await send_disconnect(ws, "too_many_websockets")
        pinger = asyncio.ensure_future(connection_timers(ws))
        while True:
            try:
                message = await ws.recv()
            except ConnectionClosed:
                break
            if ws.fake_discard_unread:
                break
            try:
                fragmented = ws.fake_next_fragmented()
                if isinstance(message, str):
                    handle_client_text(ws, message, fragmented)
                else:
                    emit({"event": "frame", "conn": conn, "binary": True, "size": len(message),
                          "fragmented": fragmented})
            except Exception:
                log_exception("handling a client frame")
    except ConnectionClosed:
        pass
    except Exception:
        log_exception("ws_handler")
    finally:
        if pinger is not None:
            pinger.cancel()
        with STATE.lock:
            STATE.conns.pop(conn, None)
        try:
            await asyncio.wait_for(asyncio.shield(ws.wait_closed()), 3)
        except Exception:
            pass
        by = ws.fake_closed_by
        if by is None:
            if ws.close_rcvd is None:
                by = "lost"  # the TCP connection ended without a close frame from the client
            elif ws.close_sent is None or ws.close_rcvd_then_sent:
                by = "client"
            else:
                by = "server"
        emit({"event": "ws_close", "conn": conn, "code": ws.close_code,
              "reason": ws.close_reason or "", "by": by})


async def send_disconnect(ws, reason):
    frame = {"type": "disconnect", "reason": reason, "debug_info": {"host": HOST}}
    await ws.send(json.dumps(frame))
    emit({"event": "disconnect_sent", "conn": ws.fake_id, "reason": reason})


def targets(conn_spec):
    """Connections named by a control request's "conn": id, null (lowest live) or "all"."""
    live = STATE.live_ids()
    with STATE.lock:
        if conn_spec is None or conn_spec == -1:
            return [STATE.conns[live[0]]] if live else []
        if conn_spec == "all":
            return [STATE.conns[i] for i in live]
        if conn_spec == "spread":  # round-robin over the live connections
            if not live:
                return []
            STATE.spread_next += 1
            return [STATE.conns[live[STATE.spread_next % len(live)]]]
        try:
            ws = STATE.conns.get(int(conn_spec))
        except (TypeError, ValueError):
            return []
        return [ws] if ws is not None else []


async def op_push_many(conn_spec, frames):
    """Several frames in order, each sent as op_push would (with conn "spread", the frames
    are dealt round-robin over the live connections)."""
    sent = []
    for frame in frames:
        text = frame if isinstance(frame, str) else json.dumps(frame)
        sent += await op_push(conn_spec, text, frame if isinstance(frame, dict) else None)
    return sent


async def op_push(conn_spec, text, frame):
    sent = []
    for ws in targets(conn_spec):
        if ws.state is not State.OPEN:
            continue
        envelope_id = frame.get("envelope_id") if isinstance(frame, dict) else None
        now = time.monotonic()
        with STATE.lock:
            STATE.pushed_count += 1
            if isinstance(envelope_id, str):
                STATE.pushed[envelope_id] = (now, ws.fake_id)
            payload = frame.get("payload") if isinstance(frame, dict) else None
            if isinstance(payload, dict) and isinstance(payload.get("trigger_id"), str):
                STATE.triggers.setdefault(payload["trigger_id"], now)
        try:
            await ws.fake_send(text)
        except ConnectionClosed:
            continue
        emit({"event": "push", "conn": ws.fake_id, "envelope_id": envelope_id,
              "size": len(text.encode("utf-8")),
              "retry_attempt": frame.get("retry_attempt") if isinstance(frame, dict) else None})
        sent.append(ws.fake_id)
    return sent


def other_conn(last):
    """A live connection other than `last` (round-robin over the others), else the lowest live
    one (None when nothing is live)."""
    live = STATE.live_ids()
    if not live:
        return None
    others = [i for i in live if i != last]
    if not others:
        return live[0]
    with STATE.lock:
        STATE.other_next += 1
        return others[STATE.other_next % len(others)]


async def redeliver(frame, after_ms, max_retries, first_conn=None, to="lowest"):
    """Slack re-sends an envelope that was not acked in time: same envelope_id, retry_attempt
    + 1, retry_reason "timeout", to the lowest live connection (to="other": to another live
    connection than the last one it went to), until acked or max_retries."""
    try:
        envelope_id = frame.get("envelope_id")
        attempt = int(frame.get("retry_attempt") or 0)
        last = first_conn
        for _ in range(max_retries):
            await asyncio.sleep(after_ms / 1000.0)
            with STATE.lock:
                if envelope_id in STATE.acked:
                    return
            attempt += 1
            again = dict(frame, retry_attempt=attempt, retry_reason="timeout")
            target = other_conn(last) if to == "other" else None
            sent = await op_push(target, json.dumps(again), again)
            if sent:
                last = sent[0]
    except Exception:
        log_exception("redeliver")


async def op_disconnect(conn_spec, reason, close):
    done = []
    for ws in targets(conn_spec):
        if ws.state is not State.OPEN:
            continue
        try:
            await send_disconnect(ws, reason)
        except ConnectionClosed:
            continue
        if close:
            ws.fake_closed_by = "server"
            asyncio.ensure_future(ws.close(1000, ""))
        done.append(ws.fake_id)
    return done


async def op_close(conn_spec, code, reason):
    done = []
    for ws in targets(conn_spec):
        if ws.state is not State.OPEN:
            continue
        ws.fake_closed_by = "server"
        asyncio.ensure_future(ws.close(code, reason))
        done.append(ws.fake_id)
    return done


async def op_drop(conn_spec, discard_unread=False):
    done = []
    for ws in targets(conn_spec):
        ws.fake_closed_by = "drop"
        ws.fake_discard_unread = discard_unread
        ws.transport.abort()
        done.append(ws.fake_id)
    return done


async def op_pause(conn_spec, paused):
    done = []
    for ws in targets(conn_spec):
        if paused:
            ws.fake_gate.clear()
        else:
            ws.fake_gate.set()
        done.append(ws.fake_id)
    return done


def run_on_loop(coro, timeout=10.0):
    return asyncio.run_coroutine_threadsafe(coro, STATE.loop).result(timeout)


# --------------------------------------------------------------------------------------------
# HTTPS side


def parse_body(content_type, raw):
    ctype = (content_type or "").lower()
    if "application/json" in ctype:
        try:
            return json.loads(raw.decode("utf-8")), None
        except ValueError as error:
            return raw.decode("utf-8", "replace"), "invalid_json: %s" % error
    if "x-www-form-urlencoded" in ctype or (not ctype and raw):
        try:
            fields = urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True,
                                           strict_parsing=False)
            if fields or not raw:
                return {k: (v[0] if len(v) == 1 else v) for k, v in fields.items()}, None
        except ValueError:
            pass
    if not raw:
        return {}, None
    return raw.decode("utf-8", "replace"), None


def maybe_json(value):
    """Form posts carry objects (view, blocks) as JSON strings."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def bearer(auth):
    if auth and auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return None


def web_api(method, args, auth, body_token):
    """Returns (status, headers, response object, extra event fields)."""
    token = bearer(auth)
    extra = {}
    if method == "apps.connections.open":
        if token is None:
            error = "invalid_auth" if body_token else "not_authed"
            return 200, {}, {"ok": False, "error": error}, extra
        if token.startswith("xoxb-") or token.startswith("xoxp-"):
            return 200, {}, {"ok": False, "error": "not_allowed_token_type"}, extra
        if token != STATE.app_token:
            return 200, {}, {"ok": False, "error": "invalid_auth"}, extra
        ticket = str(uuid.uuid4())
        with STATE.lock:
            STATE.tickets[ticket] = "issued"
            STATE.tickets_issued += 1
        extra["ticket"] = ticket
        url = "wss://127.0.0.1:%d/link/?ticket=%s&app_id=%s" % (STATE.ws_port, ticket, APP_ID)
        return 200, {}, {"ok": True, "url": url}, extra

    if token is None or token != STATE.bot_token:
        if token is not None and token == STATE.app_token:
            return 200, {}, {"ok": False, "error": "not_allowed_token_type"}, extra
        return 200, {}, {"ok": False, "error": "invalid_auth"}, extra
    if not isinstance(args, dict):
        return 200, {}, {"ok": False, "error": "invalid_arguments"}, extra

    if method == "auth.test":
        return 200, {}, {"ok": True, "url": "https://fake.slack.test/", "team": "Fake",
                         "user": "infrabot", "team_id": TEAM_ID, "user_id": BOT_USER,
                         "bot_id": BOT_ID}, extra

    if method == "chat.postMessage":
        channel = args.get("channel")
        if not channel:
            return 200, {}, {"ok": False, "error": "channel_not_found"}, extra
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return 200, {}, {"ok": False, "error": "no_text"}, extra
        ts = STATE.next_ts()
        message = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID, "app_id": APP_ID,
                   "team": TEAM_ID, "ts": ts, "text": args.get("text", "")}
        if args.get("blocks") is not None:
            message["blocks"] = maybe_json(args["blocks"])
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        with STATE.lock:
            STATE.posted_ts.add((channel, ts))
        return 200, {}, {"ok": True, "channel": channel, "ts": ts, "message": message}, extra

    if method == "chat.postEphemeral":
        if not args.get("channel"):
            return 200, {}, {"ok": False, "error": "channel_not_found"}, extra
        if not args.get("user"):
            return 200, {}, {"ok": False, "error": "user_not_in_channel"}, extra
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return 200, {}, {"ok": False, "error": "no_text"}, extra
        return 200, {}, {"ok": True, "message_ts": STATE.next_ts()}, extra

    if method == "chat.update":
        channel, ts = args.get("channel"), args.get("ts")
        if not channel:
            return 200, {}, {"ok": False, "error": "channel_not_found"}, extra
        with STATE.lock:
            posted = (channel, ts) in STATE.posted_ts
        if not ts or not posted:
            # Slack updates only a message the app posted (by its channel and ts).
            return 200, {}, {"ok": False, "error": "message_not_found"}, extra
        message = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID,
                   "text": args.get("text", "")}
        if args.get("blocks") is not None:
            message["blocks"] = maybe_json(args["blocks"])
        return 200, {}, {"ok": True, "channel": channel, "ts": ts,
                         "text": args.get("text", ""), "message": message}, extra

    if method in ("views.open", "views.push", "views.update"):
        view = maybe_json(args.get("view"))
        if not isinstance(view, dict):
            return 200, {}, {"ok": False, "error": "invalid_arguments"}, extra
        if method in ("views.open", "views.push"):
            trigger = args.get("trigger_id") or args.get("interactivity_pointer")
            if not trigger:
                return 200, {}, {"ok": False, "error": "invalid_arguments"}, extra
            with STATE.lock:
                pushed_at = STATE.triggers.get(trigger)
                reused = trigger in STATE.used_triggers
                STATE.used_triggers.add(trigger)
            if pushed_at is not None:
                extra["trigger_age_ms"] = round((time.monotonic() - pushed_at) * 1000.0, 1)
            if reused:
                return 200, {}, {"ok": False, "error": "exchanged_trigger_id"}, extra
            with STATE.lock:
                view_id = "V%d" % next(STATE.view_counter)
        else:
            view_id = args.get("view_id")
            if not view_id and not args.get("external_id"):
                return 200, {}, {"ok": False, "error": "invalid_arguments"}, extra
            if not view_id:
                with STATE.lock:
                    view_id = "V%d" % next(STATE.view_counter)
        answer = dict(view)
        answer.update({"id": view_id, "team_id": TEAM_ID, "app_id": APP_ID, "bot_id": BOT_ID,
                       "state": {"values": {}}, "hash": "%d.fake%04d" % (time.time(), 1),
                       "root_view_id": view_id, "previous_view_id": None,
                       "private_metadata": view.get("private_metadata", ""),
                       "callback_id": view.get("callback_id", ""),
                       "external_id": args.get("external_id", view.get("external_id", ""))})
        return 200, {}, {"ok": True, "view": answer}, extra

    if method == "conversations.info":
        with STATE.lock:
            channels = STATE.config.get("channels") or {}
            scopes = [s.strip() for s in str(STATE.config.get("oauth_scopes", "")).split(",")]
        channel_id = args.get("channel")
        channel = channels.get(channel_id) if isinstance(channel_id, str) else None
        private = bool(channel and channel.get("is_private"))
        needed = "groups:read" if private else "channels:read"
        if channel is not None and needed not in scopes:
            return 200, {}, {"ok": False, "error": "missing_scope", "needed": needed,
                             "provided": ",".join(s for s in scopes if s)}, extra
        if channel is None or (private and not channel.get("is_member")):
            return 200, {}, {"ok": False, "error": "channel_not_found"}, extra
        return 200, {}, {"ok": True, "channel": {
            "id": channel_id, "name": channel.get("name", ""), "is_channel": not private,
            "is_group": False, "is_private": private,
            "is_archived": bool(channel.get("is_archived", False)),
            "is_member": bool(channel.get("is_member", False)), "context_team_id": TEAM_ID}}, extra

    if method == "users.info":
        user = args.get("user")
        if not user:
            return 200, {}, {"ok": False, "error": "user_not_found"}, extra
        return 200, {}, {"ok": True, "user": {
            "id": user, "team_id": TEAM_ID, "name": "alice", "real_name": "Alice Example",
            "deleted": False, "is_bot": False, "tz": "Europe/London",
            "profile": {"real_name": "Alice Example", "display_name": "alice",
                        "email": "alice@example.com"}}}, extra

    return 200, {}, {"ok": False, "error": "unknown_method"}, extra


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "fake-slack"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def read_body(self):
        return read_body(self)

    def reply(self, status, obj, headers=None):
        data = obj.encode("utf-8") if isinstance(obj, str) else json.dumps(obj).encode("utf-8")
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def hang_up(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def handle_any(self):
        try:
            raw = self.read_body()
        except Exception:
            log_exception("reading a request body")
            self.close_connection = True
            return
        try:
            split = urllib.parse.urlsplit(self.path)
            parts = [p for p in split.path.split("/") if p]
            if len(parts) >= 2 and parts[0] == "api":
                self.handle_api(parts[1], split.query, raw)
            elif len(parts) >= 2 and parts[0] == "response":
                self.handle_response_url("/".join(parts[1:]), raw)
            elif len(parts) == 2 and parts[0] == "control":
                self.handle_control(parts[1], raw)
            else:
                self.reply(404, {"ok": False, "error": "not_found"})
        except (BrokenPipeError, ConnectionError, ssl.SSLError):
            self.close_connection = True
        except Exception as error:
            log_exception("handling %s %s" % (self.command, self.path))
            try:
                self.reply(500, {"ok": False, "error": "fake_internal_error",
                                 "detail": repr(error)})
            except Exception:
                self.close_connection = True

    def apply_rule(self, rule):
        """Answers with an injected failure; returns True when the call is fully answered."""
        if rule.get("delay_ms"):
            time.sleep(float(rule["delay_ms"]) / 1000.0)
        if rule.get("action") == "close":
            self.hang_up()
            return True
        if rule.get("status") is None and rule.get("body") is None:
            return False  # delay only
        status = int(rule.get("status") or 200)
        body = rule.get("body")
        if body is None:
            body = default_fail_body(status)
        self.reply(status, body, rule.get("headers") or {})
        return True

    def handle_api(self, method, query, raw):
        content_type = self.headers.get("Content-Type")
        body, parse_error = parse_body(content_type, raw)
        args = body
        if self.command == "GET" or (query and isinstance(body, dict)):
            params = {k: (v[0] if len(v) == 1 else v)
                      for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()}
            args = dict(params, **(body if isinstance(body, dict) else {}))
        auth = self.headers.get("Authorization")
        with STATE.lock:
            STATE.api_calls[method] = STATE.api_calls.get(method, 0) + 1
        event = {"event": "api", "method": method, "auth": auth, "content_type": content_type,
                 "body": body}
        rule = STATE.take_rule(method)
        if rule is not None and (rule.get("status") is not None or rule.get("body") is not None
                                 or rule.get("action") == "close"):
            status = int(rule.get("status") or 200)
            injected_body = rule.get("body")
            if injected_body is None:
                injected_body = default_fail_body(status)
            event.update({"status": status if rule.get("action") != "close" else 0,
                          "injected": True,
                          "error": injected_body.get("error")
                          if isinstance(injected_body, dict) else None})
            emit(event)
            self.apply_rule(rule)
            return
        if rule is not None:
            self.apply_rule(rule)  # delay only, then the normal answer
        if parse_error is not None:
            status, headers, answer, extra = 200, {}, {"ok": False, "error": "invalid_json"}, {}
        else:
            body_token = args.get("token") if isinstance(args, dict) else None
            status, headers, answer, extra = web_api(method, args, auth, body_token)
            if method != "apps.connections.open" and bearer(auth) == STATE.bot_token:
                with STATE.lock:
                    headers = dict(headers, **{"x-oauth-scopes": STATE.config["oauth_scopes"]})
        if answer.get("ok") and content_type and "application/json" in content_type.lower() \
                and "charset" not in content_type.lower():
            answer["warning"] = "missing_charset"
            answer["response_metadata"] = {"warnings": ["missing_charset"]}
        event.update({"status": status, "injected": False, "error": answer.get("error")})
        if answer.get("ok") and answer.get("ts"):
            event["answer_ts"] = answer["ts"]  # the message a later chat.update must name
        event.update(extra)
        emit(event)
        self.reply(status, answer, headers)

    def handle_response_url(self, rid, raw):
        body, _ = parse_body(self.headers.get("Content-Type"), raw)
        with STATE.lock:
            use = STATE.response_urls.get(rid, 0) + 1
            STATE.response_urls[rid] = use
        rule = STATE.take_rule("response_url")
        event = {"event": "response_url", "id": rid, "body": body, "use": use,
                 "auth": self.headers.get("Authorization")}
        if rule is not None and (rule.get("status") is not None or rule.get("body") is not None
                                 or rule.get("action") == "close"):
            event.update({"status": 0 if rule.get("action") == "close"
                          else int(rule.get("status") or 200), "injected": True})
            emit(event)
            self.apply_rule(rule)
            return
        if rule is not None:
            self.apply_rule(rule)
        if use > RESPONSE_URL_USES:
            event.update({"status": 404, "injected": False})
            emit(event)
            self.reply(404, {"ok": False, "error": "expired_url"})
            return
        event.update({"status": 200, "injected": False})
        emit(event)
        self.reply(200, {"ok": True})

    def handle_control(self, op, raw):
        try:
            request = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except ValueError as error:
            self.reply(400, {"ok": False, "error": "bad_json", "detail": str(error)})
            return
        if not isinstance(request, dict):
            self.reply(400, {"ok": False, "error": "bad_json", "detail": "not an object"})
            return
        self.reply(200, control(op, request))


def control(op, request):
    conn = request.get("conn")
    try:
        if op == "push" and isinstance(request.get("frames"), list):
            sent = run_on_loop(op_push_many(conn, request["frames"]), timeout=60.0)
            return {"ok": bool(sent) or not request["frames"], "conn": sent[0] if sent else None,
                    "conns": sent, **({} if sent else {"error": "no_live_connection"})}
        if op == "push":
            if "frame" not in request:
                return {"ok": False, "error": "frame_required"}
            frame = request.get("frame")
            text = frame if isinstance(frame, str) else json.dumps(frame)
            after = request.get("redeliver_after_ms")
            redelivered = bool(after) and isinstance(frame, dict) and isinstance(
                frame.get("envelope_id"), str)
            to = request.get("redeliver_to", "lowest")
            if to not in ("lowest", "other"):
                return {"ok": False, "error": "bad_redeliver_to"}
            if redelivered:
                # Before the push: an ack can arrive before op_push returns.
                with STATE.lock:
                    STATE.acked.discard(frame["envelope_id"])
            sent = run_on_loop(op_push(conn, text, frame if isinstance(frame, dict) else None))
            if sent and redelivered:
                asyncio.run_coroutine_threadsafe(
                    redeliver(frame, float(after), int(request.get("max_retries", 3)),
                              sent[0], to),
                    STATE.loop)
            return {"ok": bool(sent), "conn": sent[0] if sent else None, "conns": sent,
                    **({} if sent else {"error": "no_live_connection"})}
        if op == "push_raw":
            text = request.get("text", "")
            sent = run_on_loop(op_push(conn, str(text), None))
            return {"ok": bool(sent), "conn": sent[0] if sent else None, "conns": sent,
                    **({} if sent else {"error": "no_live_connection"})}
        if op == "disconnect":
            done = run_on_loop(op_disconnect(conn, request.get("reason", "refresh_requested"),
                                             bool(request.get("close", False))))
            return {"ok": bool(done), "conn": done[0] if done else None, "conns": done,
                    **({} if done else {"error": "no_live_connection"})}
        if op == "close":
            done = run_on_loop(op_close(conn, int(request.get("code", 1000)),
                                        str(request.get("reason", ""))))
            return {"ok": bool(done), "conn": done[0] if done else None, "conns": done,
                    **({} if done else {"error": "no_live_connection"})}
        if op == "drop":
            done = run_on_loop(op_drop(conn, bool(request.get("discard_unread", False))))
            return {"ok": bool(done), "conn": done[0] if done else None, "conns": done,
                    **({} if done else {"error": "no_live_connection"})}
        if op == "pause":
            done = run_on_loop(op_pause(conn, bool(request.get("paused", True))))
            return {"ok": bool(done), "conn": done[0] if done else None, "conns": done,
                    **({} if done else {"error": "no_live_connection"})}
        if op == "fail_next":
            method = request.get("method")
            if not isinstance(method, str) or not method:
                return {"ok": False, "error": "method_required"}
            rule = {"remaining": int(request.get("count", 1)),
                    "status": request.get("status"),
                    "headers": request.get("headers") or {},
                    "body": request.get("body"),
                    "delay_ms": request.get("delay_ms") or 0,
                    "action": request.get("action", "respond")}
            if rule["status"] is None and rule["body"] is None and not rule["delay_ms"] \
                    and rule["action"] != "close":
                rule["status"] = 500
            with STATE.lock:
                STATE.rules.setdefault(method, []).append(rule)
            return {"ok": True}
        if op == "config":
            with STATE.lock:
                for key in ("send_hello", "hello_delay_ms", "server_ping_interval",
                            "max_connections", "connection_lifetime", "refresh_grace",
                            "oauth_scopes", "channels"):
                    if key in request:
                        STATE.config[key] = request[key]
                return {"ok": True, "config": dict(STATE.config)}
        if op == "state":
            live = STATE.live_ids()
            with STATE.lock:
                paused = sorted(i for i, ws in STATE.conns.items() if not ws.fake_gate.is_set())
                return {"ok": True, "live": live, "paused": paused, "opened": STATE.opened,
                        "acks": STATE.acks, "api_calls": dict(STATE.api_calls),
                        "response_urls": dict(STATE.response_urls),
                        "tickets_issued": STATE.tickets_issued, "ws_refused": STATE.ws_refused,
                        "pushed": STATE.pushed_count, "ws_port": STATE.ws_port,
                        "fail_rules": {m: sum(r["remaining"] for r in rs)
                                       for m, rs in STATE.rules.items() if rs},
                        "config": dict(STATE.config)}
        if op == "reset":
            STATE.reset_counters()
            return {"ok": True}
        if op == "mark":
            emit({"event": "mark", "label": request.get("label")})
            return {"ok": True}
        return {"ok": False, "error": "unknown_control_op"}
    except Exception as error:
        log_exception("control %s" % op)
        return {"ok": False, "error": "control_failed", "detail": repr(error)}


class Server(TlsHTTPServer):
    log_name = "fake_slack"


# --------------------------------------------------------------------------------------------


def make_tls_context(cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def remember_sni(ssl_object, server_name, _context):
        try:
            ssl_object.fake_sni = server_name
        except Exception:
            pass
        return None

    context.sni_callback = remember_sni
    return context


def loop_exception_handler(loop, context):
    exception = context.get("exception")
    if isinstance(exception, (ConnectionError, ssl.SSLError, ConnectionClosed)):
        return
    log("asyncio: %s %s" % (context.get("message"), repr(exception) if exception else ""))


def start_ws(context, ready):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.set_exception_handler(loop_exception_handler)
    STATE.loop = loop

    async def start():
        server = await websockets.serve(
            ws_handler, "127.0.0.1", 0, ssl=context, create_protocol=FakeProtocol,
            ping_interval=None, compression=None, max_size=None, max_queue=None,
            close_timeout=2)
        STATE.ws_port = server.sockets[0].getsockname()[1]
        return server

    try:
        loop.run_until_complete(start())
    except Exception:
        log_exception("starting the WSS server")
        os._exit(2)
    ready.set()
    loop.run_forever()


def watch_parent(parent):
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


# --------------------------------------------------------------------------------------------
# --self-test: runs a second copy of this fake and checks its WebSocket side with the websockets
# client (the C++ self-test covers the HTTP side with libcurl).  Exit status 0 = all passed.


def self_test(cert, key, ca):
    import subprocess
    import urllib.request

    failures = []

    def check(condition, what):
        if not condition:
            failures.append(what)
            log("SELF-TEST FAILED: %s" % what)

    child = subprocess.Popen(
        [sys.executable, "-u", os.path.abspath(__file__), "--tls", cert, key,
         "--server-ping-interval", "0.2"], stdout=subprocess.PIPE, text=True)
    first = child.stdout.readline()
    if not first.startswith("PORT "):
        log("SELF-TEST: the fake did not start")
        return 1
    port = int(first.split()[1])
    events = []
    threading.Thread(target=lambda: [events.append(json.loads(l)) for l in child.stdout],
                     daemon=True).start()
    client_tls = ssl.create_default_context(cafile=ca)

    def post(path, obj=None, token=None):
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if token:
            headers["Authorization"] = "Bearer " + token
        request = urllib.request.Request("https://127.0.0.1:%d%s" % (port, path),
                                         data=json.dumps(obj or {}).encode(), headers=headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, context=client_tls, timeout=20) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return {"http_status": error.code}

    def seen(kind, **fields):
        return [e for e in events if e["event"] == kind
                and all(e.get(k) == v for k, v in fields.items())]

    async def until(condition, timeout=3.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            await asyncio.sleep(0.01)
        return bool(condition())

    async def control(op, body=None):
        return await asyncio.get_running_loop().run_in_executor(None, post, "/control/" + op,
                                                                body or {})

    async def connect(extra=""):
        answer = await asyncio.get_running_loop().run_in_executor(
            None, post, "/api/apps.connections.open", {}, "xapp-1-TEST")
        url = answer["url"] + extra
        ws = await websockets.connect(url, ssl=client_tls, max_size=None, ping_interval=None,
                                      close_timeout=1)
        hello = json.loads(await asyncio.wait_for(ws.recv(), 3))
        return ws, hello, url

    async def run():
        # hello, ws_open, a ticket works once
        a, hello, url = await connect("&debug_reconnects=true")
        check(hello.get("type") == "hello" and hello.get("num_connections") == 1, "hello #1")
        check(hello.get("connection_info", {}).get("app_id") == "A0FAKE", "hello app_id")
        check(await until(lambda: seen("ws_open", conn=1)), "ws_open conn 1")
        check("debug_reconnects=true" in seen("ws_open", conn=1)[0]["query"], "query recorded")
        try:
            await websockets.connect(url, ssl=client_tls)
            check(False, "a reused ticket was accepted")
        except websockets.exceptions.InvalidStatusCode as error:
            check(error.status_code == 401, "reused ticket -> 401")
        b, hello_b, _ = await connect()
        check(hello_b.get("num_connections") == 2, "hello #2 counts 2 connections")

        # push, ack, payload, fragmented, oversized, non-JSON
        answer = await control("push", {"frame": {"envelope_id": "e1", "type": "events_api",
                                                  "payload": {"trigger_id": "1.2.x"}}})
        check(answer.get("conn") == 1, "push goes to the lowest live connection")
        frame = json.loads(await asyncio.wait_for(a.recv(), 3))
        check(frame.get("envelope_id") == "e1", "pushed frame arrives")
        await a.send(json.dumps({"envelope_id": "e1", "payload": {"text": "hi"}}))
        await a.send(iter(['{"envelope_id":', '"e2"}']))
        await a.send(json.dumps({"envelope_id": "e3", "payload": {"text": "x" * 21000}}))
        await a.send("not json")
        await a.send(json.dumps({"envelope_id": "e1"}))
        check(await until(lambda: len(seen("ack")) >= 4 and seen("frame")), "acks recorded")
        e1 = seen("ack", envelope_id="e1")
        check(e1 and e1[0]["payload"] == {"text": "hi"} and e1[0]["latency_ms"] is not None
              and e1[0]["pushed_conn"] == 1 and not e1[0]["duplicate"], "ack e1 fields")
        check(len(e1) == 2 and e1[1]["duplicate"], "second ack of e1 is a duplicate")
        e2 = seen("ack", envelope_id="e2")
        check(e2 and e2[0]["fragmented"], "fragmented ack flagged")
        e3 = seen("ack", envelope_id="e3")
        check(e3 and e3[0]["over_limit"] and not e3[0]["fragmented"], "over-limit ack flagged")
        check(seen("frame", text="not json"), "non-JSON frame recorded")
        answer = await control("push_raw", {"conn": 2, "text": ""})
        check(answer.get("conn") == 2 and await asyncio.wait_for(b.recv(), 3) == "", "push_raw")

        # pings: client pings answered and recorded; server pings; pause and resume
        pong = await a.ping(b"client-1")
        await asyncio.wait_for(pong, 2)
        check(await until(lambda: seen("ping", conn=1, data="client-1")), "client ping recorded")
        check(await until(lambda: seen("pong", conn=1, data="Ping from applink-fake")),
              "server ping answered by the client library")
        check((await control("pause", {"conn": 1, "paused": True})).get("conns") == [1], "pause")
        pong = await a.ping(b"client-2")
        try:
            await asyncio.wait_for(asyncio.shield(pong), 0.6)
            check(False, "a paused connection answered a ping")
        except asyncio.TimeoutError:
            pass
        pings_before = len(seen("server_ping", conn=1))
        await asyncio.sleep(0.5)
        check(len(seen("server_ping", conn=1)) == pings_before, "no server pings while paused")
        state = await control("state")
        check(state.get("paused") == [1], "state lists the paused connection")
        await control("pause", {"conn": 1, "paused": False})
        await asyncio.wait_for(pong, 2)

        # spread over two connections
        frames = [{"envelope_id": "s%d" % i, "type": "events_api", "payload": {}}
                  for i in range(10)]
        answer = await control("push", {"conn": "spread", "frames": frames})
        check(sorted(answer.get("conns", [])) == [1] * 5 + [2] * 5, "spread 5 + 5")
        for ws in (a, b):
            got = [json.loads(await asyncio.wait_for(ws.recv(), 3)) for _ in range(5)]
            check(all(g["envelope_id"].startswith("s") for g in got), "spread frames arrive")

        # redelivery of an envelope that is not acked
        await control("push", {"frame": {"envelope_id": "r1", "type": "events_api",
                                         "payload": {}, "retry_attempt": 0, "retry_reason": ""},
                               "redeliver_after_ms": 300, "max_retries": 3})
        first = json.loads(await asyncio.wait_for(a.recv(), 3))
        again = json.loads(await asyncio.wait_for(a.recv(), 3))
        check(first["retry_attempt"] == 0 and again["envelope_id"] == "r1"
              and again["retry_attempt"] == 1 and again["retry_reason"] == "timeout",
              "redelivered with retry_attempt 1")
        await a.send(json.dumps({"envelope_id": "r1"}))
        try:
            extra = await asyncio.wait_for(a.recv(), 0.5)
            check(False, "redelivered after the ack: %s" % extra)
        except asyncio.TimeoutError:
            pass

        # redelivery to another connection than the last one
        await control("push", {"conn": 1, "frame": {"envelope_id": "o1", "type": "events_api",
                                                    "payload": {}, "retry_attempt": 0,
                                                    "retry_reason": ""},
                               "redeliver_after_ms": 300, "max_retries": 2,
                               "redeliver_to": "other"})
        first = json.loads(await asyncio.wait_for(a.recv(), 3))
        again = json.loads(await asyncio.wait_for(b.recv(), 3))
        third = json.loads(await asyncio.wait_for(a.recv(), 3))
        check(first["envelope_id"] == again["envelope_id"] == third["envelope_id"] == "o1"
              and again["retry_attempt"] == 1 and third["retry_attempt"] == 2,
              "redeliver_to other alternates connections")
        answer = await control("push", {"frame": {"envelope_id": "o2"}, "redeliver_after_ms": 300,
                                        "redeliver_to": "nowhere"})
        check(answer.get("error") == "bad_redeliver_to", "bad redeliver_to refused")

        # disconnect (+close), drop
        await control("disconnect", {"conn": 2, "reason": "refresh_requested", "close": True})
        message = json.loads(await asyncio.wait_for(b.recv(), 3))
        check(message == {"type": "disconnect", "reason": "refresh_requested",
                          "debug_info": {"host": "applink-fake"}}, "disconnect message")
        try:
            await asyncio.wait_for(b.recv(), 3)
            check(False, "socket still open after disconnect close=true")
        except websockets.ConnectionClosed:
            check(b.close_code == 1000, "closed with 1000")
        check(await until(lambda: seen("ws_close", conn=2, by="server")), "ws_close conn 2")
        await control("drop", {"conn": "all"})
        try:
            await asyncio.wait_for(a.recv(), 3)
            check(False, "socket still open after drop")
        except websockets.ConnectionClosed:
            check(a.close_code == 1006, "drop -> 1006 without close frame")
        check(await until(lambda: seen("ws_close", conn=1, by="drop")), "ws_close conn 1")
        check((await control("state")).get("live") == [], "no live connection left")

        # too_many_websockets, injected handshake failure, lifetime
        await control("config", {"max_connections": 1})
        c, _, _ = await connect()
        d, _, _ = await connect()
        message = json.loads(await asyncio.wait_for(d.recv(), 3))
        check(message.get("reason") == "too_many_websockets", "too_many_websockets")
        await control("config", {"max_connections": 10, "connection_lifetime": 0.3,
                                 "refresh_grace": 0.2})
        await control("fail_next", {"method": "ws.connect", "count": 1, "status": 503})
        try:
            await connect()
            check(False, "injected 503 at the handshake")
        except websockets.exceptions.InvalidStatusCode as error:
            check(error.status_code == 503, "handshake 503")
        e, hello_e, _ = await connect()
        check(hello_e["debug_info"]["approximate_connection_time"] == 1, "hello reports lifetime")
        message = json.loads(await asyncio.wait_for(e.recv(), 3))
        check(message.get("reason") == "refresh_requested", "lifetime -> refresh_requested")
        try:
            await asyncio.wait_for(e.recv(), 3)
        except websockets.ConnectionClosed:
            pass
        check(e.close_code == 1000, "lifetime -> closed")
        for ws in (c, d):
            await ws.close()

    try:
        asyncio.run(asyncio.wait_for(run(), 60))
    except Exception:
        failures.append("exception")
        log_exception("SELF-TEST")
    started = time.monotonic()
    child.send_signal(signal.SIGTERM)
    try:
        child.wait(5)
    except subprocess.TimeoutExpired:
        child.kill()
        failures.append("no exit on SIGTERM")
    check(time.monotonic() - started < 2, "prompt exit on SIGTERM")
    log("self-test: %s" % ("OK" if not failures else "%d failure(s)" % len(failures)))
    return 0 if not failures else 1


def main():
    global STATE
    parser = argparse.ArgumentParser()
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), required=True)
    parser.add_argument("--app-token", default="xapp-1-TEST")
    parser.add_argument("--bot-token", default="xoxb-TEST")
    parser.add_argument("--server-ping-interval", type=float, default=10.0)
    parser.add_argument("--max-connections", type=int, default=10)
    parser.add_argument("--self-test", metavar="CA_FILE",
                        help="check the WebSocket side against a second copy, then exit")
    args = parser.parse_args()
    if args.self_test:
        sys.exit(self_test(args.tls[0], args.tls[1], args.self_test))

    def stop(*_):
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    STATE = State_(args.app_token, args.bot_token)
    STATE.config["server_ping_interval"] = args.server_ping_interval
    STATE.config["max_connections"] = args.max_connections
    context = make_tls_context(args.tls[0], args.tls[1])

    ready = threading.Event()
    threading.Thread(target=start_ws, args=(context, ready), daemon=True).start()
    if not ready.wait(15):
        log("WSS server did not start")
        os._exit(2)

    server = Server(("127.0.0.1", 0), Handler)
    server.tls_context = context
    https_port = server.server_address[1]
    with _print_lock:
        sys.stdout.write("PORT %d\n" % https_port)
        sys.stdout.flush()
    emit({"event": "started", "https_port": https_port, "ws_port": STATE.ws_port})
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    server.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    main()
