#!/usr/bin/python3
"""A loopback fake of STS (Query protocol) and the IAM Identity Center portal, for the credential
chain's tests. Debian's /usr/bin/python3 with python3-botocore.

Usage:  /usr/bin/python3 -u sts_sso_fake.py [--credentials AKID:SECRET[:TOKEN] ...]
                                            [--web-token TOKEN ...] [--sso-token TOKEN]
                                            [--account 111122223333]
                                            [--issue AKID:SECRET:TOKEN]

Start-up and output (stdout, one JSON object a line, flushed):
  PORT <n>      first line: the port on 127.0.0.1 (chosen by the OS)
  then one object per request:
    STS (POST, any path ending in "/"): {"service": "sts", "action", "path", "params": {form
      fields but WebIdentityToken}, "signed": bool, "signed_by": access key id or null,
      "region", "signature_error": text or null, "web_token": index into --web-token or -1,
      "botocore": {AccessKeyId, SecretAccessKey, SessionToken, Expiration (RFC 3339)} — the fake's
      own reply read back with botocore's QueryParser and the sts model (credential actions)}
    SSO (GET .../federation/credentials): {"service": "sso", "path", "role_name", "account_id",
      "authorized": bool, "botocore": {...} as above from the reply (restJson parser)}

STS behaviour:
  AssumeRole, GetCallerIdentity  must be SigV4-signed (service sts) with --credentials or with
      credentials this fake issued (so chained roles work); else 403 SignatureDoesNotMatch /
      InvalidClientTokenId. AssumeRole issues new credentials (ASIA…), valid 1 h
      (or DurationSeconds); a RoleArn containing "denied" is refused 403 AccessDenied.
  AssumeRoleWithWebIdentity  must NOT be signed; WebIdentityToken must be one of --web-token,
      else 400 InvalidIdentityToken.
SSO: x-amz-sso_bearer_token must equal --sso-token, else 401 UnauthorizedException.
SSO OIDC: POST .../token {grantType refresh_token, clientId "fake-client-id", clientSecret
  "fake-client-secret-0123456789", refreshToken --refresh-token} answers accessToken --sso-token,
  expiresIn 28800 and refreshToken "<--refresh-token>-rotated"; else 400 invalid_grant. Event
  {"service": "sso-oidc", "path", "grant_type", "client_id", "signed", "accepted"}.
Container: GET /v2/credentials/<any> issues credentials (no Authorization check); event
  {"service": "container", "path", "issued": access key id}.
SIGTERM ends it.
"""

import argparse
import datetime
import json
import random
import string
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore.loaders
import botocore.model
import botocore.parsers

import sigv4_check

NS = "https://sts.amazonaws.com/doc/2011-06-15/"
STS_MODEL = botocore.model.ServiceModel(
    botocore.loaders.Loader().load_service_model("sts", "service-2"), "sts")
SSO_MODEL = botocore.model.ServiceModel(
    botocore.loaders.Loader().load_service_model("sso", "service-2"), "sso")


def random_text(alphabet, size):
    return "".join(random.choice(alphabet) for _ in range(size))


