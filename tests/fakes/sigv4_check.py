"""SigV4 header-signature check with botocore's own SigV4Auth, shared by the AWS fakes.

Run under Debian's /usr/bin/python3 (python3-botocore). The logic is the one in fake_lambda.py
(which keeps its own copy, unchanged), generalised to any signing name:

  facts = verify(method, target, headers, body, credentials, services={"ecs"})

  method       "POST"
  target       the request target exactly as received (path and query, still encoded)
  headers      [(name, value), ...] as received (repeated names allowed)
  body         the body bytes
  credentials  {access_key_id: (secret, session_token or "")}
  services     the signing names accepted in the Credential scope (None: any)

It returns {"access_key", "region", "service", "signed_headers"} or raises SignatureError, whose
`kind` is "unknown_key" (the access key is not one of `credentials`), "expired" (X-Amz-Date more
than 5 minutes off) or "signature" (anything else), and whose text says why.

The checks: exactly one Authorization header, AWS4-HMAC-SHA256 with Credential, SignedHeaders and
Signature; the access key is known; host and x-amz-date are signed; SignedHeaders is sorted and
unique; X-Amz-Date is within 5 minutes of this host's clock and its day matches the scope date;
the scope's service is one of `services`; a session token, when the credentials have one, is sent
and signed (and is not sent otherwise). Then botocore recomputes the signature from the raw path
and query, only the headers named in SignedHeaders (repeated ones joined with ","), and the body,
at the request's own X-Amz-Date, and the two are compared in constant time.
"""

import datetime
import hmac
import re

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/\s]+)/(\d{8})/([^/\s]+)/([^/\s]+)/aws4_request,\s*"
    r"SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$"
)
MAX_SKEW = datetime.timedelta(minutes=5)


class SignatureError(Exception):
    def __init__(self, text, kind="signature"):
        super().__init__(text)
        self.kind = kind


def header_values(headers, name):
    return [value for key, value in headers if key.lower() == name]


def scope_service(headers):
    """The service name of the Authorization header's Credential scope, or None (no check)."""
    auths = header_values(headers, "authorization")
    if len(auths) != 1:
        return None
    match = AUTH_RE.match(auths[0].strip())
    return match.group(4) if match else None


def verify(method, target, headers, body, credentials, services=None):
    facts = {}
    auths = header_values(headers, "authorization")
    if len(auths) != 1:
        raise SignatureError("expected exactly one Authorization header, got %d" % len(auths))
    match = AUTH_RE.match(auths[0].strip())
    if not match:
        raise SignatureError("malformed Authorization header")
    access_key, scope_date, region, service, signed, signature = match.groups()
    facts.update(access_key=access_key, region=region, service=service,
                 signed_headers=signed.split(";"))
    if access_key not in credentials:
        raise SignatureError("unknown access key id", "unknown_key")
    secret, token = credentials[access_key]
    signed_names = signed.split(";")
    if signed_names != sorted(signed_names) or len(set(signed_names)) != len(signed_names):
        raise SignatureError("SignedHeaders not sorted and unique")
    for required in ("host", "x-amz-date"):
        if required not in signed_names:
            raise SignatureError("%s is not signed" % required)
    if services is not None and service not in services:
        raise SignatureError("scope service is %r, not %s"
                             % (service, " or ".join(sorted(services))))

    dates = header_values(headers, "x-amz-date")
    if len(dates) != 1:
        raise SignatureError("expected one X-Amz-Date")
    amz_date = dates[0].strip()
    try:
        at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        raise SignatureError("X-Amz-Date %r is not YYYYMMDDTHHMMSSZ" % amz_date)
    now = datetime.datetime.now(datetime.timezone.utc)
    if abs(now - at) > MAX_SKEW:
        raise SignatureError("X-Amz-Date %s is more than 5 minutes from now" % amz_date, "expired")
    if scope_date != amz_date[:8]:
        raise SignatureError("scope date %s does not match X-Amz-Date" % scope_date)

    sent_tokens = header_values(headers, "x-amz-security-token")
    if token:
        if sent_tokens != [token]:
            raise SignatureError("session token missing or wrong")
        if "x-amz-security-token" not in signed_names:
            raise SignatureError("session token sent but not signed")
    elif sent_tokens:
        raise SignatureError("session token sent with long-term credentials")

    to_sign = {}
    for name in signed_names:
        values = header_values(headers, name)
        if not values:
            raise SignatureError("signed header %s is missing" % name)
        to_sign[name] = ",".join(values)

    # The raw target as received: botocore double-encodes the path itself.
    request = AWSRequest(method=method, url="https://" + to_sign["host"] + target, data=body,
                         headers=to_sign)
    request.context["timestamp"] = amz_date
    auth = SigV4Auth(Credentials(access_key, secret, token or None), service, region)
    canonical = auth.canonical_request(request)
    expected = auth.signature(auth.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise SignatureError("signature mismatch; botocore's canonical request was %r" % canonical)
    return facts


def parse_credentials(items):
    """{akid: (secret, token)} from ["AKID:SECRET[:TOKEN]", ...]; ValueError when malformed."""
    credentials = {}
    for item in items:
        parts = item.split(":", 2)
        if len(parts) < 2:
            raise ValueError("--credentials wants AKID:SECRET[:TOKEN]")
        credentials[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
    return credentials
