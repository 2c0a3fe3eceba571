#!/usr/bin/python3
"""A fake AWS Lambda Invoke endpoint that checks every request's SigV4 signature with botocore.

Run with Debian's /usr/bin/python3 (python3-botocore), not another python3:

  /usr/bin/python3 -u fake_lambda.py --tls CERT KEY --credentials AKID:SECRET[:TOKEN] \
      [--credentials ...] [--script SCRIPT.json]

It listens on 127.0.0.1 (port chosen by the OS) and speaks HTTPS/1.1 with keep-alive; each
connection has its own thread, so a slow answer never holds up another.

Output on stdout, one line each, flushed:
  PORT <n>                first line
  {"function": ..., ...}  then one JSON object per request, printed once the request has been
                          read and checked, before the (possibly delayed) answer:
      function        the function name from the path ("infra-orchestrator"), ARN stripped
      function_ref    the decoded path label as sent (an ARN or name[:qualifier])
      qualifier       the ARN's or name's qualifier, or the ?Qualifier= value, or null
      path            the request target exactly as received (query included)
      invocation_type X-Amz-Invocation-Type
      headers         {lower-case name: value} (repeated names joined with ",")
      payload         the body parsed as JSON (null when over 64 KiB or not JSON)
      payload_bytes   body length
      verified        true when the signature checked out (see below)
      reason          why not, when verified is false
      access_key, region, service   from the Credential scope
      signed_headers  the SignedHeaders list
      answer_status   the HTTP status it is about to send
      client_port     the client's source port (same value = connection reused)

Signature check (every request): the Authorization header is parsed; the access key must be one
passed with --credentials; host and x-amz-date must be signed; X-Amz-Date must be within 5 minutes
of this host's clock and its day must match the scope date; the service must be "lambda"; a session
token, when the credentials have one, must be sent and signed (and must not be sent otherwise).
botocore's SigV4Auth then recomputes the signature from the raw path and query as received, only
the headers named in SignedHeaders (repeated ones joined with ","), and the body bytes, at the
request's own X-Amz-Date; the two signatures are compared in constant time. A request that fails
is answered 403 InvalidSignatureException (and its line says why).

Answers come from the script (a JSON file), {"answers": [answer, ...]}. For each request the first
answer whose filters match and that is not used up is taken; with none, 400
InvalidParameterValueException "fake_lambda: no scripted answer" — except a DryRun, which Lambda
answers 204 with no body when the caller may invoke the function. An answer:
  function     only for this function name (optional)
  invocation_type  only for this X-Amz-Invocation-Type ("DryRun", "Event", …) (optional)
  match        {"key": value, ...}: only when the payload has these top-level values (optional)
  times        how many requests it serves (optional; default: unlimited)
  status       HTTP status (default 200, or 202 for an Event invocation)
  headers      {"Name": "value"} extra response headers
  body         the response body as text (raw; may be malformed on purpose), or
  json         the response body as JSON (serialised compactly)
  pad_to       with json: add a "padding" member so the body is this many bytes
  error_type   shorthand for a service error: x-amzn-ErrorType "<type>:http://internal…" and
               body {"Type": "User", "message": <message>} (unless body/json is given)
  message      the message for error_type
  function_error  shorthand for the X-Amz-Function-Error header ("Unhandled")
  delay_ms     wait this long before answering (a client with a shorter timeout gives up)
Every answer carries x-amzn-RequestId (a fresh UUID); 2xx answers also X-Amz-Executed-Version.

With --timeline (for tests that track invocations in flight, e.g. tests/replicas/) each request
line also has "seq" (1, 2, … in the order lines are printed), "t" (seconds since start, monotonic)
and "delay_ms" (the answer's delay), and once the answer has been written (or the write failed:
before the answer is written (after its delay) one more line:
  {"event": "answering", "seq": n, "t": seconds}
so that an invocation is in flight from its request line to its "answering" line: the client
cannot have the answer before that line is printed.
Request lines never have an "event" member.

Diagnostics go to stderr. SIGTERM ends it.
"""

