#!/usr/bin/python3
"""A fault-injecting HTTP proxy in front of a DynamoDB endpoint (dynalite), for tests.

  /usr/bin/python3 tests/fakes/dynamodb_fault_proxy.py --upstream http://127.0.0.1:PORT \
      [--credentials AKID:SECRET[:TOKEN] ...]

It listens on 127.0.0.1 (a port the OS chooses) and prints one line on stdout:

  {"endpoint": "http://127.0.0.1:P", "control": "http://127.0.0.1:P/__control"}

Every other request is forwarded to the upstream (which must be a loopback address) with its
body and headers untouched, the Host header included, so the client's SigV4 signature stays
valid; the answer comes back as the upstream sent it. Before forwarding, faults may be injected:

  latency_ms       wait this long before forwarding (every request)
  error_500_rate   answer 500 {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError"}
  throttle_rate    answer 400 {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException"}
  drop_rate        close the connection without an answer: half of these before forwarding,
                   half after forwarding (the upstream acted: a success the client never sees)
  drop_before_rate, drop_after_rate   the two kinds separately
  script           a list of faults for the next requests, in order, before the rates apply:
                   "pass", "error_500", "throttle", "drop_before", "drop_after"
  seed             seeds the random choice (the same seed gives the same faults)

POST /__control with a JSON object sets any of these (absent keys keep their values; {} after
"reset": true clears all). GET /__control returns the counters: requests, forwarded, error_500,
throttle, drop_before, drop_after, upstream_errors (502 sent: the upstream could not be reached),
signature_ok, signature_bad; GET /__control/requests the last 200 requests: target, content_type,
body (text), verified, reason, fault.

With --credentials, each request's signature is checked with botocore (sigv4_check.py, signing
name "dynamodb"); the result is only recorded, the request is forwarded either way.
Runs until killed or stdin closes.
"""

import argparse
import http.client
import json
import os
import random
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

FAULTS = ("pass", "error_500", "throttle", "drop_before", "drop_after")


