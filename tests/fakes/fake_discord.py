#!/usr/bin/python3
"""A fake Discord for tests: the Gateway (WSS) and the REST API v10 (HTTPS), over TLS on loopback.

Run with Debian's python3 (python3-websockets 10.4, python3-aiohttp 3.8):

  /usr/bin/python3 -u fake_discord.py --tls CERT KEY [--token BOT_TOKEN] [--app-id ID]
                                      [--user-id ID] [--heartbeat-interval MS] [--guild ID]

Two listeners on 127.0.0.1, ports chosen by the OS, one asyncio loop:
  HTTPS  REST under /api/v10 and the control API under /_control/ (aiohttp).
  WSS    the Gateway: "/" (GET /gateway/bot's url) and "/resume" (READY's resume_gateway_url),
         both expecting ?v=10&encoding=json (python3-websockets, same certificate).

stdout (one line each, flushed):
  PORT <https_port>        first line (tests/support/python_fake.hpp reads it)
  then one JSON object per event, always with "event" and "t" (seconds since start):
    {"event":"started","https_port":n,"ws_port":n,"gateway_url":"wss://127.0.0.1:n"}
    {"event":"ws_open","conn":n,"path":"/","query":"v=10&encoding=json"}
    {"event":"hello_sent","conn":n,"heartbeat_interval":ms}
    {"event":"heartbeat","conn":n,"d":seq|null,"acked":bool}
    {"event":"identify","conn":n,"ok":bool,"intents":n,"properties":{..},"session_id":".."|null}
                                       (the token itself is never printed: "token_ok")
    {"event":"resume","conn":n,"ok":bool,"session_id":"..","seq":n,"replayed":n}
    {"event":"dispatch","conn":n|null,"t":"..","s":n,"held":bool}   held: recorded, not sent
    {"event":"reconnect_sent","conn":n}  {"event":"invalid_session_sent","conn":n,"resumable":b}
    {"event":"frame","conn":n,"op":n|null,"text":".."}   any other client message
    {"event":"ws_close","conn":n,"code":n|null,"by":"client"|"server"|"lost"}
    {"event":"rest","method":"..","path":"..","route":"..","status":n,"body":..,"ua_ok":bool}
  stderr: diagnostics only.

Gateway behaviour:
  - Hello {"op":10,"d":{"heartbeat_interval":<config>}} on connect; each op 1 is answered with op 11
    unless "stop_acks" is set; op 2 Identify checks d.token (bare or "Bot "-prefixed) against the
    bot token (wrong: close 4004 "Authentication failed."; a second Identify on a connection: close
    4005), starts session "sess-<n>" and sends READY {v, user {id, username, bot}, guilds [],
    session_id, resume_gateway_url "wss://127.0.0.1:<ws_port>/resume", application {id, flags}}.
  - op 6 Resume {token, session_id, seq}: an unknown or dropped session gets op 9 false; else every
    dispatch of that session with s > seq is sent again in order, then RESUMED.
  - A session stays resumable when its link drops or closes with a code other than 1000/1001.
  - Dispatches carry s (per session, from 1). Interactions pushed while no session is identified
    wait and go out right after the next READY.

Control API (HTTPS, no auth; POST a JSON object (or GET), get a JSON object):
  /_control/push            {"d":{..},"t":"INTERACTION_CREATE","hold":false}
                            to the live session; "hold": record it in the session (so a Resume
                            replays it) without sending it (what a dying link loses). No live
                            session: kept in the last session (replayed on its resume) or, when
                            there is none, queued for the next READY.
                            -> {"ok":true,"delivered":"live"|"held"|"queued","seq":n|null}
  /_control/mode            any of {"stop_acks":bool,"heartbeat_interval":ms}
  /_control/reconnect       sends op 7 on the live connection(s)
  /_control/invalid_session {"resumable":bool}: op 9; not resumable also drops the session
  /_control/close           {"code":4000,"reason":".."} closes the live connection(s) with it
  /_control/drop            aborts the live connection(s) (no close frame)
  /_control/config          any of {"session_start_limit":{"total","remaining","reset_after",
                            "max_concurrency"},"heartbeat_interval":ms,"token":".."}
  /_control/rate_limit      {"route":"PUT /applications/{app}/guilds/{guild}/commands"|"global",
                            "count":1,"retry_after":1.5,"global":false} the next `count` requests
                            of that route (or of any route: "global") get 429 {message,
                            retry_after, global} with Retry-After (seconds, rounded up);
                            {"route":..,"limit":5,"window":2.0} sets a route's bucket, its window
                            starting afresh (requests over the limit in the window get 429 with
                            the bucket's reset_after; default 50 per 1 s)
  /_control/requests        (GET) {"requests":[{method,path,query,route,headers (Authorization
                            value redacted: "Bot <redacted>"),auth_ok (Authorization is "Bot
                            <token>"),ua_ok,body (as sent),time,status}],"ua_violations":[..],
                            "command_writes":n,"callbacks":{..}}
  /_control/commands        {"guild":"..","app":".." (default --app-id),"commands":[..]} sets what
                            Discord holds for the guild, server fields added as on a PUT (given
                            ones, id or version too, kept); not a write, not a request. Without
                            "commands" it only reads. -> {"ok":true,"commands":[..]}
  /_control/gateway         (GET) {"identify":n,"resume":n,"heartbeat":n,"acks":n,"closes":[{conn,
                            code,by}],"live":[conns],"sessions":{id:{"seq":n,"live":bool}},
                            "opened":n,"dispatches":n}
  /_control/reset           clears recorded requests, counters, 429 rules and commands
  /_control/mark            {"label":".."} emits {"event":"mark","label":..}

REST (/api/v10; every answer has X-RateLimit-Limit/-Remaining/-Reset/-Reset-After/-Bucket for
its route; a User-Agent not starting with "DiscordBot (" gets 400 {"code":40333,..} and is
recorded as a violation):
  GET   /gateway/bot                        Authorization: Bot <token> (else 401 {"code":0,
        "message":"401: Unauthorized"}) -> {url, shards 1, session_start_limit {..}}
  POST  /interactions/{id}/{token}/callback 204 (records the body); a second callback for the same
        interaction -> 400 {"code":40060,"message":"Interaction has already been acknowledged."}
  PATCH /webhooks/{app}/{token}/messages/@original, POST /webhooks/{app}/{token}
        records; 200 with a message object {id, channel_id, content, embeds, components, flags..}
  GET   /applications/@me                   bot token; {id, name, bot_public, ...}
  GET|PUT /applications/{app}/guilds/{guild}/commands   bot token; PUT replaces the list and
        counts a write; GET returns what was PUT with the fields Discord adds (id, application_id,
        guild_id, version, type, nsfw, dm_permission, integration_types, localizations, ..).
        Another application than --app-id, or another guild than --guild (when given): 403
        {"code":50001,"message":"Missing Access"}.
  Route keys (for /_control/rate_limit and "route" in records) are "METHOD /template" as above.
"""

