#!/usr/bin/python3
"""A fake AWS (ECS, RDS, EC2, Resource Groups Tagging, SSM, Secrets Manager) on one TLS port.

Run with Debian's /usr/bin/python3 (python3-botocore 1.29), not another python3:

  /usr/bin/python3 -u fake_aws.py --tls CERT KEY --credentials AKID:SECRET[:TOKEN] \
      [--credentials ...] [--state STATE.json]

It listens on 127.0.0.1 (port chosen by the OS), HTTPS/1.1 with keep-alive, one thread per
connection. Without --tls it speaks plain HTTP (handy by hand; the tests always pass --tls).

Output on stdout, one line each, flushed:
  PORT <n>                first line
  {"service": ...}        then one JSON object per AWS request (control requests are not
                          printed), written once the request is read and checked, before the
                          (possibly delayed) answer:
      service         ecs | tagging | rds | ec2 | ssm | secretsmanager (null when the request could not be routed)
      operation       "DescribeServices", ...
      protocol        json | query | ec2
      path            the request target as received
      params          the input parsed back into botocore member names ("InstanceIds": [...])
      wire            query/ec2 only: the form fields as sent ({"InstanceId.1": "i-…"})
      verified        true when the SigV4 signature checked out
      reason          why it was refused: "signature: …", "model: …", "routing: …",
                      "injected fault: …", "not implemented by fake_aws"; "" otherwise
      access_key, region, signing_service     from the Credential scope
      answer_status   the HTTP status about to be sent
      error, message  the error code and message sent, or null
      fault           the kind of injected fault that fired, or null
      request_id      the request id sent back (also the x-amzn-RequestId header)
      content_type    the request's Content-Type
      client_port     the client's source port (same value = connection reused)

Routing. `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Op>` is ECS and
`ResourceGroupsTaggingAPI_20170126.<Op>` the tagging API, `AmazonSSM.<Op>` SSM and
`secretsmanager.<Op>` Secrets Manager (AWS JSON 1.1). A form body
(`Content-Type: application/x-www-form-urlencoded`) with `Action=` is RDS or EC2, told apart by
the Credential scope's service (`rds` / `ec2`), else by `Version` (2014-10-31 / 2016-11-15); a
Version that does not belong to the service is refused. Any path is accepted (an endpoint URL may
carry a path prefix) except /_fake/..., which is the control API.

Checks, in order; the first that fails answers in the protocol's own error shape:
  1. SigV4 (sigv4_check.py, botocore's SigV4Auth): the scope's service must be the signing name
     ecs / tagging / rds / ec2 -> 403 (JSON InvalidSignatureException or
     UnrecognizedClientException; RDS SignatureDoesNotMatch or InvalidClientTokenId; EC2
     SignatureDoesNotMatch or AuthFailure).
  2. The operation exists in botocore's model (else JSON UnknownOperationException, Query/EC2
     InvalidAction) and fake_aws implements it (same codes, reason "not implemented").
  3. The input against the model: a JSON body must be an object (else SerializationException);
     form fields are parsed back with the model's wire names (RDS `Filters.Filter.N.Name`,
     EC2 queryName / capitalised locationName and flat `Name.N` lists), and a field that maps to
     no member is an unknown parameter; then botocore's ParamValidator (required members,
     types, min lengths/ranges) plus enum values and "a boolean is not an integer".
     JSON -> 400 ValidationException; Query/EC2 -> 400 MissingParameter (a required member is
     missing), UnknownParameter (a field maps to no member), InvalidParameterValue (others).
  4. Injected faults (below).
  5. The operation itself, on the state.

Operations (everything else in the models is refused as not implemented):
  tagging  GetResources
  ecs      DescribeServices, UpdateService, TagResource, UntagResource, ListTagsForResource,
           ListClusters, ListServices
  rds      DescribeDBInstances, DescribeDBClusters, StopDBInstance, StartDBInstance,
           StopDBCluster, StartDBCluster
  ec2      DescribeInstances, StartInstances, StopInstances, RebootInstances,
           DescribeSecurityGroups, DescribeSecurityGroupRules, AuthorizeSecurityGroupIngress,
           RevokeSecurityGroupIngress, UpdateSecurityGroupRuleDescriptionsIngress
  ssm      GetParameter, PutParameter (state "ssm": {"parameters": [...]}, see the handlers)
  secretsmanager  GetSecretValue, CreateSecret, PutSecretValue (state "secretsmanager":
           {"secrets": [...]}, see the handlers)
Their error behaviour follows /work/shared/notes/aws-services.md §2-5 and is described at each
handler below. Transitions: with the state's "settleDescribes" at 0 (the default) a stop or start
takes effect at once (EC2 stopped/running, RDS stopped/available, ECS runningCount =
desiredCount) and the reply already shows the final state. With N > 0 the resource first shows
the in-between state (EC2 stopping/pending, RDS stopping/starting, ECS the old runningCount) for
the next N describe calls that return it, then the final one.

Pagination tokens (GetResources PaginationToken, RDS Marker, EC2 NextToken, ECS nextToken) are
opaque random strings bound to the query that made them; an unknown token or one used with a
different query is refused. EC2 DryRun=true answers 412 DryRunOperation after every check.

State (--state FILE, GET/POST /_fake/state): see proto-fixtures/aws/README.md for the schema and
proto-fixtures/aws/state_default.json for an example. Tags are {"Key": "Value"} objects (lists of
{key,value} or {Key,Value} are accepted too); ARNs are filled in when absent.

Control API, plain JSON over the same port, never signed, never printed:
  GET  /_fake/state     the whole state
  POST /_fake/state     replace the state with the body
  POST /_fake/merge     merge the body into the state: resources are matched by id (ECS
                        clusters and services by name) and updated field by field (given tags
                        replace the old ones), new ones are added, {"id": …, "_delete": true}
                        removes one; top-level scalars are replaced
  POST /_fake/fault     add a fault (or a list of faults); answers {"faults": [...]}
  GET  /_fake/faults    the faults with their remaining counts
  POST /_fake/sync      prints {"sync": <the body's "token">} on stdout (see fake_aws.hpp)
  POST /_fake/faults/clear
  POST /_fake/reset     the --state file's state again, no faults, no tokens
A fault: {"service": "ecs", "operation": "UpdateService", "resource": "infra-dev/api",
          "kind": "access_denied", "times": 1, "after": 0, "code": …, "http_status": …,
          "message": …, "delay_ms": …}
  service/operation/resource   which requests it hits (each optional = any). resource matches
                the request's resource ids: ECS service name, "<cluster>/<name>" or ARN, RDS
                identifiers, EC2 instance / group / rule ids, ARNs in a ResourceARNList.
  kind          throttle       the service's throttling error: ECS ThrottlingException 400,
                               tagging ThrottledException 400, RDS Throttling 400,
                               EC2 RequestLimitExceeded 503
                internal       HTTP 500: ECS ServerException, tagging InternalServiceException,
                               RDS InternalFailure (Receiver), EC2 InternalError
                access_denied  ECS/tagging AccessDeniedException 400, RDS AccessDenied 403,
                               EC2 UnauthorizedOperation 403
                error          any "code" with "http_status" (default 400)
                malformed      the operation runs (state changes) but the answer's body is
                               cut in half (truncated XML / broken JSON), status kept
                token_loop     paginated operations answer with the same token they were given
                               (the first page's token otherwise) - default times: unlimited
                empty_page     a page with no items that still carries a token to go on
                delay          answer normally after delay_ms
                (without kind: "error" when a code is given)
  times         how many requests it fires for (default 1; -1 = unlimited)
  after         let this many matching requests through first (default 0)
  delay_ms      with any kind: wait this long before answering
  message       the error message (a sensible default otherwise)

Diagnostics go to stderr. SIGTERM ends it.
"""

import argparse
import base64
import copy
import datetime
import fnmatch
import hashlib
import ipaddress
import json
import re
import secrets
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler
from xml.sax.saxutils import escape as xml_escape

import botocore.session
from botocore.validate import ParamValidator

from fake_http_server import TlsHTTPServer, read_body
from sigv4_check import SignatureError, parse_credentials, scope_service, verify

# =============================================================================================
# Output and errors
# =============================================================================================

_print_lock = threading.Lock()


def emit(obj):
    line = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=str)
    with _print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class AwsError(Exception):
    """An error answer: code, message and HTTP status; `reason` goes to the request line."""

    def __init__(self, code, message, status=400, reason=None):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.reason = reason or ""


MISSING = object()

# =============================================================================================
# Services and their models
# =============================================================================================

_session = botocore.session.get_session()


class Service:
    def __init__(self, key, model_name, protocol, signing, throttle, internal, access_denied,
                 target_prefix=None):
        self.key, self.protocol, self.signing = key, protocol, signing
        self.model = _session.get_service_model(model_name)
        self.version = self.model.metadata["apiVersion"]
        self.namespace = self.model.metadata.get("xmlNamespace", "")
        if self.namespace and not self.namespace.endswith("/"):
            self.namespace += "/"  # the model has none; real answers do
        self.target_prefix = target_prefix
        self.throttle, self.internal, self.access_denied = throttle, internal, access_denied


SERVICES = {
    "ecs": Service("ecs", "ecs", "json", "ecs", ("ThrottlingException", 400, "Rate exceeded"),
                   ("ServerException", 500, "Service Unavailable. Please try again later."),
                   ("AccessDeniedException", 400, "User is not authorized to perform this action"),
                   target_prefix="AmazonEC2ContainerServiceV20141113"),
    "tagging": Service("tagging", "resourcegroupstaggingapi", "json", "tagging",
                       ("ThrottledException", 400, "Rate exceeded"),
                       ("InternalServiceException", 500, "Internal service error"),
                       ("AccessDeniedException", 400,
                        "User is not authorized to perform this action"),
                       target_prefix="ResourceGroupsTaggingAPI_20170126"),
    "rds": Service("rds", "rds", "query", "rds", ("Throttling", 400, "Rate exceeded"),
                   ("InternalFailure", 500, "An internal error has occurred."),
                   ("AccessDenied", 403, "User is not authorized to perform this action")),
    "ec2": Service("ec2", "ec2", "ec2", "ec2",
                   ("RequestLimitExceeded", 503, "Request limit exceeded."),
                   ("InternalError", 500, "An internal error has occurred"),
                   ("UnauthorizedOperation", 403,
                    "You are not authorized to perform this operation.")),
    "ssm": Service("ssm", "ssm", "json", "ssm", ("ThrottlingException", 400, "Rate exceeded"),
                   ("InternalServerError", 500, "An internal error occurred."),
                   ("AccessDeniedException", 400,
                    "User is not authorized to perform: ssm:GetParameter"),
                   target_prefix="AmazonSSM"),
    "secretsmanager": Service("secretsmanager", "secretsmanager", "json", "secretsmanager",
                              ("ThrottlingException", 400, "Rate exceeded"),
                              ("InternalServiceError", 500, "An internal error occurred."),
                              ("AccessDeniedException", 400,
                               "User is not authorized to perform: "
                               "secretsmanager:GetSecretValue"),
                              target_prefix="secretsmanager"),
}
BY_TARGET = {s.target_prefix: s for s in SERVICES.values() if s.target_prefix}
BY_VERSION = {s.version: s for s in SERVICES.values() if s.protocol != "json"}

# =============================================================================================
# Input: form decoding and model validation
# =============================================================================================


def wire_name(member_name, member_shape, ec2):
    """The form field name of a member (EC2: queryName, else capitalised locationName)."""
    ser = member_shape.serialization
    if ec2:
        if "queryName" in ser:
            return ser["queryName"]
        if "name" in ser:
            return ser["name"][0].upper() + ser["name"][1:]
        return member_name
    return ser.get("name", member_name)


