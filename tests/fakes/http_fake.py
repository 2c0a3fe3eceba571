#!/usr/bin/python3
"""A scriptable HTTP/1.1 (or HTTPS) server for tests. Standard library only.

Usage:  /usr/bin/python3 -u http_fake.py [--tls CERT KEY]

Start-up and output (stdout, one line each, flushed):
  PORT <n>                 first line: the port it listens on (127.0.0.1, chosen by the OS)
  {"method": ..., ...}     then one JSON object per request received, printed as soon as the
                           request (headers and body) has been read, before any answer:
      method       "POST"
      path         "/echo?x=1"          (request target as sent, query included)
      version      "HTTP/1.1"
      headers      [["Host", "127.0.0.1:4242"], ...]   names as sent, in arrival order
      body_len     123
      body_sha256  "<hex sha256 of the body>"
      client_port  51234                (same value across calls = the connection was reused)
      tls          true | false
Diagnostics (TLS handshake failures, tracebacks) go to stderr. SIGTERM ends it.

Behaviour by path (any method; the query string is ignored for routing):
  /echo                      200, body = the request's JSON line (as above), application/json
  /body                      200, body = the request body, verbatim (application/octet-stream)
  /status/<code>             <code>, body {"status": <code>} (application/json); no body and
                             no Content-Length for 1xx, 204 and 304
  /delay/<ms>                waits <ms> milliseconds, then 200 with body "delayed <ms>"
  /big/<bytes>               200, <bytes> bytes of a fixed pattern, with Content-Length and
                             X-Body-Sha256 (hex sha256 of the body)
  /big-chunked/<bytes>       the same, sent with Transfer-Encoding: chunked (no Content-Length)
  /close-before-response     reads the request, then closes the connection (FIN), no answer
  /reset-before-response     reads the request, then resets the connection (RST), no answer
  /close-after-headers       sends "200" and headers announcing Content-Length: 1000, plus
                             10 body bytes, then closes (a truncated response)
  /never                     reads the request, then never answers (holds the connection open
                             until the client goes away or the fake is stopped)
  anything else              404, body {"status": 404}

Query parameters understood on every path that answers normally:
  h=Name:Value               add a response header (repeatable; order kept; URL-encode as
                             needed, e.g. h=X-Amzn-ErrorType%3AServiceException)
  body=<text>                replace the response body with <text> (not for /echo, /big*)
  delay=<ms>                 wait <ms> milliseconds before answering
  close=1                    send "Connection: close" and close after answering

Connections are HTTP/1.1 keep-alive; every connection gets its own thread, so slow requests do
not hold up others. Request bodies may be sized (Content-Length) or chunked.
"""

import argparse
import hashlib
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

from fake_http_server import TlsHTTPServer, read_body

_print_lock = threading.Lock()


def emit(obj):
    line = json.dumps(obj, separators=(",", ":"))
    with _print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def pattern(n):
    unit = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_\n"
    whole, rest = divmod(n, len(unit))
    return unit * whole + unit[:rest]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle and the
    # client's delayed ACK add ~40 ms to every response.
    disable_nagle_algorithm = True
    server_version = "http-fake"
    sys_version = ""

    def log_message(self, fmt, *args):  # keep stderr quiet; stdout is the protocol
        pass

    # Every method goes to one handler.
    def __getattr__(self, name):
        if name.startswith("do_"):
            return self.handle_any
        raise AttributeError(name)

    def read_body(self):
        return read_body(self)

    def handle_any(self):
        body = self.read_body()
        record = {
            "method": self.command,
            "path": self.path,
            "version": self.request_version,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_len": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "client_port": self.client_address[1],
            "tls": isinstance(self.connection, ssl.SSLSocket),
        }
        emit(record)

        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        extra = []
        for h in query.get("h", []):
            name, _, value = h.partition(":")
            extra.append((name.strip(), value.strip()))
        close = query.get("close", ["0"])[0] == "1"
        if "delay" in query:
            time.sleep(int(query["delay"][0]) / 1000.0)

        parts = [p for p in url.path.split("/") if p]
        route = parts[0] if parts else ""
        arg = parts[1] if len(parts) > 1 else None

        if route == "close-before-response":
            self.drop(reset=False)
            return
        if route == "reset-before-response":
            self.drop(reset=True)
            return
        if route == "never":
            try:
                while self.connection.recv(65536):
                    pass
            except OSError:
                pass
            self.close_connection = True
            return
        if route == "close-after-headers":
            self.send_response_only(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 10)
            self.wfile.flush()
            self.drop(reset=False)
            return

        status = 200
        content_type = "application/json"
        chunked = False
        if route == "echo":
            payload = json.dumps(record).encode()
        elif route == "body":
            payload = body
            content_type = "application/octet-stream"
        elif route == "status" and arg is not None:
            status = int(arg)
            payload = json.dumps({"status": status}).encode()
        elif route == "delay" and arg is not None:
            time.sleep(int(arg) / 1000.0)
            payload = ("delayed %s" % arg).encode()
            content_type = "text/plain"
        elif route in ("big", "big-chunked") and arg is not None:
            payload = pattern(int(arg))
            content_type = "application/octet-stream"
            extra.append(("X-Body-Sha256", hashlib.sha256(payload).hexdigest()))
            chunked = route == "big-chunked"
        else:
            status = 404
            payload = json.dumps({"status": 404}).encode()
        if "body" in query and route not in ("echo", "big", "big-chunked"):
            payload = query["body"][0].encode()
        no_body = status in (204, 304) or 100 <= status < 200

        self.send_response_only(status)
        self.send_header("Content-Type", content_type)
        for name, value in extra:
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            step = 64 * 1024
            for i in range(0, len(payload), step):
                piece = payload[i:i + step]
                self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif no_body:
            self.end_headers()
        else:
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        self.wfile.flush()

    def drop(self, reset):
        self.close_connection = True
        try:
            if reset:
                # Zero linger + close = RST. Detach first so socketserver's own
                # shutdown(SHUT_WR) cannot send a FIN before it.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                os.close(self.connection.detach())
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Server(TlsHTTPServer):
    log_name = "http_fake"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = parser.parse_args()

    server = Server(("127.0.0.1", 0), Handler)
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls[0], args.tls[1])
        server.tls_context = context
    sys.stdout.write("PORT %d\n" % server.server_address[1])
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
