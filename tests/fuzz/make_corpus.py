#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from proto-fixtures/.

    tests/fuzz/make_corpus.py            # rewrite tests/fuzz/corpus/<target>/

Seeds are named after the fixture they come from (slack_<file>, lambda_<case>,
console_<transcript>_<line>, table_<parser test case>, template_<fixture>,
aws_<call>_<case> from proto-fixtures/aws/), so a failing seed names its source. Files named regression_* are inputs that once
broke a target; they are kept as they are. Run it again after changing
proto-fixtures/ or the parser test table, and commit the result.
"""

import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "proto-fixtures"
CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"
GENERATED = ("slack_", "lambda_", "console_", "table_", "template_", "aws_")

# fuzz_lambda_response: byte 0 = call (low nibble) | answer kind << 4.
LAMBDA_CALLS = {"status": 0, "stop": 1, "start": 2, "teardown": 3, "spinup": 4,
                "add": 5, "remove": 6, "list": 7, "refresh": 8}
FUNCTION_ERROR_KIND = {"Unhandled": 8, "Handled": 9}

# fuzz_view_submission: byte 0 = how the envelope is built.
MODE_RAW, MODE_SUBMISSION, MODE_CLOSED, MODE_BUTTON, MODE_SLASH = range(5)


def field(text: str) -> bytes:
    """One string as FuzzedDataProvider::ConsumeRandomLengthString reads it."""
    return text.encode().replace(b"\\", b"\\\\") + b"\\ "


def command_lines():
    """(name, text) of every command in the console transcripts, the slash
    command fixtures and the parser's test table."""
    for transcript in sorted((FIXTURES / "console").iterdir()):
        lines = (transcript / "input.txt").read_text().splitlines()
        for number, line in enumerate(lines, 1):
            if line.strip() and not line.startswith(":"):
                yield f"console_{transcript.name}_{number}", line
    for path in sorted((FIXTURES / "slack").glob("slash_command_*.json")):
        payload = json.loads(path.read_text()).get("payload", {})
        yield f"slack_{path.stem}", payload.get("text", "")
    table = (ROOT / "tests/unit/command_parser_test.cpp").read_text()
    for name, literal in re.findall(r'\{"([a-z0-9_]+)",\s*"((?:[^"\\\n]|\\.)*)"', table):
        yield f"table_{name}", cpp_literal_bytes(literal)


def cpp_literal_bytes(literal: str) -> bytes:
    """The bytes of a C++ narrow string literal body: backslash escapes decoded."""
    simple = {"n": b"\n", "t": b"\t", "r": b"\r", "f": b"\f", "v": b"\v", "0": b"\0",
              "\\": b"\\", '"': b'"', "'": b"'", "?": b"?"}
    out = bytearray()
    i = 0
    while i < len(literal):
        if literal[i] != "\\":
            out += literal[i].encode()
            i += 1
        elif literal[i + 1] == "x":  # the table writes exactly two hex digits
            out.append(int(literal[i + 2:i + 4], 16))
            i += 4
        else:
            out += simple[literal[i + 1]]
            i += 2
    return bytes(out)


# fuzz_aws_responses: byte 0 = call | options; then answers, each
# bytes([operation, kind]) + body, joined by AWS_SEPARATOR (fuzz_aws_responses.cpp).
AWS_CALLS = {"status": 0, "stop": 1, "start": 2, "teardown": 3, "reboot": 4, "add": 5,
             "remove": 6, "list": 7, "refresh": 8, "expire": 9, "full": 10}
AWS_SMALL_PAGES, AWS_FLAG, AWS_IPV6, AWS_LATER = 0x10, 0x20, 0x40, 0x80
AWS_OPERATIONS = ["", "GetResources", "DescribeServices", "UpdateService", "TagResource",
                  "DescribeDBInstances", "DescribeDBClusters", "StopDBInstance",
                  "StartDBInstance", "StopDBCluster", "StartDBCluster", "DescribeInstances",
                  "StopInstances", "StartInstances", "RebootInstances",
                  "DescribeSecurityGroups", "DescribeSecurityGroupRules",
                  "AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress",
                  "UpdateSecurityGroupRuleDescriptionsIngress"]
