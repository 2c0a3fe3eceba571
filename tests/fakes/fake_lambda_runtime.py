#!/usr/bin/python3
"""A fake AWS Lambda service with real functions behind it: the Invoke endpoint for callers, and
a Lambda Runtime API per function for custom runtimes (`infra-bot lambda`) that serve them.

Run with Debian's /usr/bin/python3 (python3-botocore), not another python3:

  /usr/bin/python3 -u fake_lambda_runtime.py --tls CERT KEY --credentials AKID:SECRET[:TOKEN] \
      --function NAME [--function NAME ...] [--timeout-seconds N] [--region R] [--account A]

Invoke side (for the bot; HTTPS on 127.0.0.1, port chosen by the OS):
  POST /2015-03-31/functions/{FunctionName}/invocations, SigV4-signed, checked exactly as
  fake_lambda.py checks it (botocore's SigV4Auth; the same module). A bad signature is 403
  InvalidSignatureException; an unknown function 404 ResourceNotFoundException; a payload over
  6,291,456 bytes 413 RequestEntityTooLargeException.
    X-Amz-Invocation-Type RequestResponse (default): the payload is queued for the function's
      runtime and the caller waits for what the runtime posts:
        …/response  → 200, the posted body, X-Amz-Executed-Version: $LATEST
        …/error     → 200 with X-Amz-Function-Error: Unhandled and the posted error body
        no answer within --timeout-seconds (default 60) → 200 with X-Amz-Function-Error:
                      Unhandled and {"errorMessage": "… Task timed out after N.00 seconds",
                      "errorType": "Sandbox.Timedout"}
        an init error posted by the runtime → 200, X-Amz-Function-Error: Unhandled,
                      {"errorType": "Runtime.InitError", …} for what is waiting
    Event: queued, answered 202 at once. DryRun: 204, nothing queued.

Runtime side (for `infra-bot lambda`; plain HTTP on 127.0.0.1, one port per function, so each
process gets AWS_LAMBDA_RUNTIME_API=127.0.0.1:<its function's port>), base /2018-06-01:
  GET  /runtime/invocation/next                 blocks until an invocation is queued; 200 with the
       payload and Lambda-Runtime-Aws-Request-Id, Lambda-Runtime-Deadline-Ms (now + timeout),
       Lambda-Runtime-Invoked-Function-Arn, Lambda-Runtime-Trace-Id. An invocation whose poller
       went away before it was written is handed to the next poller.
  POST /runtime/invocation/{id}/response        202; 400 for an unknown id or one already answered;
                                                413 over 6,291,456 bytes
  POST /runtime/invocation/{id}/error           202 (body and Lambda-Runtime-Function-Error-Type kept)
  POST /runtime/init/error                      202
  POST /fake/next-status                        test control, {"status": 500}: the next `next`
                                                (or the one waiting now) answers with that status
                                                and {"errorMessage": "fake container error"}

Output on stdout, one line each, flushed:
  PORT <n>                                       the TLS Invoke port, first line
  RUNTIME <function>=<port> [<function>=<port>…]  second line
  then one JSON object per event, each with "event":
    invoke      a call on the Invoke endpoint, printed once read and checked, with the fields of
                fake_lambda.py's request lines (function, function_ref, qualifier, path,
                invocation_type, headers, payload, payload_bytes, verified, reason, access_key,
                region, service, signed_headers, client_port) plus request_id (the runtime's
                Lambda-Runtime-Aws-Request-Id; null when nothing was queued) and answer_status
                (for RequestResponse: the status it will send once the runtime answered;
                null until then — see "answered")
    answered    the Invoke answer for request_id: status, function_error (null or "Unhandled"),
                body (parsed JSON, else the raw text)
    next        a runtime poll arrived: function, client_port
    dispatch    an invocation was handed to a runtime: function, request_id, payload
    response    the runtime posted …/response: function, request_id, status (202/400/413), body
    error       the runtime posted …/error: function, request_id, status, body, error_type
                (Lambda-Runtime-Function-Error-Type), content_type
    init_error  the runtime posted /runtime/init/error: function, body, error_type, content_type
    timeout     nothing answered request_id in time: function, request_id
    next_status a `next` was answered with a scripted status: function, status

Diagnostics go to stderr. SIGTERM ends it.
"""

import argparse
import collections
import datetime
import json
import os
import re
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_http_server import TlsHTTPServer, read_body  # noqa: E402
import sigv4_check  # noqa: E402  (the one SigV4 check of the AWS fakes)

SignatureError = sigv4_check.SignatureError


def verify_signature(method, target, headers, body, credentials):
    return sigv4_check.verify(method, target, headers, body, credentials, services={"lambda"})