class FormDecoder:
    """Turns flat Query/EC2 form fields back into botocore parameters, the inverse of botocore's
    QuerySerializer / EC2Serializer. Records which fields it used and any value it could not
    convert."""

    def __init__(self, flat, ec2):
        self.flat, self.ec2 = flat, ec2
        self.consumed, self.errors = set(), []

    def structure(self, shape, prefix):
        out = {}
        for name, member in shape.members.items():
            value = self.value(member, prefix + wire_name(name, member, self.ec2))
            if value is not MISSING:
                out[name] = value
        return out

    def _indices(self, prefix):
        pattern = re.compile(re.escape(prefix) + r"\.(\d+)(?:\.|$)")
        return sorted({int(m.group(1)) for k in self.flat if (m := pattern.match(k))})

    def value(self, shape, key):
        kind = shape.type_name
        if kind == "structure":
            if not any(k.startswith(key + ".") for k in self.flat):
                return MISSING
            return self.structure(shape, key + ".")
        if kind == "list":
            if self.ec2:
                item_prefix = key
            elif shape.serialization.get("flattened"):
                name = shape.member.serialization.get("name")
                item_prefix = ".".join(key.split(".")[:-1] + [name]) if name else key
            else:
                item_prefix = key + "." + shape.member.serialization.get("name", "member")
            if not self.ec2 and self.flat.get(key) == "":
                self.consumed.add(key)  # the Query protocol's empty list
                return []
            indices = self._indices(item_prefix)
            if not indices:
                return MISSING
            items = [self.value(shape.member, "%s.%d" % (item_prefix, i)) for i in indices]
            return [item for item in items if item is not MISSING]
        if kind == "map":
            prefix = key if shape.serialization.get("flattened") else key + ".entry"
            key_name = shape.key.serialization.get("name", "key")
            value_name = shape.value.serialization.get("name", "value")
            out = {}
            for i in self._indices(prefix):
                k = self.value(shape.key, "%s.%d.%s" % (prefix, i, key_name))
                v = self.value(shape.value, "%s.%d.%s" % (prefix, i, value_name))
                if k is not MISSING:
                    out[k] = None if v is MISSING else v
            return out if out else MISSING
        if key not in self.flat:
            return MISSING
        self.consumed.add(key)
        text = self.flat[key]
        if kind in ("integer", "long"):
            if not re.fullmatch(r"-?\d+", text):
                self.errors.append("Invalid value '%s' for %s: expected an integer" % (text, key))
                return MISSING
            return int(text)
        if kind == "boolean":
            if text.lower() not in ("true", "false"):
                self.errors.append("Invalid value '%s' for %s: expected true or false"
                                   % (text, key))
                return MISSING
            return text.lower() == "true"
        if kind in ("double", "float"):
            try:
                return float(text)
            except ValueError:
                self.errors.append("Invalid value '%s' for %s: expected a number" % (text, key))
                return MISSING
        return text


def strict_checks(value, shape, path, errors):
    """What ParamValidator lets through: enum values, booleans given for numbers."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name, item in value.items():
            if name in shape.members:
                strict_checks(item, shape.members[name], path + "." + name, errors)
    elif kind == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            strict_checks(item, shape.member, "%s[%d]" % (path, i), errors)
    elif kind in ("integer", "long", "double", "float") and isinstance(value, bool):
        errors.append("Invalid type for parameter %s, value: %s: a boolean is not a number"
                      % (path, value))
    elif kind == "string" and isinstance(value, str) and shape.enum and value not in shape.enum:
        errors.append("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum "
                      "value set: [%s]" % (value, path, ", ".join(shape.enum)))


def drop_nulls(value):
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def validate(service, operation_model, params):
    """Raises AwsError when `params` do not satisfy the operation's input shape."""
    shape = operation_model.input_shape
    if shape is None:
        return
    report = ParamValidator().validate(params, shape)
    extra = []
    strict_checks(params, shape, "input", extra)
    if not report.has_errors() and not extra:
        return
    text = "\n".join(filter(None, [report.generate_report()] + extra))
    if service.protocol == "json":
        raise AwsError("ValidationException", text, 400, "model: " + text)
    kinds = [error[0] for error in report._errors]
    code = "MissingParameter" if "missing required field" in kinds else "InvalidParameterValue"
    raise AwsError(code, text, 400, "model: " + text)


# =============================================================================================
# Output: model-driven JSON and XML serialisers
# =============================================================================================


def parse_time(value):
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    text = str(value).replace("Z", "+00:00")
    at = datetime.datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=datetime.timezone.utc)


def iso_time(value):
    return parse_time(value).astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def check_members(shape, value):
    unknown = [k for k in value if k not in shape.members]
    if unknown:  # a bug in this fake: it must only ever send modelled members
        raise RuntimeError("fake_aws: %s has no member(s) %s" % (shape.name, unknown))


def to_json(shape, value):
    kind = shape.type_name
    if kind == "structure":
        check_members(shape, value)
        return {k: to_json(shape.members[k], v) for k, v in value.items() if v is not None}
    if kind == "list":
        return [to_json(shape.member, v) for v in value]
    if kind == "map":
        return {k: to_json(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        seconds = parse_time(value).timestamp()
        return int(seconds) if seconds == int(seconds) else seconds
    return value


def scalar_text(shape, value):
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return iso_time(value)
    if kind == "blob":
        return base64.b64encode(value if isinstance(value, bytes) else value.encode()).decode()
    return str(value)


def xml_members(shape, value, out):
    """The members in the order the handler wrote them (AWS's order, not the model's)."""
    check_members(shape, value)
    for name, item in value.items():
        if item is not None:
            member = shape.members[name]
            xml_element(member, item, member.serialization.get("name", name), out)


def xml_element(shape, value, name, out):
    kind = shape.type_name
    if kind == "structure":
        out.append("<%s>" % name)
        xml_members(shape, value, out)
        out.append("</%s>" % name)
    elif kind == "list":
        member = shape.member
        if shape.serialization.get("flattened"):
            for item in value:
                xml_element(member, item, member.serialization.get("name", name), out)
        else:
            out.append("<%s>" % name)
            for item in value:
                xml_element(member, item, member.serialization.get("name", "member"), out)
            out.append("</%s>" % name)
    elif kind == "map":
        out.append("<%s>" % name)
        for k, v in value.items():
            out.append("<entry>")
            xml_element(shape.key, k, shape.key.serialization.get("name", "key"), out)
            xml_element(shape.value, v, shape.value.serialization.get("name", "value"), out)
            out.append("</entry>")
        out.append("</%s>" % name)
    else:
        out.append("<%s>%s</%s>" % (name, xml_escape(scalar_text(shape, value)), name))


def render_success(service, operation_model, result, request_id):
    """(status, headers, body) of a successful answer in the service's protocol."""
    shape, op = operation_model.output_shape, operation_model.name
    if service.protocol == "json":
        body = json.dumps(to_json(shape, result) if shape is not None else {},
                          separators=(",", ":"))
        return 200, [("Content-Type", "application/x-amz-json-1.1")], body.encode()
    out = []
    if service.protocol == "query":
        out.append('<%sResponse xmlns="%s">' % (op, service.namespace))
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper", op + "Result")
            out.append("<%s>" % wrapper)
            xml_members(shape, result, out)
            out.append("</%s>" % wrapper)
        out.append("<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>" % request_id)
        out.append("</%sResponse>" % op)
    else:
        out.append('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.append('<%sResponse xmlns="%s">' % (op, service.namespace))
        out.append("<requestId>%s</requestId>" % request_id)
        if shape is not None:
            xml_members(shape, result, out)
        else:
            out.append("<return>true</return>")
        out.append("</%sResponse>" % op)
    return 200, [("Content-Type", "text/xml;charset=UTF-8")], "".join(out).encode()


def render_error(service, code, message, status, request_id):
    """(status, headers, body) of an error in the service's protocol (JSON when unknown)."""
    protocol = service.protocol if service else "json"
    if protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        return status, [("Content-Type", "application/x-amz-json-1.1")], body
    if protocol == "query":
        kind = "Receiver" if status >= 500 else "Sender"
        body = ('<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s'
                '</Message></Error><RequestId>%s</RequestId></ErrorResponse>'
                % (service.namespace, kind, xml_escape(code), xml_escape(message), request_id))
        return status, [("Content-Type", "text/xml")], body.encode()
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>%s</Code>'
            '<Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>'
            % (xml_escape(code), xml_escape(message), request_id))
    return status, [("Content-Type", "text/xml;charset=UTF-8")], body.encode()


# =============================================================================================
# State
# =============================================================================================

DEFAULT_TIME = "2026-01-05T09:00:00Z"
EC2_STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48,
                   "stopping": 64, "stopped": 80}


def norm_tags(tags):
    """{"Key": "Value"} from a dict or a list of {key,value} / {Key,Value}."""
    if not tags:
        return {}
    if isinstance(tags, dict):
        return {str(k): "" if v is None else str(v) for k, v in tags.items()}
    out = {}
    for tag in tags:
        key = tag.get("Key", tag.get("key"))
        out[key] = tag.get("Value", tag.get("value", "")) or ""
    return out


def short_hash(*parts, length=17):
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:length]


def normalize(doc):
    """A full state document from a possibly sparse one (defaults and ARNs filled in)."""
    state = copy.deepcopy(doc or {})
    region = state.setdefault("region", "eu-west-1")
    account = state.setdefault("account", "123456789012")
    state.setdefault("settleDescribes", 0)
    ecs = state.setdefault("ecs", {})
    for cluster in ecs.setdefault("clusters", []):
        cname = cluster["name"]
        cluster.setdefault("arn", "arn:aws:ecs:%s:%s:cluster/%s" % (region, account, cname))
        cluster.setdefault("status", "ACTIVE")
        cluster["tags"] = norm_tags(cluster.get("tags"))
        for service in cluster.setdefault("services", []):
            name = service["name"]
            service.setdefault("arn", "arn:aws:ecs:%s:%s:service/%s/%s" % (region, account, cname,
                                                                           name))
            service.setdefault("status", "ACTIVE")
            service.setdefault("desiredCount", 1)
            service.setdefault("runningCount", service["desiredCount"])
            service.setdefault("launchType", "FARGATE")
            service.setdefault("taskDefinition", "arn:aws:ecs:%s:%s:task-definition/%s-%s:1"
                               % (region, account, cname, name))
            service.setdefault("createdAt", DEFAULT_TIME)
            service["tags"] = norm_tags(service.get("tags"))
    rds = state.setdefault("rds", {})
    for instance in rds.setdefault("instances", []):
        iid = instance["id"]
        instance.setdefault("arn", "arn:aws:rds:%s:%s:db:%s" % (region, account, iid))
        instance.setdefault("status", "available")
        instance.setdefault("engine", "postgres")
        instance.setdefault("engineVersion", "16.3")
        instance.setdefault("instanceClass", "db.t4g.micro")
        instance.setdefault("cluster", None)
        instance.setdefault("resourceId", "db-" + short_hash(iid, length=26).upper())
        instance.setdefault("createTime", DEFAULT_TIME)
        instance.setdefault("availabilityZone", region + "a")
        instance["tags"] = norm_tags(instance.get("tags"))
    for cluster in rds.setdefault("clusters", []):
        cid = cluster["id"]
        cluster.setdefault("arn", "arn:aws:rds:%s:%s:cluster:%s" % (region, account, cid))
        cluster.setdefault("status", "available")
        cluster.setdefault("engine", "aurora-postgresql")
        cluster.setdefault("engineVersion", "16.2")
        cluster.setdefault("resourceId", "cluster-" + short_hash(cid, length=26).upper())
        cluster.setdefault("createTime", DEFAULT_TIME)
        cluster.setdefault("members", [])
        cluster["tags"] = norm_tags(cluster.get("tags"))
        for instance in rds["instances"]:  # membership is kept on both sides
            if instance["id"] in cluster["members"]:
                instance["cluster"] = cid
            elif instance.get("cluster") == cid:
                cluster["members"].append(instance["id"])
    ec2 = state.setdefault("ec2", {})
    ec2.setdefault("rulesPerGroupLimit", 60)
    for instance in ec2.setdefault("instances", []):
        iid = instance["id"]
        instance.setdefault("arn", "arn:aws:ec2:%s:%s:instance/%s" % (region, account, iid))
        instance.setdefault("state", "running")
        instance.setdefault("instanceType", "t3.micro")
        instance.setdefault("availabilityZone", region + "a")
        instance.setdefault("launchTime", DEFAULT_TIME)
        instance.setdefault("imageId", "ami-0" + short_hash(iid, length=16))
        instance.setdefault("vpcId", "vpc-0a1b2c3d4e5f60718")
        instance.setdefault("subnetId", "subnet-0" + short_hash(iid, "subnet", length=16))
        instance.setdefault("privateIp", "10.0.%d.%d" % (
            int(short_hash(iid, length=2), 16) % 250, int(short_hash(iid, length=4), 16) % 250 + 4))
        instance["tags"] = norm_tags(instance.get("tags"))
    for group in ec2.setdefault("securityGroups", []):
        gid = group["id"]
        group.setdefault("arn", "arn:aws:ec2:%s:%s:security-group/%s" % (region, account, gid))
        group.setdefault("name", gid)
        group.setdefault("description", "managed by terraform")
        group.setdefault("vpcId", "vpc-0a1b2c3d4e5f60718")
        group["tags"] = norm_tags(group.get("tags"))
    for rule in ec2.setdefault("securityGroupRules", []):
        rid = rule["id"]
        rule.setdefault("arn", "arn:aws:ec2:%s:%s:security-group-rule/%s" % (region, account, rid))
        rule.setdefault("egress", False)
        rule.setdefault("protocol", "tcp")
        rule.setdefault("fromPort", -1 if rule["protocol"] == "-1" else 22)
        rule.setdefault("toPort", rule["fromPort"])
        rule.setdefault("description", "")
        rule["tags"] = norm_tags(rule.get("tags"))
    ssm = state.setdefault("ssm", {})
    for parameter in ssm.setdefault("parameters", []):
        name = parameter["name"]
        parameter.setdefault("type", "SecureString")
        parameter.setdefault("version", 1)
        parameter.setdefault("arn", "arn:aws:ssm:%s:%s:parameter/%s"
                             % (region, account, name.lstrip("/")))
        parameter.setdefault("lastModified", DEFAULT_TIME)
    secretsmanager = state.setdefault("secretsmanager", {})
    for secret in secretsmanager.setdefault("secrets", []):
        name = secret["name"]
        secret.setdefault("arn", "arn:aws:secretsmanager:%s:%s:secret:%s-%s"
                          % (region, account, name, short_hash(name, length=6)))
        secret.setdefault("versionId", str(uuid.UUID(short_hash(name, "v", length=32))))
        secret.setdefault("createdDate", DEFAULT_TIME)
    return state


