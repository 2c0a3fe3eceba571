#!/usr/bin/python3
"""A fake of Discord's application API for infra-bot register discord.

  /usr/bin/python3 -u fake_discord_admin.py --tls CERT KEY --token BOT_TOKEN --app-id 1234 \
      [--app-name infra-bot] [--guild 5678]

Listens on 127.0.0.1 (port chosen by the OS), HTTPS (plain HTTP without --tls). stdout, one line
each, flushed: "PORT <n>" first, then one JSON object per API call, printed before the answer:
  {"method": "PUT", "route": "guild_commands"|"me"|null, "path": "...", "status": 200,
   "auth_ok": true, "user_agent": "...", "write": true|false, "writes": n (PUTs so far)}
No token is ever printed.

Routes (base /api/v10, `Authorization: Bot <token>`; anything else 401 {"message": "401:
Unauthorized", "code": 0}):
  GET /applications/@me                              {"id", "name", "bot_public", "flags", …}
  GET /applications/{app}/guilds/{guild}/commands    the guild's commands as Discord keeps them
                                                     (id, application_id, version, guild_id,
                                                     type, nsfw, …), [] at first
  PUT /applications/{app}/guilds/{guild}/commands    bulk overwrite: a JSON array of commands;
                                                     answers the new list (counted in "writes")
  another app id or guild: 403 {"message": "Missing Access", "code": 50001}.

Control API (plain JSON, never printed):
  GET  /_fake/state     {"commands": {guild: [...]}, "writes": n, "last_put": [...] | null (the
                        body of the last PUT, as sent)}
  POST /_fake/commands  {"guild": "5678", "commands": [...]}: what the guild has (server fields
                        are added as on a PUT)
  POST /_fake/fail      {"route": "me"|"guild_commands", "status": 429, "retry_after": 0.05,
                        "count": 1}
  POST /_fake/sync      prints {"sync": token}
"""

import argparse
import json
import re
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler

from fake_http_server import TlsHTTPServer, read_body

_lock = threading.Lock()
COMMANDS = re.compile(r"^/api/v10/applications/([^/]+)/guilds/([^/]+)/commands$")


def emit(obj):
    with _lock:
        sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
        sys.stdout.flush()


def stored_command(server, guild, command, index):
    out = {"id": str(900000000000000000 + index), "application_id": server.app_id,
           "version": str(1000000000000000000 + server.writes), "default_member_permissions": None,
           "type": 1, "name": "", "name_localizations": None, "description": "",
           "description_localizations": None, "guild_id": guild, "nsfw": False,
           "dm_permission": True, "integration_types": [0], "contexts": None}
    out.update(command)
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.handle_any(read_body(self))

    def do_POST(self):
        self.handle_any(read_body(self))

    def do_PUT(self):
        self.handle_any(read_body(self))

    def control(self, path, raw):
        server = self.server
        doc = json.loads(raw.decode() or "null")
        with server.lock:
            if path == "/_fake/state":
                return self.reply(200, {"commands": server.commands, "writes": server.writes,
                                        "last_put": server.last_put})
            if path == "/_fake/commands":
                guild = str(doc["guild"])
                server.commands[guild] = [stored_command(server, guild, c, i)
                                          for i, c in enumerate(doc["commands"])]
                return self.reply(200, {"ok": True})
            if path == "/_fake/fail":
                server.fails.append(dict(doc, count=doc.get("count", 1)))
                return self.reply(200, {"ok": True})
        if path == "/_fake/sync":
            emit({"sync": str((doc or {}).get("token", ""))})
            return self.reply(200, {"ok": True})
        return self.reply(404, {"error": "no control endpoint %s" % path})

    def handle_any(self, raw):
        server = self.server
        path = self.path.split("?")[0]
        if path.startswith("/_fake/"):
            return self.control(path, raw)
        match = COMMANDS.match(path)
        route = "me" if path == "/api/v10/applications/@me" else \
            "guild_commands" if match else None
        auth_ok = self.headers.get("Authorization", "") == "Bot " + server.token
        record = {"method": self.command, "route": route, "path": path, "auth_ok": auth_ok,
                  "user_agent": self.headers.get("User-Agent"),
                  "write": self.command in ("PUT", "POST", "PATCH", "DELETE")}
        status, answer, headers = self.route(route, match, raw, auth_ok)
        record["status"] = status
        record["writes"] = server.writes
        emit(record)
        self.reply(status, answer, headers)

    def route(self, route, match, raw, auth_ok):
        server = self.server
        with server.lock:
            for fail in server.fails:
                if fail.get("route") in (None, route) and fail["count"] > 0:
                    fail["count"] -= 1
                    status = int(fail.get("status", 500))
                    if status == 429:
                        after = float(fail.get("retry_after", 0.05))
                        return 429, {"message": "You are being rate limited.",
                                     "retry_after": after, "global": False}, \
                            [("Retry-After", str(max(1, int(after))))]
                    return status, {"message": "injected", "code": 0}, []
            if not auth_ok:
                return 401, {"message": "401: Unauthorized", "code": 0}, []
            if route == "me" and self.command == "GET":
                return 200, {"id": server.app_id, "name": server.app_name, "icon": None,
                             "description": "", "bot_public": False,
                             "bot_require_code_grant": False, "flags": 0,
                             "bot": {"id": server.app_id, "username": server.app_name,
                                     "bot": True}}, []
            if route == "guild_commands":
                app, guild = match.group(1), match.group(2)
                if app != server.app_id or (server.guild and guild != server.guild):
                    return 403, {"message": "Missing Access", "code": 50001}, []
                if self.command == "GET":
                    return 200, server.commands.get(guild, []), []
                if self.command == "PUT":
                    try:
                        commands = json.loads(raw.decode())
                    except ValueError:
                        return 400, {"message": "400: Bad Request", "code": 50109}, []
                    if not isinstance(commands, list):
                        return 400, {"message": "Invalid Form Body", "code": 50035}, []
                    server.writes += 1
                    server.last_put = commands
                    server.commands[guild] = [stored_command(server, guild, c, i)
                                              for i, c in enumerate(commands)]
                    return 200, server.commands[guild], []
            return 404, {"message": "404: Not Found", "code": 0}, []


class Server(TlsHTTPServer):
    log_name = "fake_discord_admin"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--token", required=True)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--app-name", default="infra-bot")
    parser.add_argument("--guild", default="")
    args = parser.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    server.lock = threading.RLock()
    server.token, server.app_id, server.app_name = args.token, args.app_id, args.app_name
    server.guild = args.guild
    server.commands = {}
    server.fails = []
    server.writes = 0
    server.last_put = None
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls[0], args.tls[1])
        server.tls_context = context
    sys.stdout.write("PORT %d\n" % server.server_address[1])
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