def parse_credentials(items):
    return sigv4_check.parse_credentials(items)


PATH_RE = re.compile(r"^/2015-03-31/functions/([^/?]+)/invocations$")
MAX_PAYLOAD = 6_291_456
MAX_LOGGED_PAYLOAD = 64 * 1024
API = "/2018-06-01"

_print_lock = threading.Lock()


def emit(obj):
    line = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    with _print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def log(text):
    sys.stderr.write("fake_lambda_runtime: %s\n" % text)
    sys.stderr.flush()


def split_function(label):
    """(short name, qualifier) of an ARN or name[:qualifier] (as fake_lambda.py reads them)."""
    if label.startswith("arn:"):
        parts = label.split(":")
        return (parts[6] if len(parts) > 6 else label), (parts[7] if len(parts) > 7 else None)
    name, _, qualifier = label.partition(":")
    return name, (qualifier or None)


def as_json(body):
    """The body parsed as JSON, else its text (for event lines)."""
    if len(body) > MAX_LOGGED_PAYLOAD:
        return None
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return body.decode("utf-8", "replace")


def trace_id():
    epoch = "%08x" % int(time.time())
    return "Root=1-%s-%s;Parent=%s;Sampled=0" % (epoch, uuid.uuid4().hex[:24], uuid.uuid4().hex[:16])


class Invocation:
    def __init__(self, function, arn, payload, timeout):
        self.function = function
        self.request_id = str(uuid.uuid4())
        self.arn = arn
        self.payload = payload
        self.deadline_ms = int((time.time() + timeout) * 1000)
        self.trace_id = trace_id()
        self.done = threading.Event()
        self.result = None  # (function_error or None, body bytes)


class Function:
    """One function: its queue of invocations and the ones handed out but not answered."""

    def __init__(self, name, timeout):
        self.name = name
        self.timeout = timeout
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.queue = collections.deque()
        self.pending = {}  # request_id -> Invocation (queued or handed out, not answered)
        self.answered = set()
        self.next_statuses = collections.deque()
        self.port = 0

    def enqueue(self, invocation):
        with self.cond:
            self.pending[invocation.request_id] = invocation
            self.queue.append(invocation)
            self.cond.notify_all()

    def requeue_front(self, invocation):
        with self.cond:
            if invocation.request_id in self.pending:
                self.queue.appendleft(invocation)
                self.cond.notify_all()

    def take(self, still_there):
        """The next invocation (or a scripted status, as an int); None when the poller left."""
        with self.cond:
            while True:
                if self.next_statuses:
                    return self.next_statuses.popleft()
                if self.queue:
                    return self.queue.popleft()
                if not still_there():
                    return None
                self.cond.wait(0.2)

    def script_next_status(self, status):
        with self.cond:
            self.next_statuses.append(status)
            self.cond.notify_all()

    def complete(self, request_id, function_error, body):
        """False when the id is unknown or already answered."""
        with self.cond:
            invocation = self.pending.pop(request_id, None)
            if invocation is None:
                return False
            self.answered.add(request_id)
            if invocation in self.queue:
                self.queue.remove(invocation)
        invocation.result = (function_error, body)
        invocation.done.set()
        return True

    def fail_all(self, body):
        """An init error: everything waiting fails with it."""
        with self.cond:
            waiting = list(self.pending.values())
            self.pending.clear()
            self.queue.clear()
        for invocation in waiting:
            invocation.result = ("Unhandled", body)
            invocation.done.set()

    def known(self, request_id):
        with self.lock:
            return request_id in self.pending, request_id in self.answered


