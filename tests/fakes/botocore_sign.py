#!/usr/bin/python3
"""Signs requests with botocore's SigV4Auth, the independent oracle for
tests/unit/sigv4_botocore_test.cpp.

Run with Debian's /usr/bin/python3 (python3-botocore 1.29), not a pyenv
python3:

    /usr/bin/python3 botocore_sign.py <cases.jsonl>

Input: one JSON object per line:
    id, method, host, path (as on the wire), query (as on the wire),
    query_mode ("url": the query goes into the URL and botocore signs it as
    is, so the C++ side sends it in canonical encoding; "params": the query is
    decoded here with urllib.parse.unquote and handed to botocore as params,
    which it encodes and sorts itself), headers ([[name, value], ...] in
    order, duplicates allowed), body_hex, access_key, secret_key, token,
    region, service, epoch_seconds, sign_body.

Output: a first line {"botocore": "<version>"}, then per case
    {"id", "timestamp", "canonical_request", "string_to_sign", "signature"}.

Fixed clock (shared/notes/aws.md §6): set request.context['timestamp'] and
call the stages, never add_auth() (it stamps the wall clock). botocore's own
_modify_request_before_signing adds X-Amz-Date and X-Amz-Security-Token; with
sign_body the X-Amz-Content-SHA256 header is set here to the body's SHA-256
(what botocore's S3 signer does; SigV4Auth then uses it as the payload hash).

Exit status 3 when botocore cannot be imported.
"""

import datetime
import hashlib
import json
import sys
from urllib.parse import unquote

try:
    import botocore
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError as error:  # pragma: no cover - environment problem
    print(
        "botocore is not importable by %s (%s): run ./dev.sh test (installs python3-botocore)"
        % (sys.executable, error),
        file=sys.stderr,
    )
    sys.exit(3)


def sign(case):
    timestamp = datetime.datetime.fromtimestamp(
        case["epoch_seconds"], tz=datetime.timezone.utc
    ).strftime("%Y%m%dT%H%M%SZ")
    url = "https://" + case["host"] + case["path"]
    params = None
    if case["query"]:
        if case["query_mode"] == "url":
            url += "?" + case["query"]
        else:
            params = []
            for pair in case["query"].split("&"):
                key, _, value = pair.partition("=")
                params.append((unquote(key), unquote(value)))
    body = bytes.fromhex(case["body_hex"])
    request = AWSRequest(method=case["method"], url=url, data=body, params=params)
    for name, value in case["headers"]:
        request.headers[name] = value  # HTTPHeaders appends: duplicates stay, in order
    if case["sign_body"]:
        request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    request.context["timestamp"] = timestamp

    credentials = Credentials(case["access_key"], case["secret_key"], case["token"] or None)
    auth = SigV4Auth(credentials, case["service"], case["region"])
    auth._modify_request_before_signing(request)  # X-Amz-Date, X-Amz-Security-Token
    canonical_request = auth.canonical_request(request)
    string_to_sign = auth.string_to_sign(request, canonical_request)
    signature = auth.signature(string_to_sign, request)
    return {
        "id": case["id"],
        "timestamp": timestamp,
        "canonical_request": canonical_request,
        "string_to_sign": string_to_sign,
        "signature": signature,
    }


def main():
    if len(sys.argv) != 2:
        print("usage: botocore_sign.py <cases.jsonl>", file=sys.stderr)
        return 2
    out = [json.dumps({"botocore": botocore.__version__})]
    with open(sys.argv[1], encoding="utf-8") as cases:
        for line in cases:
            if line.strip():
                out.append(json.dumps(sign(json.loads(line))))
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