class State:
    def __init__(self, upstream, credentials):
        self.lock = threading.Lock()
        self.upstream = upstream
        self.credentials = credentials
        self.settings = {}
        self.script = []
        self.random = random.Random(0)
        self.counters = {}
        self.requests = []
        self.reset()

    def reset(self):
        self.settings = {"latency_ms": 0, "error_500_rate": 0.0, "throttle_rate": 0.0,
                         "drop_before_rate": 0.0, "drop_after_rate": 0.0}
        self.script = []
        self.counters = {name: 0 for name in (
            "requests", "forwarded", "error_500", "throttle", "drop_before", "drop_after",
            "upstream_errors", "signature_ok", "signature_bad")}
        self.requests = []

    def configure(self, data):
        with self.lock:
            if data.get("reset"):
                self.reset()
            for key in ("latency_ms", "error_500_rate", "throttle_rate", "drop_before_rate",
                        "drop_after_rate"):
                if key in data:
                    self.settings[key] = float(data[key])
            if "drop_rate" in data:
                self.settings["drop_before_rate"] = float(data["drop_rate"]) / 2
                self.settings["drop_after_rate"] = float(data["drop_rate"]) / 2
            if "script" in data:
                script = list(data["script"])
                for fault in script:
                    if fault not in FAULTS:
                        raise ValueError("unknown fault %r" % fault)
                self.script = script
            if "seed" in data:
                self.random = random.Random(data["seed"])

    def choose(self):
        with self.lock:
            self.counters["requests"] += 1
            if self.script:
                fault = self.script.pop(0)
            else:
                fault = "pass"
                roll = self.random.random()
                for name, key in (("error_500", "error_500_rate"), ("throttle", "throttle_rate"),
                                  ("drop_before", "drop_before_rate"),
                                  ("drop_after", "drop_after_rate")):
                    if roll < self.settings[key]:
                        fault = name
                        break
                    roll -= self.settings[key]
            if fault != "pass":
                self.counters[fault] += 1
            return fault, self.settings["latency_ms"]

    def count(self, name):
        with self.lock:
            self.counters[name] += 1

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)
            del self.requests[:-200]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "dynamodb-fault-proxy"

    def log_message(self, *_):
        pass

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_json(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "proxy-%d" % time.monotonic_ns())
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self):
        state = self.server.state
        path = urllib.parse.urlsplit(self.path).path
        if path == "/__control":
            with state.lock:
                payload = dict(state.counters)
            return self.send_json(200, payload)
        if path == "/__control/requests":
            with state.lock:
                payload = list(state.requests)
            return self.send_json(200, payload)
        return self.forward(b"")

    def do_POST(self):
        state = self.server.state
        body = self.body()
        if urllib.parse.urlsplit(self.path).path == "/__control":
            try:
                state.configure(json.loads(body or b"{}"))
            except (ValueError, TypeError) as error:
                return self.send_json(400, {"error": str(error)})
            return self.send_json(200, {"ok": True})
        return self.forward(body)

    def forward(self, body):
        state = self.server.state
        headers = list(self.headers.items())
        entry = {"target": self.headers.get("X-Amz-Target"),
                 "content_type": self.headers.get("Content-Type"),
                 "body": body.decode("utf-8", "replace"), "verified": None, "reason": ""}
        if state.credentials:
            import sigv4_check  # botocore: only when asked for
            try:
                sigv4_check.verify(self.command, self.path, headers, body, state.credentials,
                                   services={"dynamodb"})
                entry["verified"] = True
                state.count("signature_ok")
            except sigv4_check.SignatureError as error:
                entry["verified"] = False
                entry["reason"] = str(error)
                state.count("signature_bad")
        fault, latency_ms = state.choose()
        entry["fault"] = fault
        state.record(entry)
        if latency_ms > 0:
            time.sleep(latency_ms / 1000.0)
        if fault == "error_500":
            return self.send_json(500, {
                "__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
                "message": "injected by dynamodb_fault_proxy"})
        if fault == "throttle":
            return self.send_json(400, {
                "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                "message": "Rate of requests exceeds the allowed throughput (injected)."})
        if fault == "drop_before":
            return self.drop()
        upstream = urllib.parse.urlsplit(state.upstream)
        try:
            conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=10)
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                if name.lower() in ("connection", "keep-alive", "proxy-connection"):
                    continue
                conn.putheader(name, value)
            conn.endheaders(body)
            response = conn.getresponse()
            answer = response.read()
            answer_headers = response.getheaders()
            status = response.status
            conn.close()
        except OSError as error:
            state.count("upstream_errors")
            return self.send_json(502, {"__type": "BadGateway", "message": str(error)})
        state.count("forwarded")
        if fault == "drop_after":
            return self.drop()
        self.send_response(status)
        for name, value in answer_headers:
            if name.lower() in ("connection", "keep-alive", "transfer-encoding", "content-length",
                                "date", "server"):
                continue
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        self.wfile.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--credentials", action="append", default=[])
    args = parser.parse_args()
    upstream = urllib.parse.urlsplit(args.upstream)
    if upstream.scheme != "http" or upstream.hostname not in ("127.0.0.1", "::1", "localhost"):
        sys.stderr.write("dynamodb_fault_proxy: the upstream must be http:// on loopback\n")
        return 2
    credentials = {}
    for item in args.credentials:
        parts = item.split(":", 2)
        credentials[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
    server = Server(("127.0.0.1", 0), Handler)
    server.state = State(args.upstream, credentials)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # The signal handler only sets a flag: Event.set there can deadlock with an Event.wait.
    done = threading.Event()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))

    def watch_stdin():
        try:
            while os.read(0, 4096):  # unbuffered: no lock held at interpreter exit
                pass
        except (OSError, ValueError):
            pass
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    sys.stdout.write(json.dumps({"endpoint": "http://127.0.0.1:%d" % port,
                                 "control": "http://127.0.0.1:%d/__control" % port}) + "\n")
    sys.stdout.flush()
    while not stopping and not done.is_set():
        time.sleep(0.1)
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
