#!/usr/bin/python3
"""A loopback fake of the two HTTP credential endpoints the chain talks to: the ECS / EKS
container credentials endpoint and EC2 IMDSv2. Standard library only.

Usage:  /usr/bin/python3 -u credentials_fake.py --token TOKEN [--role ROLE]

Start-up and output (stdout, one line each, flushed):
  PORT <n>                   first line: the port it listens on (127.0.0.1, chosen by the OS)
  {"method": ..., "path": ..., ...}   then one JSON object per request, with
      authorized   true | false   for credential requests: the expected header was sent
      ttl          "21600"        for the IMDSv2 token request: X-aws-ec2-metadata-token-ttl-seconds
  Header values are never printed (they are tokens).

Endpoints:
  GET /v2/credentials/<anything>     Authorization must equal TOKEN, else 401 {"code": ...};
                                     200 {AccessKeyId "ASIAFAKECONTAINER123", SecretAccessKey,
                                     Token, Expiration (now + 1 h), RoleArn}
  PUT /latest/api/token              needs X-aws-ec2-metadata-token-ttl-seconds (else 400);
                                     200, body = the session token
  GET /latest/meta-data/iam/security-credentials/        needs X-aws-ec2-metadata-token (else 401);
                                     200, body = ROLE
  GET /latest/meta-data/iam/security-credentials/ROLE    the same check; 200 {"Code": "Success",
                                     AccessKeyId "ASIAFAKEINSTANCE1234", ...}
  anything else                      404
SIGTERM ends it.
"""

import argparse
import datetime
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IMDS_TOKEN = "fake-imds-session-token-0123456789"
ROLES_PATH = "/latest/meta-data/iam/security-credentials/"


def credentials(key_id, imds=False):
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    document = {
        "AccessKeyId": key_id,
        "SecretAccessKey": "fakeSecretAccessKey/" + key_id.lower() + "+0123456789",
        "Token": "fakeSessionToken//" + key_id.lower() + "=",
        "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if imds:
        document.update({"Code": "Success", "Type": "AWS-HMAC",
                         "LastUpdated": expires.strftime("%Y-%m-%dT%H:%M:%SZ")})
    else:
        document["RoleArn"] = "arn:aws:iam::123456789012:role/fake-task-role"
    return json.dumps(document)


def make_handler(options):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # noqa: A002 (stdlib signature)
            pass  # stdout is the event stream; keep stderr for real problems

        def record(self, **fields):
            print(json.dumps({"method": self.command, "path": self.path, **fields}), flush=True)

        def answer(self, status, body, content_type="application/json"):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def drain(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)

        def do_GET(self):  # noqa: N802 (stdlib name)
            self.drain()
            if self.path.startswith("/v2/credentials/"):
                authorized = self.headers.get("Authorization") == options.token
                self.record(authorized=authorized)
                if not authorized:
                    return self.answer(401, json.dumps({"code": "Unauthorized",
                                                        "message": "bad authorization token"}))
                return self.answer(200, credentials("ASIAFAKECONTAINER123"))
            if self.path.startswith(ROLES_PATH):
                authorized = self.headers.get("X-aws-ec2-metadata-token") == IMDS_TOKEN
                self.record(authorized=authorized)
                if not authorized:
                    return self.answer(401, "", "text/plain")
                role = self.path[len(ROLES_PATH):]
                if role == "":
                    return self.answer(200, options.role, "text/plain")
                if role == options.role:
                    return self.answer(200, credentials("ASIAFAKEINSTANCE1234", imds=True))
                return self.answer(404, "", "text/plain")
            self.record()
            return self.answer(404, json.dumps({"status": 404}))

        def do_PUT(self):  # noqa: N802 (stdlib name)
            self.drain()
            if self.path == "/latest/api/token":
                ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
                self.record(ttl=ttl)
                if not ttl:
                    return self.answer(400, "", "text/plain")
                return self.answer(200, IMDS_TOKEN, "text/plain")
            self.record()
            return self.answer(404, json.dumps({"status": 404}))

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--token", required=True, help="expected container Authorization value")
    parser.add_argument("--role", default="fake-role", help="IAM role name IMDS reports")
    options = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(options))
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