AWS_SEPARATOR = b"\n%%\n"
# Answer kinds (low nibble) and flags.
HTTP_200, HTTP_400, HTTP_403, HTTP_404, HTTP_429, HTTP_500 = 0, 6, 7, 8, 9, 10
TRANSPORT_TIMEOUT = 14
COUNTER, STICKY = 0x10, 0x20
ACCOUNT = "arn:aws:{}:eu-west-1:123456789012:"
EC2_NS = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"'
RDS_NS = 'xmlns="http://rds.amazonaws.com/doc/2014-10-31/"'


def aws_answer(operation: str, body, kind: int = HTTP_200) -> bytes:
    data = body if isinstance(body, bytes) else body.encode()
    return bytes([AWS_OPERATIONS.index(operation), kind]) + data


def aws_seed(call: str, answers, options: int = 0) -> bytes:
    return bytes([AWS_CALLS[call] | options]) + AWS_SEPARATOR.join(answers)


def aws_seeds():
    """Scripts of AWS answers for each backend call, from proto-fixtures/aws/."""
    aws = FIXTURES / "aws"
    fixture = lambda name: (aws / name).read_text()
    dev = [{"Key": "Environment", "Value": "dev"}]

    def get_resources(arns, token=""):
        return json.dumps({"PaginationToken": token, "ResourceTagMappingList": [
            {"ResourceARN": arn, "Tags": dev} for arn in arns]})

    ecs_arn = ACCOUNT.format("ecs") + "service/infra-dev/api"
    db_arn = ACCOUNT.format("rds") + "db:app-dev-db"
    cluster_arn = ACCOUNT.format("rds") + "cluster:app-dev-aurora"
    ec2_arn = ACCOUNT.format("ec2") + "instance/i-0a1b2c3d4e5f61001"
    sg_arn = ACCOUNT.format("ec2") + "security-group/sg-0f1e2d3c4b5a61001"
    everything = get_resources([ecs_arn, db_arn, cluster_arn, ec2_arn])

    services = fixture("ecs-DescribeServices.response.json")
    services_stopped = json.dumps({"failures": [], "services": [{
        "serviceArn": ecs_arn, "serviceName": "api", "clusterArn":
        ACCOUNT.format("ecs") + "cluster/infra-dev", "status": "ACTIVE", "desiredCount": 0,
        "runningCount": 0, "tags": [{"key": "Environment", "value": "dev"},
                                    {"key": "infra-bot:desired-count", "value": "2"}]}]})
    updated = json.dumps({"service": json.loads(services)["services"][0]})
    instances = fixture("rds-DescribeDBInstances.response.xml")
    clusters = (f"<DescribeDBClustersResponse {RDS_NS}><DescribeDBClustersResult><DBClusters>"
                "<DBCluster><DBClusterIdentifier>app-dev-aurora</DBClusterIdentifier>"
                f"<DBClusterArn>{cluster_arn}</DBClusterArn><Status>available</Status>"
                "<Engine>aurora-postgresql</Engine><DBClusterMembers><DBClusterMember>"
                "<DBInstanceIdentifier>app-dev-aurora-1</DBInstanceIdentifier>"
                "</DBClusterMember></DBClusterMembers><TagList><Tag><Key>Environment</Key>"
                "<Value>dev</Value></Tag></TagList></DBCluster></DBClusters>"
                "</DescribeDBClustersResult></DescribeDBClustersResponse>")
    ec2 = fixture("ec2-DescribeInstances.response.xml")

    def rds_change(operation, item, status):
        return (f"<{operation}Response {RDS_NS}><{operation}Result><{item}>"
                f"<{item}Identifier>x</{item}Identifier><Status>{status}</Status>"
                f"<DBInstanceStatus>{status}</DBInstanceStatus></{item}></{operation}Result>"
                f"</{operation}Response>")

    def ec2_return(operation):
        return (f"<{operation}Response {EC2_NS}><requestId>59dbff89-35bd-4eac-99ed</requestId>"
                f"<return>true</return></{operation}Response>")

    security_groups = (
        f"<DescribeSecurityGroupsResponse {EC2_NS}><requestId>1</requestId><securityGroupInfo>"
        "<item><groupId>sg-0f1e2d3c4b5a61001</groupId><groupName>dev-ssh-whitelist</groupName>"
        "<vpcId>vpc-0a1b2c3d4e5f60711</vpcId><tagSet><item><key>Environment</key>"
        "<value>dev</value></item><item><key>infra-bot:whitelist</key><value>true</value>"
        "</item></tagSet></item></securityGroupInfo></DescribeSecurityGroupsResponse>")

    def rule(rule_id, cidr, port, description, egress="false", v6=False):
        family = "cidrIpv6" if v6 else "cidrIpv4"
        return (f"<item><securityGroupRuleId>{rule_id}</securityGroupRuleId>"
                "<groupId>sg-0f1e2d3c4b5a61001</groupId><groupOwnerId>123456789012</groupOwnerId>"
                f"<isEgress>{egress}</isEgress><ipProtocol>tcp</ipProtocol>"
                f"<fromPort>{port}</fromPort><toPort>{port}</toPort><{family}>{cidr}</{family}>"
                f"<description>{description}</description></item>")

    rules = (
        f"<DescribeSecurityGroupRulesResponse {EC2_NS}><requestId>2</requestId>"
        "<securityGroupRuleSet>"
        + rule("sgr-0c0ffee0000010001", "198.51.100.0/24", 22, "office VPN")
        + rule("sgr-0b0700000000000a1", "203.0.113.7/32", 80,
               "infra-bot:wl until=2026-12-12T10:00:00Z by=U0123ABC note=Home office")
        + rule("sgr-0b0700000000000a2", "198.51.100.9/32", 443,
               "infra-bot:wl until=2025-06-01T00:00:00Z by=U0123ABC note=Expired")
        + rule("sgr-0b0700000000000a3", "2001:db8:1::/48", 443,
               "infra-bot:wl by=U0123ABC note=No expiry", v6=True)
        + rule("sgr-0b0700000000000a4", "0.0.0.0/0", 443, "infra-bot:wl egress", egress="true")
        + "</securityGroupRuleSet><nextToken></nextToken></DescribeSecurityGroupRulesResponse>")

    lifecycle = [aws_answer("GetResources", everything),
                 aws_answer("DescribeServices", services),
                 aws_answer("DescribeDBInstances", instances),
                 aws_answer("DescribeDBClusters", clusters),
                 aws_answer("DescribeInstances", ec2)]
    stopping = [aws_answer("TagResource", "{}"),
                aws_answer("UpdateService", updated),
                aws_answer("StopDBInstance", rds_change("StopDBInstance", "DBInstance", "stopping")),
                aws_answer("StopDBCluster", rds_change("StopDBCluster", "DBCluster", "stopping")),
                aws_answer("StopInstances", fixture("ec2-StopInstances.response.xml"))]
    stopped = [aws_answer("GetResources", everything),
               aws_answer("DescribeServices", services_stopped),
               aws_answer("DescribeDBInstances",
                          instances.replace(">available<", ">stopped<")),
               aws_answer("DescribeDBClusters", clusters.replace(">available<", ">stopped<")),
               aws_answer("DescribeInstances", ec2.replace(">running<", ">stopped<"))]
    starting = [aws_answer("UpdateService", updated),
                aws_answer("StartDBInstance",
                           rds_change("StartDBInstance", "DBInstance", "starting")),
                aws_answer("StartDBCluster", rds_change("StartDBCluster", "DBCluster", "starting")),
                aws_answer("StartInstances", fixture("ec2-StopInstances.response.xml")
                           .replace("StopInstances", "StartInstances"))]
    allow_list = [aws_answer("GetResources", get_resources([sg_arn])),
                  aws_answer("DescribeSecurityGroups", security_groups),
                  aws_answer("DescribeSecurityGroupRules", rules)]
    authorize = fixture("ec2-AuthorizeSecurityGroupIngress.response.xml")
    duplicate = fixture("ec2-AuthorizeSecurityGroupIngress.error.response.xml")
    throttled = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
    denied = json.dumps({"__type": "com.amazonaws#AccessDeniedException",
                         "message": "User: arn:aws:sts::123456789012:assumed-role/infra-bot "
                                    "is not authorized to perform: tag:GetResources"})
    rds_denied = (f"<ErrorResponse {RDS_NS}><Error><Type>Sender</Type><Code>AccessDenied</Code>"
                  "<Message>not authorized</Message></Error><RequestId>3</RequestId>"
                  "</ErrorResponse>")
    paged = lambda token: get_resources([ACCOUNT.format("rds") + "db:app-dev-db-@N@"], token)

    out = {
        "aws_status": aws_seed("status", lifecycle),
        "aws_status_nothing": aws_seed("status", [aws_answer("GetResources", get_resources([]))]),
        "aws_status_throttled": aws_seed("status", [
            aws_answer("GetResources", throttled, HTTP_400),
            aws_answer("GetResources", "", HTTP_500)] + lifecycle),
        "aws_status_denied": aws_seed("status", [aws_answer("GetResources", denied, HTTP_400)]),
        "aws_status_rds_denied": aws_seed("status", [
            aws_answer("GetResources", everything),
            aws_answer("DescribeDBInstances", rds_denied, HTTP_403)]),
        "aws_status_paged_forever": aws_seed("status", [
            aws_answer("GetResources", paged("t@N@"), COUNTER | STICKY)], AWS_SMALL_PAGES),
        "aws_status_same_token": aws_seed("status", [
            aws_answer("GetResources", paged("again"), STICKY)]),
        "aws_status_rds_marker": aws_seed("status", [
            aws_answer("GetResources", get_resources([db_arn])),
            aws_answer("DescribeDBInstances", instances.replace(
                "</DBInstances>", "</DBInstances><Marker>m@N@</Marker>"), COUNTER | STICKY)],
            AWS_SMALL_PAGES),
        "aws_status_ec2_next_token": aws_seed("status", [
            aws_answer("GetResources", get_resources([ec2_arn])),
            aws_answer("DescribeInstances", ec2.replace(
                "</reservationSet>", "</reservationSet><nextToken>a/b+c=</nextToken>")),
            aws_answer("DescribeInstances", ec2)]),
        "aws_stop": aws_seed("stop", lifecycle + stopping),
        "aws_stop_invalid_state": aws_seed("stop", lifecycle + stopping[:2] + [
            aws_answer("StopDBInstance", fixture("rds-StopDBInstance.error.response.xml"),
                       HTTP_400),
            aws_answer("DescribeDBInstances", instances.replace(">available<", ">stopping<")),
            aws_answer("StopInstances", "", TRANSPORT_TIMEOUT)]),
        "aws_start": aws_seed("start", stopped + starting),
        "aws_teardown": aws_seed("teardown", lifecycle + stopping),
        "aws_reboot": aws_seed("reboot", [
            aws_answer("GetResources", get_resources([ec2_arn])),
            aws_answer("DescribeInstances", ec2),
            aws_answer("RebootInstances", ec2_return("RebootInstances"))]),
        "aws_reboot_by_name": aws_seed("reboot", [
            aws_answer("GetResources", get_resources([ec2_arn])),
            aws_answer("DescribeInstances", ec2),
            aws_answer("RebootInstances", ec2_return("RebootInstances"))], AWS_FLAG),
        "aws_add": aws_seed("add", allow_list + [
            aws_answer("UpdateSecurityGroupRuleDescriptionsIngress",
                       ec2_return("UpdateSecurityGroupRuleDescriptionsIngress")),
            aws_answer("AuthorizeSecurityGroupIngress", authorize)]),
        "aws_add_duplicate": aws_seed("add", allow_list + [
            aws_answer("AuthorizeSecurityGroupIngress", duplicate, HTTP_400),
            aws_answer("AuthorizeSecurityGroupIngress", authorize, STICKY)], AWS_FLAG),
        "aws_add_ipv6": aws_seed("add", allow_list + [
            aws_answer("UpdateSecurityGroupRuleDescriptionsIngress",
                       ec2_return("UpdateSecurityGroupRuleDescriptionsIngress")),
            aws_answer("AuthorizeSecurityGroupIngress", authorize)], AWS_IPV6),
        "aws_remove": aws_seed("remove", allow_list + [
            aws_answer("RevokeSecurityGroupIngress", ec2_return("RevokeSecurityGroupIngress"))]),
        "aws_list": aws_seed("list", allow_list),
        "aws_list_rules_paged": aws_seed("list", allow_list[:2] + [
            aws_answer("DescribeSecurityGroupRules",
                       rules.replace("<nextToken></nextToken>", "<nextToken>n@N@</nextToken>"),
                       COUNTER | STICKY)], AWS_SMALL_PAGES),
        "aws_refresh": aws_seed("refresh", allow_list + [
            aws_answer("RevokeSecurityGroupIngress", ec2_return("RevokeSecurityGroupIngress")),
            aws_answer("AuthorizeSecurityGroupIngress", authorize, STICKY)]),
        "aws_expire": aws_seed("expire", allow_list + [
            aws_answer("RevokeSecurityGroupIngress", ec2_return("RevokeSecurityGroupIngress"))]),
        "aws_expire_later": aws_seed("expire", allow_list + [
            aws_answer("RevokeSecurityGroupIngress", ec2_return("RevokeSecurityGroupIngress"))],
            AWS_LATER),
        "aws_full_teardown": aws_seed("full", []),
    }
    return out