import argparse
import json
import re
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler

import sigv4_check
from fake_http_server import TlsHTTPServer, read_body
from sigv4_check import SignatureError

_print_lock = threading.Lock()
START = time.monotonic()
_seq = [0]


def emit(obj, timeline=False):
    """Prints one line; with timeline, numbers it ("seq") and stamps it ("t") under the lock, so
    that seq follows the order of the lines."""
    with _print_lock:
        if timeline:
            _seq[0] += 1
            obj["seq"] = _seq[0]
            obj["t"] = round(time.monotonic() - START, 4)
        line = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        return obj.get("seq")


PATH_RE = re.compile(r"^/2015-03-31/functions/([^/?]+)/invocations$")
MAX_LOGGED_PAYLOAD = 64 * 1024


def verify(method, target, headers, body, credentials):
    """Returns the Credential scope facts; raises SignatureError when the signature is wrong
    (sigv4_check.verify, the one SigV4 check of the AWS fakes, for the lambda service)."""
    return sigv4_check.verify(method, target, headers, body, credentials, services={"lambda"})


class Script:
    def __init__(self, answers):
        self.lock = threading.Lock()
        self.answers = [dict(answer) for answer in answers]

    def take(self, function, payload, invocation_type):
        with self.lock:
            for answer in self.answers:
                if "function" in answer and answer["function"] != function:
                    continue
                if "invocation_type" in answer and answer["invocation_type"] != invocation_type:
                    continue
                wanted = answer.get("match") or {}
                if wanted and not (isinstance(payload, dict) and
                                   all(payload.get(k) == v for k, v in wanted.items())):
                    continue
                times = answer.get("times")
                if times is not None:
                    if times <= 0:
                        continue
                    answer["times"] = times - 1
                return answer
        return None


def split_function(label):
    """(short name, qualifier) of an ARN or name[:qualifier]."""
    if label.startswith("arn:"):
        parts = label.split(":")
        return (parts[6] if len(parts) > 6 else label), (parts[7] if len(parts) > 7 else None)
    name, _, qualifier = label.partition(":")
    return name, (qualifier or None)