import argparse
import asyncio
import itertools
import json
import math
import os
import signal
import ssl
import sys
import threading
import time
import urllib.parse

import websockets
from aiohttp import web

START = time.monotonic()
_print_lock = threading.Lock()


def emit(obj):
    record = {"event": obj.pop("event"), "t": round(time.monotonic() - START, 4)}
    record.update(obj)
    try:
        line = json.dumps(record, separators=(",", ":"), default=str)
    except Exception:
        line = json.dumps({"event": "emit_error", "detail": repr(record)[:2000]})
    with _print_lock:
        try:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except (BrokenPipeError, OSError):
            os._exit(0)


def log(message):
    try:
        sys.stderr.write("fake_discord: %s\n" % message)
        sys.stderr.flush()
    except OSError:
        pass


class Session:
    def __init__(self, sid):
        self.id = sid
        self.seq = 0
        self.events = []  # (s, t, d)
        self.conn = None  # the live Conn, if any

    def next_seq(self):
        self.seq += 1
        return self.seq


class Conn:
    def __init__(self, cid, ws):
        self.id = cid
        self.ws = ws
        self.identified = False
        self.session = None
        self.closed_by_server = False


class State:
    def __init__(self, token, app_id, user_id, heartbeat_interval, guild):
        self.token = token
        self.app_id = app_id
        self.guild = guild  # "" : any guild
        self.user_id = user_id
        self.heartbeat_interval = heartbeat_interval
        self.stop_acks = False
        self.limit = {"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1}
        self.ws_port = 0
        self.conn_ids = itertools.count(1)
        self.session_ids = itertools.count(1)
        self.message_ids = itertools.count(1000000000000000001)
        self.command_ids = itertools.count(2000000000000000001)
        self.conns = {}
        self.sessions = {}
        self.last_session = None
        self.queued = []  # (t, d) for the next READY
        self.reset()

    def reset(self):
        self.counts = {"identify": 0, "resume": 0, "heartbeat": 0, "acks": 0, "opened": 0,
                       "dispatches": 0}
        self.closes = []
        self.requests = []
        self.ua_violations = []
        self.callbacks = {}  # interaction id -> body
        self.commands = {}  # (app, guild) -> list
        self.command_writes = 0
        self.fail_rules = {}  # route|"global" -> list of rules
        self.buckets = {}  # route -> {"limit","window","used","reset_at"}

    def live(self):
        return [c for c in self.conns.values() if c.identified]


STATE = None


def gateway_url():
    return "wss://127.0.0.1:%d" % STATE.ws_port


# ------------------------------------------------------------------------------------------
# Gateway


async def send(conn, obj):
    try:
        await conn.ws.send(json.dumps(obj, separators=(",", ":")))
    except websockets.ConnectionClosed:
        pass


async def dispatch(session, t, d, hold=False):
    s = session.next_seq()
    session.events.append((s, t, d))
    STATE.counts["dispatches"] += 1
    conn = session.conn
    emit({"event": "dispatch", "conn": conn.id if conn else None, "t": t, "s": s,
          "held": hold or conn is None})
    if conn is not None and not hold:
        await send(conn, {"op": 0, "s": s, "t": t, "d": d})
    return s


def token_ok(token):
    if not isinstance(token, str):
        return False
    if token.startswith("Bot "):
        token = token[4:]
    return token == STATE.token


async def on_identify(conn, d):
    ok = isinstance(d, dict) and token_ok(d.get("token"))
    STATE.counts["identify"] += 1
    if conn.identified:
        emit({"event": "identify", "conn": conn.id, "ok": False, "why": "already_authenticated"})
        await server_close(conn, 4005, "Already authenticated.")
        return
    if not ok:
        emit({"event": "identify", "conn": conn.id, "ok": False, "token_ok": False})
        await server_close(conn, 4004, "Authentication failed.")
        return
    session = Session("sess-%d" % next(STATE.session_ids))
    STATE.sessions[session.id] = session
    STATE.last_session = session
    conn.identified = True
    conn.session = session
    session.conn = conn
    STATE.limit["remaining"] = max(0, STATE.limit["remaining"] - 1)
    emit({"event": "identify", "conn": conn.id, "ok": True, "token_ok": True,
          "intents": d.get("intents"), "properties": d.get("properties"),
          "session_id": session.id})
    ready = {"v": 10, "user": {"id": STATE.user_id, "username": "infra-bot", "bot": True,
                               "discriminator": "0"},
             "guilds": [], "session_id": session.id,
             "resume_gateway_url": gateway_url() + "/resume",
             "application": {"id": STATE.app_id, "flags": 0}}
    await dispatch(session, "READY", ready)
    queued, STATE.queued = STATE.queued, []
    for t, dd in queued:
        await dispatch(session, t, dd)


async def on_resume(conn, d):
    STATE.counts["resume"] += 1
    d = d if isinstance(d, dict) else {}
    if not token_ok(d.get("token")):
        emit({"event": "resume", "conn": conn.id, "ok": False, "token_ok": False})
        await server_close(conn, 4004, "Authentication failed.")
        return
    session = STATE.sessions.get(d.get("session_id"))
    seq = d.get("seq")
    if session is None or not isinstance(seq, int) or seq > session.seq:
        emit({"event": "resume", "conn": conn.id, "ok": False,
              "session_id": d.get("session_id"), "seq": seq})
        await send(conn, {"op": 9, "d": False, "s": None, "t": None})
        emit({"event": "invalid_session_sent", "conn": conn.id, "resumable": False})
        return
    if session.conn is not None and session.conn is not conn:
        old = session.conn
        old.session = None
        old.identified = False
    session.conn = conn
    conn.session = session
    conn.identified = True
    missed = [e for e in session.events if e[0] > seq]
    emit({"event": "resume", "conn": conn.id, "ok": True, "session_id": session.id, "seq": seq,
          "replayed": len(missed)})
    for s, t, dd in missed:
        await send(conn, {"op": 0, "s": s, "t": t, "d": dd})
    await dispatch(session, "RESUMED", None)


async def server_close(conn, code, reason=""):
    conn.closed_by_server = True
    try:
        await conn.ws.close(code=code, reason=reason)
    except Exception:
        pass


async def ws_handler(ws, path=None):
    path = path if path is not None else ws.path
    parsed = urllib.parse.urlsplit(path)
    conn = Conn(next(STATE.conn_ids), ws)
    STATE.conns[conn.id] = conn
    STATE.counts["opened"] += 1
    emit({"event": "ws_open", "conn": conn.id, "path": parsed.path, "query": parsed.query})
    try:
        await send(conn, {"op": 10, "d": {"heartbeat_interval": STATE.heartbeat_interval},
                          "s": None, "t": None})
        emit({"event": "hello_sent", "conn": conn.id,
              "heartbeat_interval": STATE.heartbeat_interval})
        async for message in ws:
            if isinstance(message, bytes):
                emit({"event": "frame", "conn": conn.id, "binary": True, "size": len(message)})
                continue
            try:
                obj = json.loads(message)
            except ValueError:
                obj = None
            op = obj.get("op") if isinstance(obj, dict) else None
            if op == 1:
                STATE.counts["heartbeat"] += 1
                acked = not STATE.stop_acks
                emit({"event": "heartbeat", "conn": conn.id, "d": obj.get("d"), "acked": acked})
                if acked:
                    STATE.counts["acks"] += 1
                    await send(conn, {"op": 11})
            elif op == 2:
                await on_identify(conn, obj.get("d"))
            elif op == 6:
                await on_resume(conn, obj.get("d"))
            else:
                emit({"event": "frame", "conn": conn.id, "op": op, "text": message[:2000]})
    except websockets.ConnectionClosed:
        pass
    finally:
        STATE.conns.pop(conn.id, None)
        code = ws.close_code
        by = "server" if conn.closed_by_server else ("client" if code is not None and code != 1006
                                                     else "lost")
        STATE.closes.append({"conn": conn.id, "code": code, "by": by})
        emit({"event": "ws_close", "conn": conn.id, "code": code, "by": by})
        session = conn.session
        if session is not None and session.conn is conn:
            session.conn = None
            if by == "client" and code in (1000, 1001):
                STATE.sessions.pop(session.id, None)  # the session ends with 1000/1001


# ------------------------------------------------------------------------------------------
# REST

ROUTES = [
    ("GET", ("gateway", "bot"), "GET /gateway/bot"),
    ("POST", ("interactions", None, None, "callback"), "POST /interactions/{id}/{token}/callback"),
    ("PATCH", ("webhooks", None, None, "messages", "@original"),
     "PATCH /webhooks/{app}/{token}/messages/@original"),
    ("POST", ("webhooks", None, None), "POST /webhooks/{app}/{token}"),
    ("GET", ("applications", "@me"), "GET /applications/@me"),
    ("GET", ("applications", None, "guilds", None, "commands"),
     "GET /applications/{app}/guilds/{guild}/commands"),
    ("PUT", ("applications", None, "guilds", None, "commands"),
     "PUT /applications/{app}/guilds/{guild}/commands"),
]


def match_route(method, parts):
    for m, template, key in ROUTES:
        if m != method or len(template) != len(parts):
            continue
        if all(t is None or t == p for t, p in zip(template, parts)):
            return key
    return None


def jresp(status, obj, headers=None):
    if status == 204:
        return web.Response(status=204, headers=headers or {})
    return web.Response(status=status, text=json.dumps(obj), content_type="application/json",
                        headers=headers or {})


def bucket_headers(route, now):
    b = STATE.buckets.setdefault(route, {"limit": 50, "window": 1.0, "used": 0, "reset_at": 0.0})
    if now >= b["reset_at"]:
        b["used"] = 0
        b["reset_at"] = now + b["window"]
    b["used"] += 1
    remaining = b["limit"] - b["used"]
    reset_after = max(0.0, b["reset_at"] - now)
    headers = {"X-RateLimit-Limit": str(b["limit"]),
               "X-RateLimit-Remaining": str(max(0, remaining)),
               "X-RateLimit-Reset": "%.3f" % (time.time() + reset_after),
               "X-RateLimit-Reset-After": "%.3f" % reset_after,
               "X-RateLimit-Bucket": "fake-%08x" % (hash(route) & 0xffffffff)}
    return headers, remaining < 0, reset_after


def too_many(retry_after, is_global, headers, scope):
    headers = dict(headers)
    headers["Retry-After"] = str(int(math.ceil(retry_after)))
    headers["X-RateLimit-Scope"] = scope
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    return jresp(429, {"message": "You are being rate limited.", "retry_after": retry_after,
                       "global": is_global}, headers)


def take_rule(key):
    rules = STATE.fail_rules.get(key)
    if not rules:
        return None
    rule = rules[0]
    rule["count"] -= 1
    if rule["count"] <= 0:
        rules.pop(0)
    return rule


def bot_auth_ok(request):
    return request.headers.get("Authorization") == "Bot " + STATE.token


def unauthorized(headers):
    return jresp(401, {"code": 0, "message": "401: Unauthorized"}, headers)


def stored_command(app, guild, command, given_ids):
    """A command as Discord keeps (and answers) it. given_ids: keep an id, application_id,
    guild_id or version the command already has (seeding), else Discord's own (a PUT)."""
    cid = str(next(STATE.command_ids))
    out = {"id": cid, "application_id": app, "version": cid, "default_member_permissions": None,
           "type": 1, "name": "", "name_localizations": None, "description": "",
           "description_localizations": None, "guild_id": guild, "nsfw": False,
           "dm_permission": True, "integration_types": [0], "contexts": None}
    given = dict(command) if isinstance(command, dict) else {}
    if not given_ids:
        for key in ("id", "application_id", "guild_id", "version"):
            given.pop(key, None)
    out.update(given)
    return out


def message_object(app, body):
    body = body if isinstance(body, dict) else {}
    return {"id": str(next(STATE.message_ids)), "type": 20, "channel_id": "300000000000000001",
            "application_id": app, "webhook_id": app, "content": body.get("content", ""),
            "embeds": body.get("embeds", []), "components": body.get("components", []),
            "flags": body.get("flags", 0), "author": {"id": STATE.user_id, "bot": True},
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}


async def handle_api(request):
    raw = await request.read()
    text = raw.decode("utf-8", "replace")
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = text
    tail = request.match_info["tail"]
    parts = tuple(p for p in tail.split("/") if p != "")
    route = match_route(request.method, parts)
    now = time.monotonic()
    headers_seen = {k: ("%s <redacted>" % v.split(" ", 1)[0] if k.lower() == "authorization"
                        else v) for k, v in request.headers.items()}
    record = {"method": request.method, "path": "/api/v10/" + "/".join(parts),
              "query": request.query_string, "route": route, "headers": headers_seen,
              "body": body, "time": round(now - START, 4), "auth_ok": bot_auth_ok(request)}
    STATE.requests.append(record)
    response = await api_answer(request, route, parts, body, now, record)
    record["status"] = response.status
    emit({"event": "rest", "method": request.method, "path": record["path"], "route": route,
          "status": response.status, "body": body, "ua_ok": record.get("ua_ok", True)})
    return response


async def api_answer(request, route, parts, body, now, record):
    ua = request.headers.get("User-Agent", "")
    record["ua_ok"] = ua.startswith("DiscordBot (")
    if not record["ua_ok"]:
        STATE.ua_violations.append({"method": request.method, "path": record["path"],
                                    "user_agent": ua})
        return jresp(400, {"code": 40333, "message": "internal network error"})
    if route is None:
        return jresp(404, {"code": 0, "message": "404: Not Found"})
    headers, over, reset_after = bucket_headers(route, now)
    rule = take_rule("global")
    if rule is not None:
        return too_many(rule["retry_after"], True, headers, "global")
    rule = take_rule(route)
    if rule is not None:
        return too_many(rule["retry_after"], bool(rule.get("global")), headers, "user")
    if over:
        return too_many(round(reset_after, 3), False, headers, "user")

    if route == "GET /gateway/bot":
        if not bot_auth_ok(request):
            return unauthorized(headers)
        return jresp(200, {"url": gateway_url(), "shards": 1,
                           "session_start_limit": dict(STATE.limit)}, headers)
    if route == "POST /interactions/{id}/{token}/callback":
        iid = parts[1]
        if iid in STATE.callbacks:
            return jresp(400, {"code": 40060,
                               "message": "Interaction has already been acknowledged."}, headers)
        STATE.callbacks[iid] = body
        if request.query.get("with_response") in ("true", "True", "1"):
            return jresp(200, {"interaction": {"id": iid, "type": 2}}, headers)
        return jresp(204, None, headers)
    if route == "PATCH /webhooks/{app}/{token}/messages/@original":
        return jresp(200, message_object(parts[1], body), headers)
    if route == "POST /webhooks/{app}/{token}":
        return jresp(200, message_object(parts[1], body), headers)
    if route == "GET /applications/@me":
        if not bot_auth_ok(request):
            return unauthorized(headers)
        return jresp(200, {"id": STATE.app_id, "name": "infra-bot", "description": "",
                           "bot_public": False, "bot_require_code_grant": False, "flags": 0,
                           "bot": {"id": STATE.user_id, "username": "infra-bot", "bot": True},
                           "verify_key": "0" * 64, "install_params": None}, headers)
    if route.endswith("/commands"):
        if not bot_auth_ok(request):
            return unauthorized(headers)
        key = (parts[1], parts[3])
        if key[0] != STATE.app_id or (STATE.guild and key[1] != STATE.guild):
            return jresp(403, {"code": 50001, "message": "Missing Access"}, headers)
        if request.method == "GET":
            return jresp(200, STATE.commands.get(key, []), headers)
        if not isinstance(body, list):
            return jresp(400, {"code": 50035, "message": "Invalid Form Body"}, headers)
        stored = [stored_command(key[0], key[1], command, False) for command in body]
        STATE.commands[key] = stored
        STATE.command_writes += 1
        return jresp(200, stored, headers)
    return jresp(404, {"code": 0, "message": "404: Not Found"}, headers)


# ------------------------------------------------------------------------------------------
# Control


async def control(request):
    op = request.match_info["op"]
    raw = await request.read()
    try:
        args = json.loads(raw) if raw else {}
    except ValueError:
        return jresp(400, {"ok": False, "error": "bad_json"})
    if not isinstance(args, dict):
        args = {}
    live = STATE.live()
    if op == "push":
        t = args.get("t", "INTERACTION_CREATE")
        d = args.get("d")
        hold = bool(args.get("hold"))
        session = live[0].session if live else None
        if session is not None:
            s = await dispatch(session, t, d, hold=hold)
            return jresp(200, {"ok": True, "delivered": "held" if hold else "live", "seq": s})
        if STATE.last_session is not None and STATE.last_session.id in STATE.sessions:
            s = await dispatch(STATE.last_session, t, d, hold=True)
            return jresp(200, {"ok": True, "delivered": "held", "seq": s})
        STATE.queued.append((t, d))
        emit({"event": "queued", "t": t})
        return jresp(200, {"ok": True, "delivered": "queued", "seq": None})
    if op == "mode":
        if "stop_acks" in args:
            STATE.stop_acks = bool(args["stop_acks"])
        if "heartbeat_interval" in args:
            STATE.heartbeat_interval = int(args["heartbeat_interval"])
        return jresp(200, {"ok": True, "stop_acks": STATE.stop_acks,
                           "heartbeat_interval": STATE.heartbeat_interval})
    if op in ("reconnect", "invalid_session", "close", "drop"):
        conns = list(STATE.conns.values())
        for conn in conns:
            if op == "reconnect":
                await send(conn, {"op": 7, "d": None, "s": None, "t": None})
                emit({"event": "reconnect_sent", "conn": conn.id})
            elif op == "invalid_session":
                resumable = bool(args.get("resumable", False))
                await send(conn, {"op": 9, "d": resumable, "s": None, "t": None})
                emit({"event": "invalid_session_sent", "conn": conn.id, "resumable": resumable})
                if not resumable and conn.session is not None:
                    STATE.sessions.pop(conn.session.id, None)
                    conn.session.conn = None
                    conn.session = None
                    conn.identified = False
            elif op == "close":
                await server_close(conn, int(args.get("code", 4000)), str(args.get("reason", "")))
            else:
                conn.closed_by_server = True
                conn.ws.transport.abort()
        return jresp(200, {"ok": bool(conns), "conns": [c.id for c in conns]})
    if op == "config":
        if isinstance(args.get("session_start_limit"), dict):
            STATE.limit.update(args["session_start_limit"])
        if "heartbeat_interval" in args:
            STATE.heartbeat_interval = int(args["heartbeat_interval"])
        if "token" in args:
            STATE.token = str(args["token"])
        return jresp(200, {"ok": True, "session_start_limit": STATE.limit,
                           "heartbeat_interval": STATE.heartbeat_interval})
    if op == "rate_limit":
        route = args.get("route", "global")
        if "limit" in args or "window" in args:
            b = STATE.buckets.setdefault(route, {"limit": 50, "window": 1.0, "used": 0,
                                                 "reset_at": 0.0})
            b["limit"] = int(args.get("limit", b["limit"]))
            b["window"] = float(args.get("window", b["window"]))
            b["used"] = 0  # a fresh window from the next request
            b["reset_at"] = 0.0
        if args.get("count", 0):
            STATE.fail_rules.setdefault(route, []).append(
                {"count": int(args["count"]), "retry_after": float(args.get("retry_after", 1.0)),
                 "global": bool(args.get("global", route == "global"))})
        return jresp(200, {"ok": True})
    if op == "requests":
        return jresp(200, {"ok": True, "requests": STATE.requests,
                           "ua_violations": STATE.ua_violations,
                           "command_writes": STATE.command_writes,
                           "callbacks": STATE.callbacks})
    if op == "commands":
        key = (str(args.get("app", STATE.app_id)), str(args.get("guild", "")))
        if isinstance(args.get("commands"), list):
            STATE.commands[key] = [stored_command(key[0], key[1], command, True)
                                   for command in args["commands"]]
        return jresp(200, {"ok": True, "commands": STATE.commands.get(key, [])})
    if op == "gateway":
        state = dict(STATE.counts)
        state.update({"ok": True, "closes": STATE.closes, "live": [c.id for c in live],
                      "open": sorted(STATE.conns),
                      "sessions": {sid: {"seq": s.seq, "live": s.conn is not None}
                                   for sid, s in STATE.sessions.items()},
                      "stop_acks": STATE.stop_acks, "queued": len(STATE.queued)})
        return jresp(200, state)
    if op == "reset":
        STATE.reset()
        return jresp(200, {"ok": True})
    if op == "mark":
        emit({"event": "mark", "label": args.get("label")})
        return jresp(200, {"ok": True})
    return jresp(404, {"ok": False, "error": "unknown_control_op"})


# ------------------------------------------------------------------------------------------


def watch_parent(parent):
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


async def serve(args):
    global STATE
    STATE = State(args.token, args.app_id, args.user_id, args.heartbeat_interval, args.guild)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.tls[0], args.tls[1])
    ws_server = await websockets.serve(ws_handler, "127.0.0.1", 0, ssl=context,
                                       ping_interval=None, compression=None, max_size=None,
                                       close_timeout=2)
    STATE.ws_port = ws_server.sockets[0].getsockname()[1]
    app = web.Application()
    app.router.add_route("*", "/api/v10/{tail:.*}", handle_api)
    app.router.add_route("*", "/_control/{op}", control)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    https_port = site._server.sockets[0].getsockname()[1]
    with _print_lock:
        sys.stdout.write("PORT %d\n" % https_port)
        sys.stdout.flush()
    emit({"event": "started", "https_port": https_port, "ws_port": STATE.ws_port,
          "gateway_url": gateway_url()})
    await asyncio.Event().wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), required=True)
    parser.add_argument("--token", default="fake-bot-token")
    parser.add_argument("--app-id", default="100000000000000001")
    parser.add_argument("--user-id", default="100000000000000002")
    parser.add_argument("--heartbeat-interval", type=int, default=41250)
    parser.add_argument("--guild", default="", help="the one guild whose commands may be used")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda _loop, ctx: None if isinstance(
        ctx.get("exception"), (ConnectionError, ssl.SSLError, websockets.ConnectionClosed))
        else log("asyncio: %s" % ctx.get("message")))
    try:
        loop.run_until_complete(serve(args))
    except Exception as e:  # pragma: no cover
        log("failed: %r" % e)
        os._exit(2)


if __name__ == "__main__":
    main()