def seeds():
    out = {"fuzz_aws_responses": aws_seeds(), "fuzz_command_parser": {}, "fuzz_envelope": {},
           "fuzz_lambda_response": {}, "fuzz_view_submission": {}}

    seen = set()
    for name, text in command_lines():
        data = text if isinstance(text, bytes) else text.encode()
        if data in seen:
            continue
        seen.add(data)
        out["fuzz_command_parser"][name] = data

    for path in sorted((FIXTURES / "slack").glob("*.json")):
        data = path.read_bytes()
        out["fuzz_envelope"][f"slack_{path.stem}"] = data
        if path.stem.startswith(("slash_command_", "view_", "block_actions", "shortcut",
                                 "events_api")):
            out["fuzz_view_submission"][f"slack_{path.stem}"] = bytes([MODE_RAW]) + data

    for case in sorted(p for p in (FIXTURES / "lambda").iterdir() if p.is_dir()):
        request = json.loads((case / "request.json").read_text())
        kind = 0
        headers = case / "headers.json"
        if headers.exists():
            kind = FUNCTION_ERROR_KIND.get(
                json.loads(headers.read_text()).get("X-Amz-Function-Error", ""), 0)
        selector = LAMBDA_CALLS[request["action"]] | (kind << 4)
        out["fuzz_lambda_response"][f"lambda_{case.name}"] = (
            bytes([selector]) + (case / "response.json").read_bytes())

    # The teardown modal coming back: the fixtures' metadata, typed texts and view ids.
    for name in ("view_submission_teardown", "view_submission_teardown_mismatch",
                 "view_submission_teardown_empty", "view_closed_teardown"):
        payload = json.loads((FIXTURES / "slack" / f"{name}.json").read_text())["payload"]
        view = payload["view"]
        typed = ((view.get("state", {}).get("values", {}).get("teardown_confirm", {})
                  .get("confirm_text", {}).get("value")) or "")
        mode = MODE_CLOSED if payload["type"] == "view_closed" else MODE_SUBMISSION
        data = bytes([mode]) + field(view["private_metadata"]) + field(typed) + field(view["id"])
        out["fuzz_view_submission"][f"template_{name}"] = data
        if name == "view_submission_teardown":
            out["fuzz_view_submission"]["template_teardown_button"] = (
                bytes([MODE_BUTTON]) + field(view["private_metadata"]) +
                field("https://hooks.slack.com/actions/T0123ABCD/1/abc") + field(""))
    for name, text in (("status", "status"), ("stop", "stop staging"),
                       ("teardown_full", "teardown dev --level=full"),
                       ("whitelist_add", "whitelist add 203.0.113.7 --ttl=7d "
                                         "--description=\u2018Home office &amp; lab\u2019"),
                       ("help", "help"), ("unknown", "restart dev")):
        out["fuzz_view_submission"][f"template_slash_{name}"] = bytes([MODE_SLASH]) + field(text)
    return out


def main():
    for target, files in seeds().items():
        directory = CORPUS / target
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.iterdir():
            if old.name.startswith(GENERATED):
                old.unlink()
        for name, data in files.items():
            (directory / name).write_bytes(data)
        print(f"{target}: {len(files)} seeds", file=sys.stderr)


if __name__ == "__main__":
    main()