MERGE_LISTS = [("ecs", "clusters", "name"), ("rds", "instances", "id"), ("rds", "clusters", "id"),
               ("ec2", "instances", "id"), ("ec2", "securityGroups", "id"),
               ("ec2", "securityGroupRules", "id"), ("ssm", "parameters", "name"),
               ("secretsmanager", "secrets", "name")]


def merge_list(old, new, key, nested=None):
    for entry in new:
        match = next((o for o in old if o.get(key) == entry.get(key)), None)
        if entry.get("_delete"):
            if match is not None:
                old.remove(match)
        elif match is None:
            old.append(entry)
        else:
            for field, value in entry.items():
                if nested and field == nested[0]:
                    merge_list(match.setdefault(field, []), value, nested[1])
                else:
                    match[field] = value


def merge_state(state, patch):
    merged = copy.deepcopy(state)
    for field, value in patch.items():
        if not isinstance(value, dict):
            merged[field] = value
    for section, name, key in MERGE_LISTS:
        entries = (patch.get(section) or {}).get(name)
        if entries is not None:
            nested = ("services", "name") if (section, name) == ("ecs", "clusters") else None
            merge_list(merged.setdefault(section, {}).setdefault(name, []), entries, key, nested)
    for section in ("ec2",):
        for field, value in (patch.get(section) or {}).items():
            if not isinstance(value, list):
                merged[section][field] = value
    return normalize(merged)


PAGE_SIZE_FIELDS = ("MaxRecords", "MaxResults", "maxResults", "ResourcesPerPage")


class Pager:
    """Opaque pagination tokens, each bound to the operation and parameters that made it."""

    def __init__(self):
        self.tokens = {}

    def page(self, ctx, items, size, token_field, bad_token):
        params = ctx.params
        token_in = params.get(token_field) or ""
        fingerprint = json.dumps({k: v for k, v in params.items()
                                  if k != token_field and k not in PAGE_SIZE_FIELDS},
                                 sort_keys=True, default=str)
        offset = 0
        if token_in:
            bound = self.tokens.get(token_in)
            if bound is None or bound != (ctx.operation, fingerprint, bound[2]):
                raise bad_token
            offset = bound[2]
        if ctx.fault_kind == "empty_page":
            return [], self._new(ctx.operation, fingerprint, offset)
        chunk = items[offset:offset + size]
        token_out = (self._new(ctx.operation, fingerprint, offset + size)
                     if offset + size < len(items) else None)
        if ctx.fault_kind == "token_loop":
            token_out = token_in or token_out or self._new(ctx.operation, fingerprint, offset)
        return chunk, token_out

    def _new(self, operation, fingerprint, offset):
        token = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
        self.tokens[token] = (operation, fingerprint, offset)
        return token


# =============================================================================================
# Operations. Each handler gets a Context (state locked) and returns the output as botocore
# member names; errors are AwsError.
# =============================================================================================

HANDLERS = {}


def handler(service, operation):
    def register(fn):
        HANDLERS[(service, operation)] = fn
        return fn
    return register


class Context:
    def __init__(self, server, service, operation, params, fault_kind):
        self.server, self.service, self.operation = server, service, operation
        self.params, self.fault_kind = params, fault_kind
        self.state = server.state
        self.region, self.account = self.state["region"], self.state["account"]


def settle(resource, field, final):
    """One describe call has shown `resource`: count its pending transition down."""
    left = resource.get("settleDescribes", 0)
    if left > 0:
        resource["settleDescribes"] = left - 1
        if left - 1 == 0:
            resource[field] = final(resource)
            resource.pop("settleDescribes", None)
            resource.pop("settlesTo", None)


def transition(ctx, resource, field, between, final):
    """Moves `resource[field]` to `final`, through `between` for settleDescribes describes."""
    lag = int(ctx.state.get("settleDescribes", 0))
    if lag > 0:
        resource[field], resource["settlesTo"], resource["settleDescribes"] = between, final, lag
    else:
        resource[field] = final
        resource.pop("settleDescribes", None)
        resource.pop("settlesTo", None)


def match_values(value, wanted):
    """EC2-style filter values: any of them, with * and ? wildcards."""
    return value is not None and any(fnmatch.fnmatchcase(str(value), w) for w in wanted)


# --------------------------------------------------------------------------------- tagging --

def all_tagged(state):
    """(arn, type, tags) of every resource with tags, in a stable order."""
    out = []
    for cluster in state["ecs"]["clusters"]:
        out.append((cluster["arn"], "ecs:cluster", cluster["tags"]))
        out.extend((s["arn"], "ecs:service", s["tags"]) for s in cluster["services"])
    out.extend((i["arn"], "rds:db", i["tags"]) for i in state["rds"]["instances"])
    out.extend((c["arn"], "rds:cluster", c["tags"]) for c in state["rds"]["clusters"])
    out.extend((i["arn"], "ec2:instance", i["tags"]) for i in state["ec2"]["instances"])
    out.extend((g["arn"], "ec2:security-group", g["tags"]) for g in state["ec2"]["securityGroups"])
    out.extend((r["arn"], "ec2:security-group-rule", r["tags"])
               for r in state["ec2"]["securityGroupRules"])
    return [entry for entry in out if entry[2]]