def iso(at):
    # STS sends milliseconds: "2011-07-15T23:28:33.359Z".
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (at.microsecond // 1000)


def botocore_fields(credentials):
    out = {}
    for key in ("AccessKeyId", "SecretAccessKey", "SessionToken"):
        out[key] = credentials.get(key)
    expiration = credentials.get("Expiration")
    if isinstance(expiration, datetime.datetime):
        out["Expiration"] = expiration.astimezone(datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
    return out


def parse_sts_reply(action, status, body):
    """The reply as botocore's QueryParser reads it (what an SDK would see)."""
    shape = STS_MODEL.operation_model(action).output_shape
    parsed = botocore.parsers.QueryParser().parse(
        {"body": body.encode(), "headers": {}, "status_code": status}, shape)
    return parsed


class State:
    def __init__(self, options):
        self.lock = threading.Lock()
        self.known = sigv4_check.parse_credentials(options.credentials or [])
        self.options = options

    def issue(self):
        if self.options.issue:
            # Fixed credentials, so another fake (fake_lambda.py) can trust them.
            key, secret, token = self.options.issue.split(":", 2)
            with self.lock:
                self.known[key] = (secret, token)
            return key, secret, token
        key = "ASIA" + random_text(string.ascii_uppercase + string.digits, 16)
        secret = random_text(string.ascii_letters + string.digits + "/+", 40)
        token = "FwoGZXIvYXdzE" + random_text(string.ascii_letters + string.digits + "/+", 80) + "="
        with self.lock:
            self.known[key] = (secret, token)
        return key, secret, token

    def credentials(self):
        with self.lock:
            return dict(self.known)


def make_handler(state):
    options = state.options

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # noqa: A002 (stdlib signature)
            pass

        def record(self, **fields):
            print(json.dumps(fields), flush=True)

        def answer(self, status, body, content_type, headers=()):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", "fake-request-id-0001")
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def sts_error(self, status, code, message):
            body = ('<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code>'
                    '<Message>%s</Message></Error><RequestId>fake-request-id-0001</RequestId>'
                    '</ErrorResponse>' % (NS, code, message))
            self.answer(status, body, "text/xml")

        def do_POST(self):  # noqa: N802 (stdlib name)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path.endswith("/token"):
                return self.create_token(body)
            fields = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
            action = fields.get("Action", "")
            event = {"service": "sts", "action": action, "path": self.path,
                     "params": {k: v for k, v in fields.items() if k != "WebIdentityToken"},
                     "signed": self.headers.get("Authorization") is not None,
                     "signed_by": None, "region": None, "signature_error": None,
                     "web_token": -1, "botocore": None}
            if fields.get("Version") != "2011-06-15":
                self.record(**event)
                return self.sts_error(400, "InvalidParameterValue", "bad Version")
            if action == "AssumeRoleWithWebIdentity":
                tokens = options.web_token or []
                token = fields.get("WebIdentityToken", "")
                event["web_token"] = tokens.index(token) if token in tokens else -1
                if event["signed"]:
                    event["signature_error"] = "AssumeRoleWithWebIdentity must not be signed"
                    self.record(**event)
                    return self.sts_error(400, "InvalidRequest", "signed")
                if event["web_token"] < 0:
                    self.record(**event)
                    return self.sts_error(400, "InvalidIdentityToken", "token not accepted")
                return self.issue_reply(event, action, fields)
            if action in ("AssumeRole", "GetCallerIdentity"):
                try:
                    facts = sigv4_check.verify("POST", self.path, list(self.headers.items()), body,
                                               state.credentials(), services={"sts"})
                    event["signed_by"] = facts["access_key"]
                    event["region"] = facts["region"]
                except sigv4_check.SignatureError as error:
                    event["signature_error"] = str(error)
                    self.record(**event)
                    code = ("InvalidClientTokenId" if error.kind == "unknown_key"
                            else "SignatureDoesNotMatch")
                    return self.sts_error(403, code, "signature check failed")
                if action == "GetCallerIdentity":
                    reply = ('<GetCallerIdentityResponse xmlns="%s"><GetCallerIdentityResult>'
                             '<Arn>arn:aws:sts::%s:assumed-role/bot/session</Arn>'
                             '<UserId>AROAFAKEUSERID:session</UserId><Account>%s</Account>'
                             '</GetCallerIdentityResult><ResponseMetadata><RequestId>r1'
                             '</RequestId></ResponseMetadata></GetCallerIdentityResponse>'
                             % (NS, options.account, options.account))
                    parsed = parse_sts_reply(action, 200, reply)
                    event["botocore"] = {k: parsed.get(k) for k in ("Account", "Arn", "UserId")}
                    self.record(**event)
                    return self.answer(200, reply, "text/xml")
                if "denied" in fields.get("RoleArn", ""):
                    self.record(**event)
                    return self.sts_error(403, "AccessDenied",
                                          "User is not authorized to perform: sts:AssumeRole")
                return self.issue_reply(event, action, fields)
            self.record(**event)
            return self.sts_error(400, "InvalidAction", "unknown action")

        def create_token(self, body):
            # SSO OIDC CreateToken (restJson, unsigned), grantType refresh_token only.
            try:
                request = json.loads(body)
            except ValueError:
                request = {}
            accepted = (request.get("grantType") == "refresh_token"
                        and options.refresh_token is not None
                        and request.get("refreshToken") == options.refresh_token
                        and request.get("clientId") == "fake-client-id"
                        and request.get("clientSecret") == "fake-client-secret-0123456789")
            self.record(service="sso-oidc", path=self.path, grant_type=request.get("grantType"),
                        client_id=request.get("clientId"),
                        signed=self.headers.get("Authorization") is not None, accepted=accepted)
            if not accepted:
                return self.answer(400, json.dumps({"error": "invalid_grant",
                                                    "error_description": "refresh refused"}),
                                   "application/json",
                                   [("x-amzn-ErrorType", "InvalidGrantException")])
            return self.answer(200, json.dumps({
                "accessToken": options.sso_token, "tokenType": "Bearer", "expiresIn": 28800,
                "refreshToken": options.refresh_token + "-rotated"}), "application/json")

        def issue_reply(self, event, action, fields):
            key, secret, token = state.issue()
            seconds = int(fields.get("DurationSeconds") or 3600)
            expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
                seconds=seconds)
            reply = ('<{a}Response xmlns="{ns}"><{a}Result><Credentials>'
                     '<AccessKeyId>{k}</AccessKeyId><SecretAccessKey>{s}</SecretAccessKey>'
                     '<SessionToken>{t}</SessionToken><Expiration>{e}</Expiration>'
                     '</Credentials><AssumedRoleUser><Arn>{r}/x</Arn>'
                     '<AssumedRoleId>AROAFAKE:x</AssumedRoleId></AssumedRoleUser>'
                     '</{a}Result><ResponseMetadata><RequestId>r1</RequestId>'
                     '</ResponseMetadata></{a}Response>').format(
                         a=action, ns=NS, k=key, s=secret, t=token, e=iso(expires),
                         r=fields.get("RoleArn", ""))
            parsed = parse_sts_reply(action, 200, reply)
            event["botocore"] = botocore_fields(parsed["Credentials"])
            self.record(**event)
            return self.answer(200, reply, "text/xml")

        def do_GET(self):  # noqa: N802 (stdlib name)
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            if url.path.startswith("/v2/credentials/"):
                # A container credentials endpoint (credential_source = EcsContainer).
                key, secret, token = state.issue()
                expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
                    hours=1)
                self.record(service="container", path=url.path, issued=key)
                return self.answer(200, json.dumps({
                    "AccessKeyId": key, "SecretAccessKey": secret, "Token": token,
                    "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}), "application/json")
            if not url.path.endswith("/federation/credentials"):
                self.record(service="unknown", path=self.path)
                return self.answer(404, "{}", "application/json")
            authorized = (options.sso_token is not None
                          and self.headers.get("x-amz-sso_bearer_token") == options.sso_token)
            event = {"service": "sso", "path": url.path, "role_name": query.get("role_name"),
                     "account_id": query.get("account_id"), "authorized": authorized,
                     "botocore": None}
            if not authorized:
                self.record(**event)
                return self.answer(401, json.dumps({"message": "Session token not found or "
                                                               "invalid"}),
                                   "application/json",
                                   [("x-amzn-ErrorType", "UnauthorizedException")])
            key, secret, token = state.issue()
            expires_ms = int((datetime.datetime.now(datetime.timezone.utc)
                              + datetime.timedelta(hours=1)).timestamp() * 1000)
            reply = json.dumps({"roleCredentials": {"accessKeyId": key, "secretAccessKey": secret,
                                                    "sessionToken": token,
                                                    "expiration": expires_ms}})
            shape = SSO_MODEL.operation_model("GetRoleCredentials").output_shape
            parsed = botocore.parsers.RestJSONParser().parse(
                {"body": reply.encode(), "headers": {}, "status_code": 200}, shape)
            role = parsed["roleCredentials"]
            event["botocore"] = {"AccessKeyId": role["accessKeyId"],
                                 "SecretAccessKey": role["secretAccessKey"],
                                 "SessionToken": role["sessionToken"],
                                 "ExpirationMs": role["expiration"]}
            self.record(**event)
            return self.answer(200, reply, "application/json")

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--credentials", action="append", help="AKID:SECRET[:TOKEN]")
    parser.add_argument("--web-token", action="append", help="accepted web identity tokens")
    parser.add_argument("--sso-token", help="the accepted SSO access token")
    parser.add_argument("--account", default="111122223333")
    parser.add_argument("--refresh-token", help="the refresh token SSO OIDC accepts")
    parser.add_argument("--issue", help="AKID:SECRET:TOKEN to hand out instead of random ones")
    options = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(State(options)))
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
