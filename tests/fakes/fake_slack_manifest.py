#!/usr/bin/python3
"""A fake of Slack's App Manifest API and configuration token rotation (infra-bot register slack).

  /usr/bin/python3 -u fake_slack_manifest.py --tls CERT KEY --config-token xoxe.xoxp-1-… \
      --refresh-token xoxe-1-…

Listens on 127.0.0.1 (port chosen by the OS), HTTPS (plain HTTP without --tls). stdout, one line
each, flushed: "PORT <n>" first, then one JSON object per Web API call, printed before the answer:
  {"method": "apps.manifest.create", "auth_ok": true, "write": true, "ok": true,
   "error": null, "app_id": "A0FAKE1"|null, "content_type": "..."}
("write" is true for the calls that change something at Slack: tooling.tokens.rotate,
apps.manifest.create, apps.manifest.update.) No token is ever printed.

Web API (POST /api/<method>, form or JSON bodies, Slack's {"ok": false, "error"} answers):
  tooling.tokens.rotate   refresh_token (no Authorization): a valid refresh token gives a new
                          pair {"token": "xoxe.xoxp-1-ROT<n>…", "refresh_token": "xoxe-1-REF<n>…",
                          "exp": now + 12 h, "iat", "team_id", "user_id"}; the refresh token is
                          used up (a second use: invalid_refresh_token); the old configuration
                          token keeps working until it expires (like Slack's).
  apps.manifest.validate  manifest (JSON text), app_id optional; Authorization: Bearer <a valid
                          configuration token> (else invalid_auth / not_authed).
                          A manifest without display_information.name -> invalid_manifest with
                          errors [{"pointer", "message"}]; an unknown app_id -> app_not_found.
  apps.manifest.create    manifest -> app_id "A0FAKE<n>", credentials, oauth_authorize_url.
  apps.manifest.update    app_id, manifest -> {"app_id", "permissions_updated": false}.
  apps.manifest.export    app_id -> {"manifest": the stored manifest plus what Slack adds on
                          export (settings.is_hosted false, _metadata)}.

Control API (plain JSON, never printed):
  GET  /_fake/state   {"apps": {id: manifest}, "rotations": n, "config_tokens": n valid}
  POST /_fake/apps    {"A0…": manifest, …}: apps that exist already
  POST /_fake/fail    {"method": "...", "error": "ratelimited", "count": 1, "status": 200}
  POST /_fake/sync    prints {"sync": token}
"""

import argparse
import json
import secrets
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

from fake_http_server import TlsHTTPServer, read_body

_lock = threading.Lock()


def emit(obj):
    with _lock:
        sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
        sys.stdout.flush()