def client_gone(sock):
    """True when the peer closed its end (a readable socket with nothing to read)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class RuntimeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-lambda-runtime"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if body and not any(name.lower() == "content-type" for name, _ in headers):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self):
        read_body(self)
        function = self.server.function
        if self.path != API + "/runtime/invocation/next":
            self.send(404, b'{"errorMessage":"not found","errorType":"NotFound"}')
            return
        emit({"event": "next", "function": function.name, "client_port": self.client_address[1]})
        while True:
            taken = function.take(lambda: not client_gone(self.connection))
            if taken is None:
                return  # the runtime went away; the invocation stays queued
            if isinstance(taken, int):
                emit({"event": "next_status", "function": function.name, "status": taken})
                self.close_connection = True
                self.send(taken, b'{"errorMessage":"fake container error","errorType":"Runtime.Unknown"}')
                return
            invocation = taken
            try:
                self.send(200, invocation.payload, [
                    ("Content-Type", "application/json"),
                    ("Lambda-Runtime-Aws-Request-Id", invocation.request_id),
                    ("Lambda-Runtime-Deadline-Ms", str(invocation.deadline_ms)),
                    ("Lambda-Runtime-Invoked-Function-Arn", invocation.arn),
                    ("Lambda-Runtime-Trace-Id", invocation.trace_id),
                ])
            except (BrokenPipeError, ConnectionResetError, OSError):
                function.requeue_front(invocation)
                self.close_connection = True
                return
            emit({"event": "dispatch", "function": function.name,
                  "request_id": invocation.request_id, "payload": as_json(invocation.payload)})
            return

    def do_POST(self):
        body = read_body(self)
        function = self.server.function
        path = self.path
        content_type = self.headers.get("Content-Type")
        error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
        if path == "/fake/next-status":
            try:
                status = int(json.loads(body.decode("utf-8"))["status"])
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                self.send(400, b'{"errorMessage":"want {\\"status\\": n}"}')
                return
            function.script_next_status(status)
            self.send(202, b'{"status":"OK"}')
            return
        if path == API + "/runtime/init/error":
            emit({"event": "init_error", "function": function.name, "body": as_json(body),
                  "error_type": error_type, "content_type": content_type})
            function.fail_all(body or json.dumps(
                {"errorMessage": "init error", "errorType": "Runtime.InitError"}).encode())
            self.send(202, b'{"status":"OK"}')
            return
        prefix = API + "/runtime/invocation/"
        if not path.startswith(prefix):
            self.send(404, b'{"errorMessage":"not found","errorType":"NotFound"}')
            return
        rest = path[len(prefix):]
        request_id, _, kind = rest.rpartition("/")
        request_id = urllib.parse.unquote(request_id)
        if kind not in ("response", "error") or not request_id:
            self.send(404, b'{"errorMessage":"not found","errorType":"NotFound"}')
            return
        pending, answered = function.known(request_id)
        if kind == "response" and len(body) > MAX_PAYLOAD:
            status = 413
            out = json.dumps({"errorMessage": "Exceeded maximum allowed payload size (%d bytes)."
                              % MAX_PAYLOAD, "errorType": "RequestEntityTooLarge"}).encode()
        elif not pending:
            status = 400
            out = json.dumps({
                "errorMessage": ("Invalid state transition: already answered" if answered
                                 else "Invalid request ID"),
                "errorType": "InvalidStateTransition" if answered else "InvalidRequestID",
            }).encode()
        else:
            status = 202
            out = b'{"status":"OK"}'
        record = {"event": kind, "function": function.name, "request_id": request_id,
                  "status": status, "body": as_json(body)}
        if kind == "error":
            record.update(error_type=error_type, content_type=content_type)
        emit(record)
        if status == 202:
            function.complete(request_id, "Unhandled" if kind == "error" else None, body)
        self.send(status, out)


class RuntimeServer(TlsHTTPServer):
    log_name = "fake_lambda_runtime (runtime API)"


class InvokeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-lambda-runtime"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, headers, body):
        self.send_response(status)
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if 200 <= status < 300:
            self.send_header("X-Amz-Executed-Version", "$LATEST")
        for name, value in headers:
            self.send_header(name, value)
        if body and not any(name.lower() == "content-type" for name, _ in headers):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def service_error(self, status, error_type, message):
        return status, [("x-amzn-ErrorType", error_type + ":http://internal.amazon.com/coral/"
                          "com.amazonaws.awslambda/")], json.dumps(
                              {"Type": "User", "message": message}).encode()

    def do_POST(self):
        body = read_body(self)
        headers = list(self.headers.items())
        target = self.path
        path, _, query = target.partition("?")
        record = {"event": "invoke", "method": self.command, "path": target, "headers": {},
                  "payload_bytes": len(body), "client_port": self.client_address[1],
                  "request_id": None, "answer_status": None}
        for name, value in headers:
            key = name.lower()
            record["headers"][key] = (record["headers"][key] + "," + value
                                      if key in record["headers"] else value)
        invocation_type = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        record["invocation_type"] = invocation_type
        payload = as_json(body) if body else None
        record["payload"] = payload

        match = PATH_RE.match(path)
        label = urllib.parse.unquote(match.group(1)) if match else None
        name, qualifier = split_function(label) if label else (None, None)
        query_qualifier = urllib.parse.parse_qs(query).get("Qualifier")
        if query_qualifier:
            qualifier = query_qualifier[0]
        record.update(function=name, function_ref=label, qualifier=qualifier)

        try:
            record.update(verify_signature(self.command, target, headers, body,
                                           self.server.credentials))
            record["verified"] = True
            record["reason"] = ""
        except SignatureError as error:
            record["verified"] = False
            record["reason"] = str(error)
        except Exception as error:  # a bug here must show, not hang the client
            record["verified"] = False
            record["reason"] = "verifier crashed: %r" % (error,)

        function = self.server.functions.get(name)
        if not record["verified"]:
            status, out_headers, out_body = 403, [
                ("x-amzn-ErrorType", "InvalidSignatureException:http://internal.amazon.com/")
            ], json.dumps({"message": "The request signature we calculated does not match the "
                                      "signature you provided. " + record["reason"]}).encode()
        elif not match:
            status, out_headers, out_body = 404, [("x-amzn-ErrorType",
                                                   "UnknownOperationException")], \
                b'{"message":"Unknown operation"}'
        elif function is None:
            status, out_headers, out_body = self.service_error(
                404, "ResourceNotFoundException", "Function not found: %s" % label)
        elif len(body) > MAX_PAYLOAD:
            status, out_headers, out_body = self.service_error(
                413, "RequestEntityTooLargeException",
                "%d byte payload is too large for the RequestResponse invocation type "
                "(limit %d bytes)" % (len(body), MAX_PAYLOAD))
        elif invocation_type == "DryRun":
            status, out_headers, out_body = 204, [], b""
        else:
            arn = label if label.startswith("arn:") else "arn:aws:lambda:%s:%s:function:%s" % (
                self.server.region, self.server.account, label)
            invocation = Invocation(name, arn, body, function.timeout)
            record["request_id"] = invocation.request_id
            if invocation_type == "Event":
                record["answer_status"] = 202
                emit(record)
                function.enqueue(invocation)
                self.send(202, [], b"")
                return
            emit(record)
            function.enqueue(invocation)
            if invocation.done.wait(function.timeout):
                function_error, answer = invocation.result
            else:
                function.complete(invocation.request_id, None, b"")  # late answers get 400
                emit({"event": "timeout", "function": name, "request_id": invocation.request_id})
                function_error = "Unhandled"
                answer = json.dumps({
                    "errorMessage": "%s %s Task timed out after %.2f seconds" % (
                        datetime.datetime.now(datetime.timezone.utc).strftime(
                            "%Y-%m-%dT%H:%M:%S.%fZ"), invocation.request_id,
                        function.timeout),
                    "errorType": "Sandbox.Timedout"}).encode()
            out_headers = [("X-Amz-Function-Error", function_error)] if function_error else []
            emit({"event": "answered", "request_id": invocation.request_id, "status": 200,
                  "function_error": function_error, "body": as_json(answer)})
            try:
                self.send(200, out_headers, answer)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                self.close_connection = True
            return

        record["answer_status"] = status
        emit(record)
        try:
            self.send(status, out_headers, out_body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    def do_GET(self):
        read_body(self)
        self.send(404, [("x-amzn-ErrorType", "UnknownOperationException")],
                  b'{"message":"Unknown operation"}')

    do_PUT = do_GET
    do_DELETE = do_GET


class InvokeServer(TlsHTTPServer):
    log_name = "fake_lambda_runtime (invoke)"


def serve(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--credentials", action="append", default=[],
                        metavar="AKID:SECRET[:TOKEN]", required=True)
    parser.add_argument("--function", action="append", default=[], required=True,
                        help="a function name served by a runtime")
    parser.add_argument("--timeout-seconds", type=float, default=60.0)
    parser.add_argument("--region", default="eu-west-1")
    parser.add_argument("--account", default="123456789012")
    args = parser.parse_args()
    try:
        credentials = parse_credentials(args.credentials)
    except ValueError as error:
        parser.error(str(error))

    functions = {}
    runtimes = []
    for name in args.function:
        function = Function(name, args.timeout_seconds)
        runtime = RuntimeServer(("127.0.0.1", 0), RuntimeHandler)
        runtime.function = function
        function.port = runtime.server_address[1]
        functions[name] = function
        runtimes.append(runtime)

    invoke = InvokeServer(("127.0.0.1", 0), InvokeHandler)
    invoke.credentials = credentials
    invoke.functions = functions
    invoke.region = args.region
    invoke.account = args.account
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls[0], args.tls[1])
        invoke.tls_context = context

    for runtime in runtimes:
        serve(runtime)
    sys.stdout.write("PORT %d\n" % invoke.server_address[1])
    sys.stdout.write("RUNTIME %s\n" % " ".join(
        "%s=%d" % (name, function.port) for name, function in functions.items()))
    sys.stdout.flush()
    invoke.serve_forever()


if __name__ == "__main__":
    main()