def render_answer(answer, invocation_type):
    default = {"Event": 202, "DryRun": 204}.get(invocation_type, 200)
    status = answer.get("status", default)
    headers = [(k, str(v)) for k, v in (answer.get("headers") or {}).items()]
    if answer.get("function_error"):
        headers.append(("X-Amz-Function-Error", answer["function_error"]))
    body = b""
    if "body" in answer:
        body = answer["body"].encode()
    elif "json" in answer:
        document = answer["json"]
        text = json.dumps(document, separators=(",", ":"))
        pad_to = answer.get("pad_to")
        if pad_to and isinstance(document, dict):
            padded = dict(document, padding="")
            overhead = len(json.dumps(padded, separators=(",", ":")))
            padded["padding"] = "x" * max(0, pad_to - overhead)
            text = json.dumps(padded, separators=(",", ":"))
        body = text.encode()
    elif answer.get("error_type"):
        body = json.dumps({"Type": "User", "message": answer.get("message", "")}).encode()
    if answer.get("error_type"):
        headers.append(("x-amzn-ErrorType", answer["error_type"] +
                        ":http://internal.amazon.com/coral/com.amazonaws.awslambda/"))
    if body and not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return status, headers, body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-lambda"

    def log_message(self, fmt, *args):  # stdout is the protocol; keep stderr quiet
        pass

    def read_body(self):
        return read_body(self)

    def send(self, status, headers, body):
        self.send_response(status)
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if 200 <= status < 300:
            self.send_header("X-Amz-Executed-Version", "$LATEST")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_POST(self):
        body = self.read_body()
        headers = list(self.headers.items())
        target = self.path
        path, _, query = target.partition("?")
        record = {
            "method": self.command,
            "path": target,
            "headers": {},
            "payload_bytes": len(body),
            "client_port": self.client_address[1],
        }
        for name, value in headers:
            key = name.lower()
            record["headers"][key] = (record["headers"][key] + "," + value
                                      if key in record["headers"] else value)
        invocation_type = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        record["invocation_type"] = invocation_type
        payload = None
        try:
            payload = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            payload = None
        record["payload"] = payload if len(body) <= MAX_LOGGED_PAYLOAD else None

        match = PATH_RE.match(path)
        label = urllib.parse.unquote(match.group(1)) if match else None
        function, qualifier = split_function(label) if label else (None, None)
        query_qualifier = urllib.parse.parse_qs(query).get("Qualifier")
        if query_qualifier:
            qualifier = query_qualifier[0]
        record.update(function=function, function_ref=label, qualifier=qualifier)

        try:
            record.update(verify(self.command, target, headers, body, self.server.credentials))
            record["verified"] = True
            record["reason"] = ""
        except SignatureError as error:
            record["verified"] = False
            record["reason"] = str(error)
        except Exception as error:  # a bug here must show, not hang the client
            record["verified"] = False
            record["reason"] = "verifier crashed: %r" % (error,)

        delay_ms = 0
        if not record["verified"]:
            status, out_headers, out_body = 403, [
                ("x-amzn-ErrorType", "InvalidSignatureException:http://internal.amazon.com/")
            ], json.dumps({"message": "The request signature we calculated does not match the "
                                      "signature you provided. " + record["reason"]}).encode()
        elif not match:
            status, out_headers, out_body = 404, [("x-amzn-ErrorType", "UnknownOperationException")
                                                  ], b'{"message":"Unknown operation"}'
        else:
            answer = self.server.script.take(function, payload, invocation_type)
            if answer is None and invocation_type == "DryRun":
                answer = {}  # allowed: 204, no body
            if answer is None:
                status, out_headers, out_body = 400, [
                    ("x-amzn-ErrorType", "InvalidParameterValueException")
                ], json.dumps({"message": "fake_lambda: no scripted answer for %s %s" % (
                    function, payload.get("action") if isinstance(payload, dict) else "")}).encode()
            else:
                status, out_headers, out_body = render_answer(answer, invocation_type)
                delay_ms = int(answer.get("delay_ms", 0))
        record["answer_status"] = status
        timeline = self.server.timeline
        if timeline:
            record["delay_ms"] = delay_ms
        seq = emit(record, timeline)
        if delay_ms:
            time.sleep(delay_ms / 1000.0)
        if timeline:
            emit({"event": "answering", "seq": seq, "t": round(time.monotonic() - START, 4)})
        try:
            self.send(status, out_headers, out_body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    def do_GET(self):
        self.read_body()
        self.send(404, [("x-amzn-ErrorType", "UnknownOperationException")],
                  b'{"message":"Unknown operation"}')

    do_PUT = do_GET
    do_DELETE = do_GET


class Server(TlsHTTPServer):
    log_name = "fake_lambda"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--credentials", action="append", default=[],
                        metavar="AKID:SECRET[:TOKEN]", required=True)
    parser.add_argument("--script", help="JSON file with the answers")
    parser.add_argument("--timeline", action="store_true",
                        help="seq, t and delay_ms on each request line, and an \"answering\" "
                             "line before each answer (see the top of this file)")
    args = parser.parse_args()

    try:
        credentials = sigv4_check.parse_credentials(args.credentials)
    except ValueError as error:
        parser.error(str(error))
    answers = []
    if args.script:
        with open(args.script, encoding="utf-8") as f:
            answers = json.load(f).get("answers", [])

    server = Server(("127.0.0.1", 0), Handler)
    server.credentials = credentials
    server.script = Script(answers)
    server.timeline = args.timeline
    server.tls_context = None
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls[0], args.tls[1])
        server.tls_context = context
    sys.stdout.write("PORT %d\n" % server.server_address[1])
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