@handler("tagging", "GetResources")
def get_resources(ctx):
    """TagFilters (AND of keys, OR of values, no values = key present), ResourceTypeFilters
    ("service" or "service:type"), ResourcesPerPage 1-100 (default 50), PaginationToken;
    ResourceARNList (1-100) can't be combined with the others (InvalidParameterException)."""
    p = ctx.params
    invalid = lambda message: AwsError("InvalidParameterException", message)  # noqa: E731
    arns = p.get("ResourceARNList")
    if arns is not None:
        if any(k in p for k in ("TagFilters", "ResourceTypeFilters", "ResourcesPerPage")) or \
                p.get("PaginationToken"):
            raise invalid("ResourceARNList can't be used with TagFilters, ResourceTypeFilters, "
                          "ResourcesPerPage or PaginationToken")
        if not 1 <= len(arns) <= 100:
            raise invalid("ResourceARNList must have 1 to 100 entries")
    filters = p.get("TagFilters", [])
    if len(filters) > 50:
        raise invalid("TagFilters can have at most 50 entries")
    for f in filters:
        if not f.get("Key"):
            raise invalid("Each TagFilter needs a Key")
        if len(f.get("Values", [])) > 20:
            raise invalid("A TagFilter can have at most 20 values")
    size = p.get("ResourcesPerPage", 50)
    if not 1 <= size <= 100:
        raise invalid("ResourcesPerPage must be between 1 and 100")
    types = p.get("ResourceTypeFilters", [])
    items = []
    for arn, rtype, tags in all_tagged(ctx.state):
        if arns is not None and arn not in arns:
            continue
        if types and not any(rtype == t or rtype.startswith(t + ":") for t in types):
            continue
        if not all(f["Key"] in tags and (not f.get("Values") or tags[f["Key"]] in f["Values"])
                   for f in filters):
            continue
        items.append({"ResourceARN": arn,
                      "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]})
    page, token = ctx.server.pager.page(ctx, items, size, "PaginationToken",
                                        invalid("Invalid PaginationToken"))
    return {"ResourceTagMappingList": page, "PaginationToken": token or ""}


# ------------------------------------------------------------------------------------- ECS --

def ecs_cluster(ctx, ref):
    """The cluster named or ARN'd by `ref` (omitted = "default"); ClusterNotFoundException."""
    ref = ref or "default"
    name = ref.split("/")[-1] if ref.startswith("arn:") else ref
    for cluster in ctx.state["ecs"]["clusters"]:
        if cluster["name"] == name or cluster["arn"] == ref:
            return cluster
    raise AwsError("ClusterNotFoundException", "Cluster not found.")


def ecs_find_service(cluster, ref):
    name = ref.split("/")[-1] if ref.startswith("arn:") else ref
    if ref.startswith("arn:") and ref.count("/") == 2 and ref.split("/")[1] != cluster["name"]:
        return None
    return next((s for s in cluster["services"] if s["name"] == name), None)


def ecs_service_out(cluster, service, with_tags):
    out = {
        "serviceArn": service["arn"], "serviceName": service["name"],
        "clusterArn": cluster["arn"], "status": service["status"],
        "desiredCount": service["desiredCount"], "runningCount": service["runningCount"],
        "pendingCount": max(0, service["desiredCount"] - service["runningCount"]),
        "launchType": service["launchType"], "taskDefinition": service["taskDefinition"],
        "createdAt": service["createdAt"], "schedulingStrategy": "REPLICA", "loadBalancers": [],
        "deploymentConfiguration": {"maximumPercent": 200, "minimumHealthyPercent": 100},
        "deployments": [{
            "id": "ecs-svc/" + str(int(short_hash(service["arn"], length=15), 16)),
            "status": "PRIMARY", "taskDefinition": service["taskDefinition"],
            "desiredCount": service["desiredCount"], "runningCount": service["runningCount"],
            "pendingCount": max(0, service["desiredCount"] - service["runningCount"]),
            "createdAt": service["createdAt"],
            "updatedAt": service.get("updatedAt", service["createdAt"]),
            "launchType": service["launchType"],
            "rolloutState": "COMPLETED" if service["runningCount"] == service["desiredCount"]
            else "IN_PROGRESS"}],
        "events": [],
    }
    if with_tags:
        out["tags"] = [{"key": k, "value": v} for k, v in service["tags"].items()]
    return out


def ecs_running(service):
    return service["desiredCount"]


@handler("ecs", "DescribeServices")
def describe_services(ctx):
    """Up to 10 names or ARNs in one cluster (omitted = "default"); unknown ones come back in
    failures[{arn, reason: "MISSING"}]; include ["TAGS"] adds tags."""
    cluster = ecs_cluster(ctx, ctx.params.get("cluster"))
    refs = ctx.params["services"]
    if len(refs) > 10:
        raise AwsError("InvalidParameterException",
                       "services cannot contain more than 10 elements.")
    with_tags = "TAGS" in ctx.params.get("include", [])
    services, failures = [], []
    for ref in refs:
        service = ecs_find_service(cluster, ref)
        if service is None:
            arn = ref if ref.startswith("arn:") else "arn:aws:ecs:%s:%s:service/%s/%s" % (
                ctx.region, ctx.account, cluster["name"], ref)
            failures.append({"arn": arn, "reason": "MISSING"})
            continue
        services.append(ecs_service_out(cluster, service, with_tags))
        settle(service, "runningCount", ecs_running)
    return {"services": services, "failures": failures}


@handler("ecs", "UpdateService")
def update_service(ctx):
    """Only desiredCount changes state (other members are accepted and ignored)."""
    cluster = ecs_cluster(ctx, ctx.params.get("cluster"))
    service = ecs_find_service(cluster, ctx.params["service"])
    if service is None:
        raise AwsError("ServiceNotFoundException", "Service not found.")
    if service["status"] != "ACTIVE":
        raise AwsError("ServiceNotActiveException", "Service was not ACTIVE.")
    if "desiredCount" in ctx.params:
        count = ctx.params["desiredCount"]
        if count < 0:
            raise AwsError("InvalidParameterException", "desiredCount can't be negative.")
        service["desiredCount"] = count
        service["updatedAt"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
        if service["runningCount"] != count:
            transition(ctx, service, "runningCount", service["runningCount"], count)
            if "settlesTo" in service:
                del service["settlesTo"]  # runningCount follows desiredCount
    return {"service": ecs_service_out(cluster, service, False)}


def ecs_resource(ctx, arn):
    """The cluster or service of a tagging ARN; short service ARNs are refused."""
    match = re.fullmatch(r"arn:aws:ecs:([^:]+):(\d{12}):(cluster|service)/(.+)", arn)
    if not match:
        raise AwsError("InvalidParameterException", "Invalid resource ARN: %s" % arn)
    kind, rest = match.group(3), match.group(4)
    if kind == "service" and "/" not in rest:
        raise AwsError("InvalidParameterException",
                       "Long arn format must be used for tagging operations")
    for cluster in ctx.state["ecs"]["clusters"]:
        if kind == "cluster" and cluster["arn"] == arn:
            return cluster
        for service in cluster["services"] if kind == "service" else []:
            if service["arn"] == arn:
                return service
    raise AwsError("ResourceNotFoundException", "The specified resource could not be found.")


@handler("ecs", "TagResource")
def ecs_tag_resource(ctx):
    resource = ecs_resource(ctx, ctx.params["resourceArn"])
    tags = dict(resource["tags"])
    for tag in ctx.params["tags"]:
        key = tag.get("key")
        if not key or len(key) > 128:
            raise AwsError("InvalidParameterException", "Tag keys must be 1 to 128 characters.")
        if key.lower().startswith("aws:"):
            raise AwsError("InvalidParameterException", "Tag keys can't start with aws:")
        tags[key] = tag.get("value", "")
    if len(tags) > 50:
        raise AwsError("InvalidParameterException", "A resource can have at most 50 tags.")
    resource["tags"] = tags
    return {}


@handler("ecs", "UntagResource")
def ecs_untag_resource(ctx):
    resource = ecs_resource(ctx, ctx.params["resourceArn"])
    for key in ctx.params["tagKeys"]:
        resource["tags"].pop(key, None)
    return {}


@handler("ecs", "ListTagsForResource")
def ecs_list_tags(ctx):
    resource = ecs_resource(ctx, ctx.params["resourceArn"])
    return {"tags": [{"key": k, "value": v} for k, v in resource["tags"].items()]}


@handler("ecs", "ListClusters")
def list_clusters(ctx):
    size = ctx.params.get("maxResults", 100)
    if not 1 <= size <= 100:
        raise AwsError("InvalidParameterException", "maxResults must be between 1 and 100.")
    arns = [c["arn"] for c in ctx.state["ecs"]["clusters"]]
    page, token = ctx.server.pager.page(ctx, arns, size, "nextToken",
                                        AwsError("InvalidParameterException", "Invalid token"))
    return {"clusterArns": page, "nextToken": token}


@handler("ecs", "ListServices")
def list_services(ctx):
    cluster = ecs_cluster(ctx, ctx.params.get("cluster"))
    size = ctx.params.get("maxResults", 10)
    if not 1 <= size <= 100:
        raise AwsError("InvalidParameterException", "maxResults must be between 1 and 100.")
    arns = [s["arn"] for s in cluster["services"]]
    page, token = ctx.server.pager.page(ctx, arns, size, "nextToken",
                                        AwsError("InvalidParameterException", "Invalid token"))
    return {"serviceArns": page, "nextToken": token}


# ------------------------------------------------------------------------------------- RDS --

def rds_tags(tags):
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def rds_instance_out(instance):
    out = {
        "DBInstanceIdentifier": instance["id"], "DBInstanceClass": instance["instanceClass"],
        "Engine": instance["engine"], "DBInstanceStatus": instance["status"],
        "MasterUsername": "app",
        "Endpoint": {"Address": "%s.c1a2b3c4d5e6.%s.rds.amazonaws.com" % (
            instance["id"], instance["arn"].split(":")[3]), "Port": 5432,
            "HostedZoneId": "Z29XKXDKYMONMX"},
        "AllocatedStorage": 20, "InstanceCreateTime": instance["createTime"],
        "AvailabilityZone": instance["availabilityZone"], "MultiAZ": False,
        "EngineVersion": instance["engineVersion"], "AutoMinorVersionUpgrade": True,
        "PubliclyAccessible": False, "StorageType": "gp3", "StorageEncrypted": True,
        "DbiResourceId": instance["resourceId"], "DBInstanceArn": instance["arn"],
        "DeletionProtection": False, "TagList": rds_tags(instance["tags"]),
    }
    if instance.get("cluster"):
        out["DBClusterIdentifier"] = instance["cluster"]
    return out


def rds_cluster_out(state, cluster):
    return {
        "DBClusterIdentifier": cluster["id"], "Status": cluster["status"],
        "Engine": cluster["engine"], "EngineVersion": cluster["engineVersion"],
        "Endpoint": "%s.cluster-c1a2b3c4d5e6.%s.rds.amazonaws.com" % (cluster["id"],
                                                                      state["region"]),
        "ReaderEndpoint": "%s.cluster-ro-c1a2b3c4d5e6.%s.rds.amazonaws.com" % (cluster["id"],
                                                                               state["region"]),
        "Port": 5432, "MultiAZ": False, "MasterUsername": "app",
        "DBClusterMembers": [{"DBInstanceIdentifier": member, "IsClusterWriter": i == 0,
                              "DBClusterParameterGroupStatus": "in-sync", "PromotionTier": 1}
                             for i, member in enumerate(cluster["members"])],
        "StorageEncrypted": True, "DbClusterResourceId": cluster["resourceId"],
        "DBClusterArn": cluster["arn"], "ClusterCreateTime": cluster["createTime"],
        "DeletionProtection": False, "EngineMode": "provisioned",
        "TagList": rds_tags(cluster["tags"]),
    }


def rds_filter(ctx, allowed):
    """{filter name: values} of the Filters parameter; unknown names are refused."""
    out = {}
    for f in ctx.params.get("Filters", []):
        if f["Name"] not in allowed:
            raise AwsError("InvalidParameterValue", "Unrecognized filter name: %s" % f["Name"])
        out[f["Name"]] = f["Values"]
    return out


def rds_page_size(ctx):
    size = ctx.params.get("MaxRecords", 100)
    if not 20 <= size <= 100:
        raise AwsError("InvalidParameterValue",
                       "Invalid value %d for MaxRecords. Must be between 20 and 100" % size)
    return size


def rds_find_instance(ctx, ref):
    for instance in ctx.state["rds"]["instances"]:
        if instance["id"].lower() == ref.lower() or instance["arn"] == ref:
            return instance
    raise AwsError("DBInstanceNotFound", "DBInstance %s not found." % ref, 404)


def rds_find_cluster(ctx, ref):
    for cluster in ctx.state["rds"]["clusters"]:
        if cluster["id"].lower() == ref.lower() or cluster["arn"] == ref:
            return cluster
    raise AwsError("DBClusterNotFoundFault", "DBCluster %s not found." % ref, 404)


def rds_instance_final(instance):
    return instance["settlesTo"]


@handler("rds", "DescribeDBInstances")
def describe_db_instances(ctx):
    """DBInstanceIdentifier (id or ARN; unknown = DBInstanceNotFound 404), Filters
    db-cluster-id / db-instance-id / dbi-resource-id / engine / domain, MaxRecords 20-100,
    Marker."""
    size = rds_page_size(ctx)
    filters = rds_filter(ctx, {"db-cluster-id", "db-instance-id", "dbi-resource-id", "domain",
                               "engine"})
    if "DBInstanceIdentifier" in ctx.params:
        instances = [rds_find_instance(ctx, ctx.params["DBInstanceIdentifier"])]
    else:
        instances = list(ctx.state["rds"]["instances"])
    region, account = ctx.region, ctx.account

    def keep(i):
        cluster_arn = "arn:aws:rds:%s:%s:cluster:%s" % (region, account, i.get("cluster"))
        checks = {"db-cluster-id": [i.get("cluster"), cluster_arn],
                  "db-instance-id": [i["id"], i["arn"]], "dbi-resource-id": [i["resourceId"]],
                  "engine": [i["engine"]], "domain": []}
        return all(any(v in values for v in checks[name]) for name, values in filters.items())

    page, marker = ctx.server.pager.page(ctx, [i for i in instances if keep(i)], size, "Marker",
                                         AwsError("InvalidParameterValue", "Invalid Marker"))
    out = {"DBInstances": [rds_instance_out(i) for i in page]}
    for instance in page:
        settle(instance, "status", rds_instance_final)
    if marker:
        out["Marker"] = marker
    return out


@handler("rds", "DescribeDBClusters")
def describe_db_clusters(ctx):
    """Like DescribeDBInstances (unknown = DBClusterNotFoundFault 404); Filters db-cluster-id /
    db-cluster-resource-id / engine / clone-group-id / domain."""
    size = rds_page_size(ctx)
    filters = rds_filter(ctx, {"clone-group-id", "db-cluster-id", "db-cluster-resource-id",
                               "domain", "engine"})
    if "DBClusterIdentifier" in ctx.params:
        clusters = [rds_find_cluster(ctx, ctx.params["DBClusterIdentifier"])]
    else:
        clusters = list(ctx.state["rds"]["clusters"])

    def keep(c):
        checks = {"db-cluster-id": [c["id"], c["arn"]], "db-cluster-resource-id": [c["resourceId"]],
                  "engine": [c["engine"]], "clone-group-id": [], "domain": []}
        return all(any(v in values for v in checks[name]) for name, values in filters.items())

    page, marker = ctx.server.pager.page(ctx, [c for c in clusters if keep(c)], size, "Marker",
                                         AwsError("InvalidParameterValue", "Invalid Marker"))
    out = {"DBClusters": [rds_cluster_out(ctx.state, c) for c in page]}
    for cluster in page:
        settle(cluster, "status", rds_instance_final)
    if marker:
        out["Marker"] = marker
    return out


def rds_not_aurora(instance):
    if instance.get("cluster"):
        raise AwsError("InvalidParameterCombination",
                       "%s DB instances are not eligible for stopping and starting."
                       % instance["engine"])


@handler("rds", "StopDBInstance")
def stop_db_instance(ctx):
    """Only an available, non-Aurora instance: else InvalidDBInstanceState /
    InvalidParameterCombination (an Aurora member: stop its cluster)."""
    instance = rds_find_instance(ctx, ctx.params["DBInstanceIdentifier"])
    rds_not_aurora(instance)
    if instance["status"] != "available":
        raise AwsError("InvalidDBInstanceState",
                       "Instance %s is not in available state." % instance["id"])
    transition(ctx, instance, "status", "stopping", "stopped")
    return {"DBInstance": rds_instance_out(instance)}


@handler("rds", "StartDBInstance")
def start_db_instance(ctx):
    instance = rds_find_instance(ctx, ctx.params["DBInstanceIdentifier"])
    rds_not_aurora(instance)
    if instance["status"] != "stopped":
        raise AwsError("InvalidDBInstanceState",
                       "Instance %s is not stopped, it is %s." % (instance["id"],
                                                                  instance["status"]))
    transition(ctx, instance, "status", "starting", "available")
    return {"DBInstance": rds_instance_out(instance)}


def rds_cluster_switch(ctx, expected, between, final):
    cluster = rds_find_cluster(ctx, ctx.params["DBClusterIdentifier"])
    if cluster["status"] != expected:
        raise AwsError("InvalidDBClusterStateFault",
                       "DbCluster %s is in %s state but expected it to be one of %s."
                       % (cluster["id"], cluster["status"], expected))
    transition(ctx, cluster, "status", between, final)
    for instance in ctx.state["rds"]["instances"]:
        if instance["id"] in cluster["members"]:
            transition(ctx, instance, "status", between, final)
    return {"DBCluster": rds_cluster_out(ctx.state, cluster)}


@handler("rds", "StopDBCluster")
def stop_db_cluster(ctx):
    """available -> stopped (members too), else InvalidDBClusterStateFault."""
    return rds_cluster_switch(ctx, "available", "stopping", "stopped")


@handler("rds", "StartDBCluster")
def start_db_cluster(ctx):
    return rds_cluster_switch(ctx, "stopped", "starting", "available")


# ------------------------------------------------------------------------------------- EC2 --

def ec2_tags(tags):
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def ec2_filters(ctx, allowed, fields):
    """A predicate for the Filter.N parameters: `fields(resource)` gives {filter name: value
    or list}; "tag:K" and "tag-key" work on resource["tags"]. Unknown names are refused."""
    filters = []
    for f in ctx.params.get("Filters", []):
        name = f.get("Name")
        if not name or not (name in allowed or name.startswith("tag:") or name == "tag-key"):
            raise AwsError("InvalidParameterValue", "The filter '%s' is invalid" % name)
        filters.append((name, f.get("Values", [])))

    def keep(resource):
        known = fields(resource)
        for name, values in filters:
            if name.startswith("tag:"):
                ok = match_values(resource["tags"].get(name[4:]), values)
            elif name == "tag-key":
                ok = any(match_values(k, values) for k in resource["tags"])
            else:
                have = known.get(name)
                have = have if isinstance(have, list) else [have]
                ok = any(match_values(v, values) for v in have)
            if not ok:
                return False
        return True
    return keep


def ec2_page_size(ctx, total):
    if "MaxResults" not in ctx.params:
        return max(total, 1)
    size = ctx.params["MaxResults"]
    if not 5 <= size <= 1000:
        raise AwsError("InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. "
                       "Expecting a value between 5 and 1000." % size)
    return size


def ec2_page(ctx, items):
    return ctx.server.pager.page(ctx, items, ec2_page_size(ctx, len(items)), "NextToken",
                                 AwsError("InvalidParameterValue",
                                          "Invalid value '%s' for nextToken"
                                          % ctx.params.get("NextToken")))


def ec2_lookup(ctx, collection, ids, pattern, malformed, not_found, what):
    """The resources with these ids, all or nothing (Malformed / NotFound errors)."""
    bad = [i for i in ids if not re.fullmatch(pattern, i)]
    if bad:
        raise AwsError(malformed, 'Invalid id: "%s"' % bad[0])
    index = {r["id"]: r for r in ctx.state["ec2"][collection]}
    missing = [i for i in ids if i not in index]
    if len(missing) == 1:
        raise AwsError(not_found, "The %s '%s' does not exist" % (what, missing[0]))
    if missing:
        raise AwsError(not_found, "The %ss '%s' do not exist" % (what, ", ".join(missing)))
    return [index[i] for i in ids]


def ec2_instances(ctx, ids):
    return ec2_lookup(ctx, "instances", ids, r"i-[0-9a-f]{8}([0-9a-f]{9})?",
                      "InvalidInstanceID.Malformed", "InvalidInstanceID.NotFound", "instance ID")


def ec2_state(name):
    return {"Code": EC2_STATE_CODES[name], "Name": name}


def ec2_instance_out(instance):
    stopped = instance["state"] == "stopped"
    out = {
        "InstanceId": instance["id"], "ImageId": instance["imageId"],
        "State": ec2_state(instance["state"]),
        "PrivateDnsName": "ip-%s.%s.compute.internal" % (
            instance["privateIp"].replace(".", "-"), instance["availabilityZone"][:-1]),
        "StateTransitionReason": "User initiated" if stopped else "", "AmiLaunchIndex": 0,
        "InstanceType": instance["instanceType"], "LaunchTime": instance["launchTime"],
        "Placement": {"AvailabilityZone": instance["availabilityZone"], "Tenancy": "default"},
        "Monitoring": {"State": "disabled"}, "SubnetId": instance["subnetId"],
        "VpcId": instance["vpcId"], "PrivateIpAddress": instance["privateIp"],
        "Architecture": "x86_64", "RootDeviceType": "ebs", "RootDeviceName": "/dev/xvda",
        "VirtualizationType": "hvm", "Tags": ec2_tags(instance["tags"]), "Hypervisor": "xen",
        "EbsOptimized": False,
    }
    if stopped:
        out["StateReason"] = {"Code": "Client.UserInitiatedShutdown",
                              "Message": "Client.UserInitiatedShutdown: User initiated shutdown"}
    return out


def ec2_settled_state(instance):
    return instance["settlesTo"]


@handler("ec2", "DescribeInstances")
def describe_instances(ctx):
    """InstanceId.N (all must exist), Filter.N (instance-id, instance-state-name,
    instance-state-code, instance-type, availability-zone, vpc-id, subnet-id, tag:K, tag-key;
    * and ? wildcards), MaxResults 5-1000 (not with InstanceId), NextToken. One reservation per
    instance."""
    ec2_dry_run(ctx)
    ids = ctx.params.get("InstanceIds", [])
    if ids and "MaxResults" in ctx.params:
        raise AwsError("InvalidParameterCombination",
                       "The parameter instancesSet cannot be used with the parameter maxResults")
    instances = ec2_instances(ctx, ids) if ids else list(ctx.state["ec2"]["instances"])
    keep = ec2_filters(ctx, {"instance-id", "instance-state-name", "instance-state-code",
                             "instance-type", "availability-zone", "vpc-id", "subnet-id"},
                       lambda i: {"instance-id": i["id"], "instance-state-name": i["state"],
                                  "instance-state-code": EC2_STATE_CODES[i["state"]],
                                  "instance-type": i["instanceType"],
                                  "availability-zone": i["availabilityZone"],
                                  "vpc-id": i["vpcId"], "subnet-id": i["subnetId"]})
    page, token = ec2_page(ctx, [i for i in instances if keep(i)])
    reservations = []
    for instance in page:
        reservations.append({"ReservationId": "r-0" + short_hash(instance["id"], length=16),
                             "OwnerId": ctx.account, "Groups": [],
                             "Instances": [ec2_instance_out(instance)]})
        settle(instance, "state", ec2_settled_state)
    out = {"Reservations": reservations}
    if token:
        out["NextToken"] = token
    return out


def ec2_dry_run(ctx):
    if ctx.params.get("DryRun"):
        raise AwsError("DryRunOperation",
                       "Request would have succeeded, but DryRun flag is set.", 412)


def ec2_switch(ctx, allowed, between, final, verb):
    """Start/Stop: all or nothing; a resource already in (or going to) `final` is left alone."""
    instances = ec2_instances(ctx, ctx.params["InstanceIds"])
    for instance in instances:
        if instance["state"] not in allowed and instance["state"] not in (between, final):
            raise AwsError("IncorrectInstanceState",
                           "The instance '%s' is not in a state from which it can be %s."
                           % (instance["id"], verb))
    ec2_dry_run(ctx)
    changes = []
    for instance in instances:
        previous = instance["state"]
        if previous in allowed:
            transition(ctx, instance, "state", between, final)
        changes.append({"InstanceId": instance["id"], "CurrentState": ec2_state(instance["state"]),
                        "PreviousState": ec2_state(previous)})
    return changes


@handler("ec2", "StopInstances")
def stop_instances(ctx):
    """running -> stopped (stopping first when settleDescribes > 0); pending, shutting-down,
    terminated -> IncorrectInstanceState."""
    return {"StoppingInstances": ec2_switch(ctx, {"running"}, "stopping", "stopped", "stopped")}


@handler("ec2", "StartInstances")
def start_instances(ctx):
    """stopped -> running (pending first when settleDescribes > 0)."""
    return {"StartingInstances": ec2_switch(ctx, {"stopped"}, "pending", "running", "started")}


@handler("ec2", "RebootInstances")
def reboot_instances(ctx):
    """Only running instances; nothing changes."""
    for instance in ec2_instances(ctx, ctx.params["InstanceIds"]):
        if instance["state"] != "running":
            raise AwsError("IncorrectInstanceState",
                           "The instance '%s' is not in a state from which it can be rebooted."
                           % instance["id"])
    ec2_dry_run(ctx)
    return {}


def ec2_groups(ctx, ids):
    return ec2_lookup(ctx, "securityGroups", ids, r"sg-[0-9a-f]{8}([0-9a-f]{9})?",
                      "InvalidGroupId.Malformed", "InvalidGroup.NotFound", "security group")


def ec2_rules_of(ctx, group_id):
    return [r for r in ctx.state["ec2"]["securityGroupRules"] if r["groupId"] == group_id]


def ip_permissions(rules):
    """Rules folded into IpPermission structures (one per protocol and port range)."""
    out = {}
    for rule in rules:
        key = (rule["protocol"], rule["fromPort"], rule["toPort"])
        ports = {} if rule["protocol"] == "-1" else {"FromPort": rule["fromPort"],
                                                     "ToPort": rule["toPort"]}
        perm = out.setdefault(key, dict({"IpProtocol": rule["protocol"]}, **ports,
                                        UserIdGroupPairs=[], IpRanges=[], Ipv6Ranges=[],
                                        PrefixListIds=[]))
        if rule.get("cidrIpv4"):
            perm["IpRanges"].append(dict({"CidrIp": rule["cidrIpv4"]},
                                         **({"Description": rule["description"]}
                                            if rule["description"] else {})))
        if rule.get("cidrIpv6"):
            perm["Ipv6Ranges"].append(dict({"CidrIpv6": rule["cidrIpv6"]},
                                           **({"Description": rule["description"]}
                                              if rule["description"] else {})))
    return list(out.values())


@handler("ec2", "DescribeSecurityGroups")
def describe_security_groups(ctx):
    """GroupId.N (all must exist), GroupName.N, Filter.N (group-id, group-name, vpc-id,
    description, owner-id, tag:K, tag-key), MaxResults 5-1000, NextToken."""
    ec2_dry_run(ctx)
    ids = ctx.params.get("GroupIds", [])
    groups = ec2_groups(ctx, ids) if ids else list(ctx.state["ec2"]["securityGroups"])
    names = ctx.params.get("GroupNames", [])
    if names:
        unknown = [n for n in names if n not in {g["name"] for g in groups}]
        if unknown:
            raise AwsError("InvalidGroup.NotFound",
                           "The security group '%s' does not exist" % unknown[0])
        groups = [g for g in groups if g["name"] in names]
    keep = ec2_filters(ctx, {"group-id", "group-name", "vpc-id", "description", "owner-id"},
                       lambda g: {"group-id": g["id"], "group-name": g["name"],
                                  "vpc-id": g["vpcId"], "description": g["description"],
                                  "owner-id": ctx.account})
    page, token = ec2_page(ctx, [g for g in groups if keep(g)])
    out = {"SecurityGroups": [{
        "OwnerId": ctx.account, "GroupId": g["id"], "GroupName": g["name"],
        "Description": g["description"], "VpcId": g["vpcId"],
        "IpPermissions": ip_permissions([r for r in ec2_rules_of(ctx, g["id"])
                                         if not r["egress"]]),
        "IpPermissionsEgress": ip_permissions([r for r in ec2_rules_of(ctx, g["id"])
                                               if r["egress"]]),
        "Tags": ec2_tags(g["tags"]),
    } for g in page]}
    if token:
        out["NextToken"] = token
    return out


def ec2_rule_out(ctx, rule):
    out = {"SecurityGroupRuleId": rule["id"], "GroupId": rule["groupId"],
           "GroupOwnerId": ctx.account, "IsEgress": bool(rule["egress"]),
           "IpProtocol": rule["protocol"], "FromPort": rule["fromPort"],
           "ToPort": rule["toPort"], "Tags": ec2_tags(rule["tags"])}
    for field, member in (("cidrIpv4", "CidrIpv4"), ("cidrIpv6", "CidrIpv6"),
                          ("description", "Description")):
        if rule.get(field):
            out[member] = rule[field]
    return out


RULE_ID = r"sgr-[0-9a-f]{8}([0-9a-f]{9})?"


def ec2_rule_ids(ctx, ids, group_id=None):
    bad = [i for i in ids if not re.fullmatch(RULE_ID, i)]
    if bad:
        raise AwsError("InvalidSecurityGroupRuleId.Malformed",
                       "The security group rule ID '%s' is malformed" % bad[0])
    index = {r["id"]: r for r in ctx.state["ec2"]["securityGroupRules"]
             if group_id is None or r["groupId"] == group_id}
    missing = [i for i in ids if i not in index]
    if missing:
        raise AwsError("InvalidSecurityGroupRuleId.NotFound",
                       "The security group rule ID '%s' does not exist" % missing[0])
    return [index[i] for i in ids]


@handler("ec2", "DescribeSecurityGroupRules")
def describe_security_group_rules(ctx):
    """SecurityGroupRuleId.N (all must exist), Filter.N (group-id, security-group-rule-id,
    tag:K, tag-key), MaxResults 5-1000, NextToken."""
    ec2_dry_run(ctx)
    ids = ctx.params.get("SecurityGroupRuleIds", [])
    rules = ec2_rule_ids(ctx, ids) if ids else list(ctx.state["ec2"]["securityGroupRules"])
    keep = ec2_filters(ctx, {"group-id", "security-group-rule-id"},
                       lambda r: {"group-id": r["groupId"], "security-group-rule-id": r["id"]})
    page, token = ec2_page(ctx, [r for r in rules if keep(r)])
    out = {"SecurityGroupRules": [ec2_rule_out(ctx, r) for r in page]}
    if token:
        out["NextToken"] = token
    return out


DESCRIPTION_RE = re.compile(r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*")
PROTOCOLS = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "icmp": "icmp", "1": "icmp",
             "icmpv6": "icmpv6", "58": "icmpv6", "-1": "-1", "all": "-1"}


def ec2_group_of(ctx):
    if ctx.params.get("GroupId"):
        return ec2_groups(ctx, [ctx.params["GroupId"]])[0]
    name = ctx.params.get("GroupName")
    if not name:
        raise AwsError("MissingParameter", "The request must contain the parameter groupId")
    for group in ctx.state["ec2"]["securityGroups"]:
        if group["name"] == name:
            return group
    raise AwsError("InvalidGroup.NotFound", "The security group '%s' does not exist" % name)


def ec2_requested_rules(ctx):
    """The rules an Authorize/Revoke call names, one per CIDR: [(protocol, from, to, "cidrIpv4"
    or "cidrIpv6", canonical cidr, description)]. Validates protocol, ports, CIDRs and
    descriptions (InvalidParameterValue); UserIdGroupPairs and PrefixListIds are not
    supported by this fake."""
    p = ctx.params
    perms = list(p.get("IpPermissions", []))
    if any(k in p for k in ("CidrIp", "IpProtocol", "FromPort", "ToPort")):
        perms.append({"IpProtocol": p.get("IpProtocol", "-1"), "FromPort": p.get("FromPort"),
                      "ToPort": p.get("ToPort"),
                      "IpRanges": [{"CidrIp": p["CidrIp"]}] if "CidrIp" in p else []})
    out = []
    for perm in perms:
        protocol = PROTOCOLS.get(str(perm.get("IpProtocol", "")).lower())
        if protocol is None:
            raise AwsError("InvalidParameterValue", "Invalid value '%s' for IP protocol. Unknown "
                           "protocol." % perm.get("IpProtocol"))
        if perm.get("UserIdGroupPairs") or perm.get("PrefixListIds"):
            raise AwsError("InvalidParameterValue",
                           "fake_aws supports only IpRanges and Ipv6Ranges")
        if protocol in ("tcp", "udp"):
            low, high = perm.get("FromPort"), perm.get("ToPort")
            if low is None or high is None:
                raise AwsError("InvalidParameterValue",
                               "Invalid value 'Must specify both from and to ports with TCP/UDP.'"
                               " for portRange.")
            if not (0 <= low <= high <= 65535):
                raise AwsError("InvalidParameterValue", "Invalid TCP/UDP port range %s-%s"
                               % (low, high))
        elif protocol == "-1":
            low = high = -1
        else:
            low, high = perm.get("FromPort", -1), perm.get("ToPort", -1)
        ranges = [("cidrIpv4", r.get("CidrIp"), r.get("Description"), 4)
                  for r in perm.get("IpRanges", [])]
        ranges += [("cidrIpv6", r.get("CidrIpv6"), r.get("Description"), 6)
                   for r in perm.get("Ipv6Ranges", [])]
        if not ranges:
            raise AwsError("InvalidParameterValue", "An IpPermission needs at least one IP range")
        for field, cidr, description, version in ranges:
            try:
                network = ipaddress.ip_network(cidr or "", strict=False)
            except ValueError:
                network = None
            if network is None or network.version != version:
                raise AwsError("InvalidParameterValue", "CIDR block %s is malformed" % cidr)
            description = description or ""
            if len(description) > 255 or not DESCRIPTION_RE.fullmatch(description):
                raise AwsError("InvalidParameterValue",
                               "Invalid rule description. Valid descriptions are strings less "
                               "than 256 characters from the following set:  "
                               "a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*")
            out.append((protocol, low, high, field, str(network), description))
    return out


def same_rule(rule, wanted):
    protocol, low, high, field, cidr, _ = wanted
    return (not rule["egress"] and rule["protocol"] == protocol and rule["fromPort"] == low and
            rule["toPort"] == high and rule.get(field) == cidr)


@handler("ec2", "AuthorizeSecurityGroupIngress")
def authorize_ingress(ctx):
    """All or nothing: one rule per CIDR; a rule that already exists (same group, protocol,
    ports, canonical CIDR) -> InvalidPermission.Duplicate and nothing is added; the same rule
    twice in the call -> InvalidParameterValue; more than rulesPerGroupLimit inbound rules ->
    RulesPerSecurityGroupLimitExceeded. Tags from TagSpecification.N (ResourceType
    security-group-rule) go on the new rules. Returns the new rules with their sgr- ids."""
    group = ec2_group_of(ctx)
    wanted = ec2_requested_rules(ctx)
    seen = set()
    for rule in wanted:
        if rule[:5] in seen:
            raise AwsError("InvalidParameterValue",
                           "The same permission must not appear multiple times")
        seen.add(rule[:5])
    existing = ec2_rules_of(ctx, group["id"])
    for rule in wanted:
        if any(same_rule(r, rule) for r in existing):
            protocol, low, high, _, cidr, _ = rule
            raise AwsError("InvalidPermission.Duplicate",
                           'the specified rule "peer: %s, %s, from port: %s, to port: %s, ALLOW" '
                           "already exists" % (cidr, protocol.upper(), low, high))
    limit = int(ctx.state["ec2"].get("rulesPerGroupLimit", 60))
    if len([r for r in existing if not r["egress"]]) + len(wanted) > limit:
        raise AwsError("RulesPerSecurityGroupLimitExceeded",
                       "The maximum number of rules per security group has been reached.")
    tags = {}
    for spec in ctx.params.get("TagSpecifications", []):
        if spec.get("ResourceType") != "security-group-rule":
            raise AwsError("InvalidParameterValue", "'%s' is not a valid taggable resource type "
                           "for this operation." % spec.get("ResourceType"))
        tags.update(norm_tags(spec.get("Tags", [])))
    ec2_dry_run(ctx)
    added = []
    for protocol, low, high, field, cidr, description in wanted:
        ctx.server.rule_counter += 1
        rid = "sgr-0%016x" % (0xfa4e0000000000 + ctx.server.rule_counter)
        rule = {"id": rid, "groupId": group["id"], "egress": False, "protocol": protocol,
                "fromPort": low, "toPort": high, field: cidr, "description": description,
                "tags": dict(tags),
                "arn": "arn:aws:ec2:%s:%s:security-group-rule/%s" % (ctx.region, ctx.account,
                                                                     rid)}
        ctx.state["ec2"]["securityGroupRules"].append(rule)
        added.append(ec2_rule_out(ctx, rule))
    return {"Return": True, "SecurityGroupRules": added}


@handler("ec2", "RevokeSecurityGroupIngress")
def revoke_ingress(ctx):
    """By SecurityGroupRuleId.N (each must be an inbound rule of the group, else
    InvalidSecurityGroupRuleId.NotFound) or by IpPermissions (each must match a rule, else
    InvalidPermission.NotFound: a non-default VPC). All or nothing."""
    group = ec2_group_of(ctx)
    ids = ctx.params.get("SecurityGroupRuleIds", [])
    if ids and ctx.params.get("IpPermissions"):
        raise AwsError("InvalidParameterCombination",
                       "SecurityGroupRuleIds can't be used with IpPermissions")
    if ids:
        doomed = ec2_rule_ids(ctx, ids, group["id"])
        egress = [r["id"] for r in doomed if r["egress"]]
        if egress:
            raise AwsError("InvalidSecurityGroupRuleId.NotFound",
                           "The security group rule ID '%s' does not exist" % egress[0])
    else:
        doomed = []
        for wanted in ec2_requested_rules(ctx):
            match = next((r for r in ec2_rules_of(ctx, group["id"]) if same_rule(r, wanted)),
                         None)
            if match is None:
                raise AwsError("InvalidPermission.NotFound",
                               "The specified rule does not exist in this security group.")
            doomed.append(match)
    ec2_dry_run(ctx)
    for rule in doomed:
        if rule in ctx.state["ec2"]["securityGroupRules"]:
            ctx.state["ec2"]["securityGroupRules"].remove(rule)
    return {"Return": True}


@handler("ec2", "UpdateSecurityGroupRuleDescriptionsIngress")
def update_rule_descriptions_ingress(ctx):
    """By SecurityGroupRuleDescription.N.{SecurityGroupRuleId,Description}: each must be an
    inbound rule of the group (else InvalidSecurityGroupRuleId.NotFound); descriptions are
    checked as for Authorize. IpPermissions (matching by properties) is not supported by this
    fake. All or nothing. (Added for the aws backend's renewals.)"""
    group = ec2_group_of(ctx)
    if ctx.params.get("IpPermissions"):
        raise AwsError("InvalidParameterValue",
                       "fake_aws supports only SecurityGroupRuleDescriptions")
    items = ctx.params.get("SecurityGroupRuleDescriptions", [])
    if not items:
        raise AwsError("MissingParameter",
                       "Either IpPermissions or SecurityGroupRuleDescriptions must be specified")
    rules = ec2_rule_ids(ctx, [i.get("SecurityGroupRuleId", "") for i in items], group["id"])
    for rule, item in zip(rules, items):
        if rule["egress"]:
            raise AwsError("InvalidSecurityGroupRuleId.NotFound",
                           "The security group rule ID '%s' does not exist" % rule["id"])
        description = item.get("Description") or ""
        if len(description) > 255 or not DESCRIPTION_RE.fullmatch(description):
            raise AwsError("InvalidParameterValue",
                           "Invalid rule description. Valid descriptions are strings less "
                           "than 256 characters from the following set:  "
                           "a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*")
    ec2_dry_run(ctx)
    for rule, item in zip(rules, items):
        rule["description"] = item.get("Description") or ""
    return {"Return": True}


# ---- SSM Parameter Store (shared/notes/aws-services.md §8) ------------------------------------
# A parameter in the state: {"name": "/infra/bot", "value": "…", "type": "SecureString",
# "version": 1}. GetParameter finds it by name, ARN or "name:version"; an unknown one is
# ParameterNotFound (400). A SecureString read without WithDecryption answers its "ciphertext"
# (base64 of a fixed prefix and the value). {"kmsError": "InvalidKeyId" | "AccessDenied"} on a
# parameter makes a decrypting read fail as SSM does when the key is disabled / not usable
# (InvalidKeyId 400) or the caller lacks kms:Decrypt (AccessDeniedException 400, a KMS message).


def ssm_find(ctx, ref):
    name, version = ref, None
    if not ref.startswith("arn:") and ref.count(":") == 1:
        name, version = ref.split(":")
    elif ref.startswith("arn:") and ref.count(":") == 6:
        name, version = ref.rsplit(":", 1)
    for parameter in ctx.state["ssm"]["parameters"]:
        if name in (parameter["name"], parameter["arn"]):
            if version is not None and str(parameter["version"]) != version:
                raise AwsError("ParameterVersionNotFound",
                               "Systems Manager could not find version %s of %s."
                               % (version, parameter["name"]))
            return parameter
    raise AwsError("ParameterNotFound", "")


@handler("ssm", "GetParameter")
def ssm_get_parameter(ctx):
    parameter = ssm_find(ctx, ctx.params["Name"])
    value = parameter["value"]
    if parameter["type"] == "SecureString":
        if ctx.params.get("WithDecryption"):
            kms = parameter.get("kmsError")
            if kms == "InvalidKeyId":
                raise AwsError("InvalidKeyId", "The query key ID is not valid.")
            if kms:
                raise AwsError("AccessDeniedException",
                               "The ciphertext refers to a customer master key that does not "
                               "exist, does not exist in this region, or you are not allowed "
                               "to access. (Service: AWSKMS; Status Code: 400; Error Code: "
                               "AccessDeniedException)")
        else:
            value = base64.b64encode(b"AQICAHfake" + value.encode()).decode()
    return {"Parameter": {"Name": parameter["name"], "Type": parameter["type"], "Value": value,
                          "Version": parameter["version"],
                          "LastModifiedDate": parameter["lastModified"],
                          "ARN": parameter["arn"], "DataType": "text"}}


# ---- Secrets Manager (shared/notes/aws-services.md §9) ---------------------------------------
# A secret in the state: {"name": "infra/slack", "string": "…"} or {"name": …, "binary":
# "<base64>"}. GetSecretValue finds it by name or ARN (also the ARN without its random
# 6-character suffix); an unknown one is ResourceNotFoundException (400). {"deleted": true} is
# InvalidRequestException (scheduled for deletion); {"kmsError": "DecryptionFailure" |
# "AccessDenied"} fails as Secrets Manager does when KMS cannot decrypt it.


@handler("secretsmanager", "GetSecretValue")
def sm_get_secret_value(ctx):
    ref = ctx.params["SecretId"]
    for secret in ctx.state["secretsmanager"]["secrets"]:
        if ref in (secret["name"], secret["arn"], secret["arn"][:-7]):
            break
    else:
        raise AwsError("ResourceNotFoundException",
                       "Secrets Manager can't find the specified secret.")
    if secret.get("deleted"):
        raise AwsError("InvalidRequestException",
                       "You can't perform this operation on the secret because it was marked "
                       "for deletion.")
    kms = secret.get("kmsError")
    if kms == "DecryptionFailure":
        raise AwsError("DecryptionFailure", "Secrets Manager can't decrypt the protected secret "
                       "text using the provided KMS key.")
    if kms:
        raise AwsError("AccessDeniedException", "Access to KMS is not allowed")
    out = {"ARN": secret["arn"], "Name": secret["name"], "VersionId": secret["versionId"],
           "VersionStages": ["AWSCURRENT"], "CreatedDate": secret["createdDate"]}
    if "binary" in secret:
        out["SecretBinary"] = secret["binary"]
    else:
        out["SecretString"] = secret.get("string", "")
    return out


# PutParameter (infra-bot register's store): a new parameter needs Type; an existing one is
# replaced only with Overwrite=true (else ParameterAlreadyExists), its version + 1. A SecureString
# parameter with "kmsError" cannot be written either (the key is unusable: the same errors as
# GetParameter's).


@handler("ssm", "PutParameter")
def ssm_put_parameter(ctx):
    name = ctx.params["Name"]
    parameters = ctx.state["ssm"]["parameters"]
    existing = next((p for p in parameters if name in (p["name"], p["arn"])), None)
    if existing is not None:
        if not ctx.params.get("Overwrite"):
            raise AwsError("ParameterAlreadyExists", "The parameter already exists. To overwrite "
                           "this value, set the overwrite option in the request to true.")
        kms = existing.get("kmsError")
        if kms == "InvalidKeyId":
            raise AwsError("InvalidKeyId", "The query key ID is not valid.")
        if kms:
            raise AwsError("AccessDeniedException", "User is not authorized to perform "
                           "kms:Encrypt (Service: AWSKMS; Status Code: 400; Error Code: "
                           "AccessDeniedException)")
        existing["value"] = ctx.params["Value"]
        existing["type"] = ctx.params.get("Type", existing["type"])
        existing["version"] += 1
        existing["lastModified"] = now_text()
        return {"Version": existing["version"], "Tier": "Standard"}
    if "Type" not in ctx.params:
        raise AwsError("ValidationException", "A parameter type is required when you create a "
                       "parameter.")
    parameters.append({"name": name, "value": ctx.params["Value"], "type": ctx.params["Type"],
                       "version": 1, "lastModified": now_text(),
                       "arn": "arn:aws:ssm:%s:%s:parameter/%s"
                              % (ctx.region, ctx.account, name.lstrip("/"))})
    return {"Version": 1, "Tier": "Standard"}


# CreateSecret / PutSecretValue (infra-bot register's store). The ClientRequestToken becomes the
# VersionId; the same token again with the same string is a no-op, with another string
# ResourceExistsException (aws-services.md §9). CreateSecret of a taken name is
# ResourceExistsException; of one scheduled for deletion InvalidRequestException. A secret with
# "kmsError" cannot be written (EncryptionFailure / KMS access denied).


def now_text():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sm_find(ctx, ref):
    for secret in ctx.state["secretsmanager"]["secrets"]:
        if ref in (secret["name"], secret["arn"], secret["arn"][:-7]):
            return secret
    return None


def sm_write(secret, ctx):
    if secret.get("deleted"):
        raise AwsError("InvalidRequestException", "You can't perform this operation on the "
                       "secret because it was marked for deletion.")
    kms = secret.get("kmsError")
    if kms == "DecryptionFailure":
        raise AwsError("EncryptionFailure", "Secrets Manager can't encrypt the protected secret "
                       "text using the provided KMS key.")
    if kms:
        raise AwsError("AccessDeniedException", "Access to KMS is not allowed")
    token = ctx.params["ClientRequestToken"]
    if secret.get("versionId") == token:
        if secret.get("string") != ctx.params.get("SecretString"):
            raise AwsError("ResourceExistsException", "You can't modify an existing version, "
                           "you can only create a new version.")
    secret["string"] = ctx.params.get("SecretString", "")
    secret.pop("binary", None)
    secret["versionId"] = token
    return {"ARN": secret["arn"], "Name": secret["name"], "VersionId": token,
            "VersionStages": ["AWSCURRENT"]}


@handler("secretsmanager", "CreateSecret")
def sm_create_secret(ctx):
    name = ctx.params["Name"]
    existing = sm_find(ctx, name)
    if existing is not None:
        if existing.get("deleted"):
            raise AwsError("InvalidRequestException", "You can't create this secret because a "
                           "secret with this name is already scheduled for deletion.")
        if existing.get("versionId") == ctx.params.get("ClientRequestToken") and \
                existing.get("string") == ctx.params.get("SecretString"):
            return {"ARN": existing["arn"], "Name": name, "VersionId": existing["versionId"]}
        raise AwsError("ResourceExistsException",
                       "The operation failed because the secret %s already exists." % name)
    secret = {"name": name, "string": ctx.params.get("SecretString", ""),
              "versionId": ctx.params["ClientRequestToken"], "createdDate": now_text(),
              "arn": "arn:aws:secretsmanager:%s:%s:secret:%s-%s"
                     % (ctx.region, ctx.account, name, short_hash(name, length=6))}
    ctx.state["secretsmanager"]["secrets"].append(secret)
    return {"ARN": secret["arn"], "Name": name, "VersionId": secret["versionId"]}


@handler("secretsmanager", "PutSecretValue")
def sm_put_secret_value(ctx):
    secret = sm_find(ctx, ctx.params["SecretId"])
    if secret is None:
        raise AwsError("ResourceNotFoundException",
                       "Secrets Manager can't find the specified secret.")
    return sm_write(secret, ctx)


# =============================================================================================
# Faults
# =============================================================================================


def resource_ids(service, params):
    """Every id, name or ARN a request is about (what a fault's "resource" is matched with)."""
    ids = []
    if service == "ecs":
        cluster = params.get("cluster") or "default"
        cluster = cluster.split("/")[-1] if cluster.startswith("arn:") else cluster
        refs = params.get("services", []) + ([params["service"]] if "service" in params else [])
        for ref in refs:
            name = ref.split("/")[-1]
            ids += [ref, name, "%s/%s" % (cluster, name)]
        if "resourceArn" in params:
            arn = params["resourceArn"]
            ids += [arn, "/".join(arn.split("/")[1:]), arn.split("/")[-1]]
    for key in ("DBInstanceIdentifier", "DBClusterIdentifier", "GroupId", "GroupName", "Name",
                "SecretId"):
        if key in params:
            ids.append(params[key])
    for key in ("InstanceIds", "SecurityGroupRuleIds", "GroupIds", "ResourceARNList"):
        ids += params.get(key, [])
    return ids


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def add(self, fault):
        fault = dict(fault)
        if "kind" not in fault:
            fault["kind"] = "error" if "code" in fault else "throttle"
        if fault["kind"] not in ("throttle", "internal", "access_denied", "error", "malformed",
                                 "token_loop", "empty_page", "delay"):
            raise ValueError("unknown fault kind %r" % fault["kind"])
        if fault["kind"] == "error" and "code" not in fault:
            raise ValueError("an error fault needs a code")
        fault.setdefault("times", -1 if fault["kind"] == "token_loop" else 1)
        fault.setdefault("after", 0)
        with self.lock:
            self.items.append(fault)

    def take(self, service, operation, params):
        """The first fault that fires for this request (counting it), or None."""
        with self.lock:
            ids = None
            for fault in self.items:
                if fault.get("service") not in (None, service):
                    continue
                if fault.get("operation") not in (None, "*", operation):
                    continue
                if fault.get("resource") is not None:
                    ids = resource_ids(service, params) if ids is None else ids
                    if fault["resource"] not in ids:
                        continue
                if fault["times"] == 0:
                    continue
                if fault["after"] > 0:
                    fault["after"] -= 1
                    continue
                if fault["times"] > 0:
                    fault["times"] -= 1
                return dict(fault)
        return None

    def snapshot(self):
        with self.lock:
            return [dict(f) for f in self.items]

    def clear(self):
        with self.lock:
            self.items = []


def fault_error(service, fault):
    """The AwsError a throttle / internal / access_denied / error fault answers with."""
    kind = fault["kind"]
    if kind == "error":
        return AwsError(fault["code"], fault.get("message", fault["code"]),
                        int(fault.get("http_status", 400)), "injected fault")
    code, status, message = {"throttle": service.throttle, "internal": service.internal,
                             "access_denied": service.access_denied}[kind]
    return AwsError(fault.get("code", code), fault.get("message", message),
                    int(fault.get("http_status", status)), "injected fault: " + kind)


# =============================================================================================
# HTTP
# =============================================================================================


def parse_json_body(body):
    """The JSON 1.1 input object ({} for an empty body); SerializationException otherwise."""
    try:
        params = json.loads(body.decode("utf-8")) if body.strip() else {}
    except (UnicodeDecodeError, ValueError) as error:
        raise AwsError("SerializationException", "Body is not JSON", 400,
                       "model: body is not JSON (%s)" % error) from None
    if not isinstance(params, dict):
        raise AwsError("SerializationException", "Body is not a JSON object", 400,
                       "model: body is not a JSON object")
    return params


def is_control(target):
    path = target.split("?")[0]
    return path == "/_fake" or path.startswith("/_fake/")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-aws"

    def log_message(self, fmt, *args):  # stdout is the protocol; keep stderr quiet
        pass

    def send(self, status, headers, body, request_id=None):
        try:
            self.send_response(status)
            if request_id:
                self.send_header("x-amzn-RequestId", request_id)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    def do_POST(self):
        body = read_body(self)
        if is_control(self.path):
            self.control(body)
        else:
            self.aws(body)

    def do_GET(self):
        body = read_body(self)
        if is_control(self.path):
            self.control(body)
        else:
            self.send(404, [("Content-Type", "application/json")],
                      b'{"message":"fake_aws: AWS calls are POSTs"}', str(uuid.uuid4()))

    do_PUT = do_DELETE = do_GET

    # ------------------------------------------------------------------------- control --

    def control(self, body):
        server = self.server
        path = self.path.split("?")[0].rstrip("/")
        try:
            doc = json.loads(body.decode("utf-8")) if body.strip() else None
        except ValueError as error:
            return self.reply_json(400, {"error": "body is not JSON: %s" % error})
        try:
            if path == "/_fake/state" and self.command == "GET":
                with server.state_lock:
                    return self.reply_json(200, server.state)
            if path == "/_fake/state" and self.command == "POST":
                with server.state_lock:
                    server.state = normalize(doc)
                    return self.reply_json(200, server.state)
            if path == "/_fake/merge" and self.command == "POST":
                with server.state_lock:
                    server.state = merge_state(server.state, doc or {})
                    return self.reply_json(200, server.state)
            if path == "/_fake/fault" and self.command == "POST":
                for fault in doc if isinstance(doc, list) else [doc]:
                    server.faults.add(fault)
                return self.reply_json(200, {"faults": server.faults.snapshot()})
            if path == "/_fake/faults" and self.command == "GET":
                return self.reply_json(200, {"faults": server.faults.snapshot()})
            if path == "/_fake/sync" and self.command == "POST":
                # Every request line printed before this one is on stdout ahead of it: a
                # reader that has seen {"sync": token} has seen them all.
                emit({"sync": str((doc or {}).get("token", ""))})
                return self.reply_json(200, {"ok": True})
            if path == "/_fake/faults/clear" and self.command == "POST":
                server.faults.clear()
                return self.reply_json(200, {"faults": []})
            if path == "/_fake/reset" and self.command == "POST":
                with server.state_lock:
                    server.state = normalize(server.initial_state)
                    server.pager = Pager()
                server.faults.clear()
                return self.reply_json(200, server.state)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            return self.reply_json(400, {"error": "%s: %s" % (type(error).__name__, error)})
        return self.reply_json(404, {"error": "no control endpoint %s %s" % (self.command, path)})

    def reply_json(self, status, doc):
        self.send(status, [("Content-Type", "application/json")],
                  json.dumps(doc, indent=1, default=str).encode())

    # ----------------------------------------------------------------------------- AWS --

    def aws(self, body):
        server = self.server
        headers = list(self.headers.items())
        request_id = str(uuid.uuid4())
        record = {"service": None, "operation": None, "protocol": None, "path": self.path,
                  "params": None, "verified": False, "reason": "", "access_key": None,
                  "region": None, "signing_service": None, "answer_status": None, "error": None,
                  "message": None, "fault": None, "request_id": request_id,
                  "content_type": self.headers.get("Content-Type"),
                  "client_port": self.client_address[1]}
        service = None
        delay_ms = 0
        malformed = False
        try:
            service, operation, params = self.route(body, headers, record)
            record.update(service=service.key, operation=operation, protocol=service.protocol)
            try:
                facts = verify(self.command, self.path, headers, body, server.credentials,
                               {service.signing})
                record.update(access_key=facts["access_key"], region=facts["region"],
                              signing_service=facts["service"], verified=True)
            except SignatureError as error:
                code = {("json", "unknown_key"): "UnrecognizedClientException",
                        ("query", "unknown_key"): "InvalidClientTokenId",
                        ("ec2", "unknown_key"): "AuthFailure",
                        ("json", "signature"): "InvalidSignatureException",
                        ("json", "expired"): "InvalidSignatureException"}.get(
                            (service.protocol, error.kind), "SignatureDoesNotMatch")
                raise AwsError(code, "The request signature we calculated does not match the "
                               "signature you provided. " + str(error), 403, "signature: %s"
                               % error)
            if operation not in service.model.operation_names:
                raise AwsError("UnknownOperationException" if service.protocol == "json"
                               else "InvalidAction",
                               "Could not find operation %s for version %s"
                               % (operation, service.version), 400, "unknown operation")
            operation_model = service.model.operation_model(operation)
            fn = HANDLERS.get((service.key, operation))
            if fn is None:
                raise AwsError("UnknownOperationException" if service.protocol == "json"
                               else "InvalidAction",
                               "fake_aws does not implement %s" % operation, 400,
                               "not implemented by fake_aws")
            if service.protocol == "json":
                params = drop_nulls(parse_json_body(body))
            else:
                decoder = FormDecoder(params, service.protocol == "ec2")
                record["wire"] = params
                params = (decoder.structure(operation_model.input_shape, "")
                          if operation_model.input_shape is not None else {})
                unknown = sorted(k for k in record["wire"]
                                 if k not in decoder.consumed and k not in ("Action", "Version"))
                if unknown:
                    record["params"] = params
                    raise AwsError("UnknownParameter", "The parameter %s is not recognized"
                                   % unknown[0], 400, "model: unknown parameter(s) %s" % unknown)
                if decoder.errors:
                    record["params"] = params
                    raise AwsError("InvalidParameterValue", decoder.errors[0], 400,
                                   "model: " + "; ".join(decoder.errors))
            record["params"] = params
            validate(service, operation_model, params)
            fault = server.faults.take(service.key, operation, params)
            fault_kind = None
            if fault:
                record["fault"] = fault_kind = fault["kind"]
                delay_ms = int(fault.get("delay_ms", 0))
                if fault_kind in ("throttle", "internal", "access_denied", "error"):
                    raise fault_error(service, fault)
                malformed = fault_kind == "malformed"
            with server.state_lock:
                result = fn(Context(server, service.key, operation, params, fault_kind))
            status, out_headers, out_body = render_success(service, operation_model, result,
                                                           request_id)
        except AwsError as error:
            record.update(error=error.code, message=error.message)
            if error.reason:
                record["reason"] = error.reason
            status, out_headers, out_body = render_error(service, error.code, error.message,
                                                         error.status, request_id)
        except Exception as error:  # a bug here must show, not hang the client
            import traceback
            traceback.print_exc()
            record.update(error="InternalFailure", message=repr(error),
                          reason="fake_aws crashed: %r" % (error,))
            status, out_headers, out_body = render_error(service, "InternalFailure", repr(error),
                                                         500, request_id)
        if malformed:  # the status and headers stay; the body is cut in half
            out_body = out_body[:len(out_body) // 2]
        record["answer_status"] = status
        emit(record)
        if delay_ms:
            time.sleep(delay_ms / 1000.0)
        self.send(status, out_headers, out_body, request_id)

    def route(self, body, headers, record):
        """(Service, operation name, the flat form fields or None for JSON)."""
        target = self.headers.get("X-Amz-Target")
        if target:
            prefix, _, operation = target.rpartition(".")
            service = BY_TARGET.get(prefix)
            if service is None:
                raise AwsError("UnknownOperationException", "Unknown target %s" % target, 400,
                               "routing: unknown X-Amz-Target prefix %r" % prefix)
            record.update(service=service.key, operation=operation, protocol="json")
            return service, operation, None  # the body is parsed once the signature is good
        content_type = self.headers.get("Content-Type", "")
        if not content_type.lower().startswith("application/x-www-form-urlencoded"):
            raise AwsError("UnknownOperationException", "No X-Amz-Target and no form body", 400,
                           "routing: neither X-Amz-Target nor a form body (Content-Type %r)"
                           % content_type)
        try:
            pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                           strict_parsing=bool(body))
        except (UnicodeDecodeError, ValueError) as error:
            raise AwsError("MalformedQueryString", "Malformed form body", 400,
                           "routing: %s" % error) from None
        query = self.path.partition("?")[2]
        pairs += urllib.parse.parse_qsl(query, keep_blank_values=True)
        flat = {}
        for key, value in pairs:
            if key in flat:
                raise AwsError("InvalidParameterValue", "Parameter %s appears twice" % key, 400,
                               "routing: repeated form field %s" % key)
            flat[key] = value
        by_scope = scope_service(headers)
        service = SERVICES.get(by_scope) if by_scope in ("rds", "ec2") else None
        version = flat.get("Version")
        if service is None:
            service = BY_VERSION.get(version)
        if service is None:
            raise AwsError("InvalidAction", "Can't tell the service: scope %r, Version %r"
                           % (by_scope, version), 400, "routing: unknown service")
        action = flat.get("Action")
        record.update(service=service.key, operation=action, protocol=service.protocol)
        if not action:
            raise AwsError("MissingAction", "The request must contain the parameter Action", 400,
                           "routing: no Action")
        if version != service.version:
            raise AwsError("NoSuchVersion" if version else "MissingParameter",
                           "The requested version (%s) of service %s does not exist"
                           % (version, service.key) if version else
                           "The request must contain the parameter Version", 400,
                           "routing: Version %r is not %s's %s" % (version, service.key,
                                                                   service.version))
        return service, action, flat


class Server(TlsHTTPServer):
    log_name = "fake_aws"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--credentials", action="append", default=[],
                        metavar="AKID:SECRET[:TOKEN]", required=True)
    parser.add_argument("--state", help="JSON file with the initial state")
    args = parser.parse_args()
    try:
        credentials = parse_credentials(args.credentials)
    except ValueError as error:
        parser.error(str(error))
    initial = {}
    if args.state:
        with open(args.state, encoding="utf-8") as f:
            initial = json.load(f)

    server = Server(("127.0.0.1", 0), Handler)
    server.credentials = credentials
    server.initial_state = initial
    server.state = normalize(initial)
    server.state_lock = threading.RLock()
    server.faults = Faults()
    server.pager = Pager()
    server.rule_counter = 0
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