WRITES = {"tooling.tokens.rotate", "apps.manifest.create", "apps.manifest.update"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        read_body(self)
        if self.path.startswith("/_fake/state"):
            with self.server.lock:
                return self.reply(200, {"apps": self.server.apps,
                                        "rotations": self.server.rotations,
                                        "config_tokens": len(self.server.config_tokens)})
        self.reply(404, {"ok": False, "error": "unknown_method"})

    def do_POST(self):
        raw = read_body(self)
        path = self.path.split("?")[0]
        if path.startswith("/_fake/"):
            return self.control(path, raw)
        if not path.startswith("/api/"):
            return self.reply(404, {"ok": False, "error": "unknown_method"})
        method = path[len("/api/"):]
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            try:
                args = json.loads(raw.decode() or "{}")
            except ValueError:
                args = {}
        else:
            args = dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))
        record = {"method": method, "auth_ok": False, "write": method in WRITES, "ok": False,
                  "error": None, "app_id": args.get("app_id"), "content_type": content_type}
        status, answer = self.api(method, args, record)
        record["ok"] = bool(answer.get("ok"))
        record["error"] = answer.get("error")
        if answer.get("app_id"):
            record["app_id"] = answer["app_id"]
        emit(record)
        self.reply(status, answer)

    def control(self, path, raw):
        doc = json.loads(raw.decode() or "null")
        server = self.server
        with server.lock:
            if path == "/_fake/apps":
                server.apps.update(doc or {})
                return self.reply(200, {"ok": True})
            if path == "/_fake/fail":
                server.fails.append(dict(doc, count=doc.get("count", 1)))
                return self.reply(200, {"ok": True})
        if path == "/_fake/sync":
            emit({"sync": str((doc or {}).get("token", ""))})
            return self.reply(200, {"ok": True})
        return self.reply(404, {"error": "no control endpoint %s" % path})

    def api(self, method, args, record):
        server = self.server
        with server.lock:
            for fail in server.fails:
                if fail["method"] == method and fail["count"] > 0:
                    fail["count"] -= 1
                    record["auth_ok"] = True
                    return fail.get("status", 200), {"ok": False,
                                                     "error": fail.get("error", "internal_error")}
            if method == "tooling.tokens.rotate":
                record["auth_ok"] = True
                refresh = args.get("refresh_token", "")
                if refresh not in server.refresh_tokens:
                    return 200, {"ok": False, "error": "invalid_refresh_token"}
                server.refresh_tokens.discard(refresh)
                server.rotations += 1
                n = server.rotations
                token = "xoxe.xoxp-1-ROT%d%sSECRET" % (n, secrets.token_hex(8))
                new_refresh = "xoxe-1-REF%d%sSECRET" % (n, secrets.token_hex(8))
                server.config_tokens.add(token)
                server.refresh_tokens.add(new_refresh)
                now = int(time.time())
                return 200, {"ok": True, "token": token, "refresh_token": new_refresh,
                             "team_id": "T0FAKE", "user_id": "U0FAKE", "iat": now,
                             "exp": now + 43200}
            auth = self.headers.get("Authorization", "")
            token = auth[len("Bearer "):] if auth.startswith("Bearer ") else args.get("token")
            if not token:
                return 200, {"ok": False, "error": "not_authed"}
            if token not in server.config_tokens:
                return 200, {"ok": False, "error": "invalid_auth"}
            record["auth_ok"] = True
            app_id = args.get("app_id")
            if method in ("apps.manifest.validate", "apps.manifest.create",
                          "apps.manifest.update"):
                try:
                    manifest = json.loads(args.get("manifest", ""))
                except ValueError:
                    manifest = None
                if not isinstance(manifest, dict) or \
                        not manifest.get("display_information", {}).get("name"):
                    return 200, {"ok": False, "error": "invalid_manifest", "errors": [
                        {"pointer": "/display_information/name",
                         "message": "Field is required"}]}
            if method in ("apps.manifest.update", "apps.manifest.export") or \
                    (method == "apps.manifest.validate" and app_id):
                if app_id not in server.apps:
                    return 200, {"ok": False, "error": "app_not_found"}
            if method == "apps.manifest.validate":
                return 200, {"ok": True}
            if method == "apps.manifest.create":
                server.app_counter += 1
                new_id = "A0FAKE%d" % server.app_counter
                server.apps[new_id] = manifest
                return 200, {"ok": True, "app_id": new_id,
                             "credentials": {"client_id": "1.%d" % server.app_counter,
                                             "client_secret": "cs" + secrets.token_hex(8),
                                             "verification_token": "vt" + secrets.token_hex(8),
                                             "signing_secret": "ss" + secrets.token_hex(8)},
                             "oauth_authorize_url":
                                 "https://slack.com/oauth/v2/authorize?client_id=1.%d&scope="
                                 "chat:write,commands,app_mentions:read,users:read"
                                 % server.app_counter}
            if method == "apps.manifest.update":
                server.apps[app_id] = manifest
                return 200, {"ok": True, "app_id": app_id, "permissions_updated": False}
            if method == "apps.manifest.export":
                exported = json.loads(json.dumps(server.apps[app_id]))
                exported["_metadata"] = {"major_version": 2, "minor_version": 1}
                exported.setdefault("settings", {})["is_hosted"] = False
                return 200, {"ok": True, "manifest": exported}
            return 200, {"ok": False, "error": "unknown_method"}


class Server(TlsHTTPServer):
    log_name = "fake_slack_manifest"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--config-token", action="append", default=[])
    parser.add_argument("--refresh-token", action="append", default=[])
    args = parser.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    server.lock = threading.RLock()
    server.config_tokens = set(args.config_token)
    server.refresh_tokens = set(args.refresh_token)
    server.apps = {}
    server.fails = []
    server.rotations = 0
    server.app_counter = 0
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls[0], args.tls[1])
        server.tls_context = context
    sys.stdout.write("PORT %d\n" % server.server_address[1])
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
