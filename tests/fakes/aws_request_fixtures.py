#!/usr/bin/python3
"""Checks (or rewrites) the request fixtures in proto-fixtures/aws/requests/ against botocore's
own serializers. Run with Debian's /usr/bin/python3 (python3-botocore 1.29).

Each fixture <case>.json is {"service": "ec2" | "rds" | "ecs" | "tagging", "operation": "...",
"params": {...botocore input, in the order the C++ client writes it...}, "body": "..."}:
"body" is what botocore sends for "params" - the form body (Query and EC2 protocols, encoded
as botocore's AWSRequest does: urllib's urlencode) or the JSON text (JSON 1.1). The C++ test
aws_protocol_test makes the same call with its clients and compares the body it sent.

  aws_request_fixtures.py DIR            check every fixture; exit 1 naming each mismatch
  aws_request_fixtures.py DIR --write    rewrite every "body" from botocore
"""

import json
import os
import sys
from urllib.parse import urlencode

import botocore.session
from botocore import serialize

SERVICES = {"ec2": "ec2", "rds": "rds", "ecs": "ecs", "tagging": "resourcegroupstaggingapi"}


def serialized_body(session, fixture):
    model = session.get_service_model(SERVICES[fixture["service"]])
    operation = model.operation_model(fixture["operation"])
    serializer = serialize.create_serializer(model.metadata["protocol"], include_validation=True)
    request = serializer.serialize_to_request(fixture["params"], operation)
    body = request["body"]
    if isinstance(body, dict):
        # botocore.awsrequest.AWSRequestPreparer._prepare_body
        return urlencode(list(body.items()), doseq=True)
    return body.decode("utf-8") if isinstance(body, bytes) else body


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    directory, write = argv[1], "--write" in argv[2:]
    session = botocore.session.get_session()
    failures = 0
    names = sorted(n for n in os.listdir(directory) if n.endswith(".json"))
    for name in names:
        path = os.path.join(directory, name)
        with open(path, encoding="utf-8") as f:
            fixture = json.load(f)
        body = serialized_body(session, fixture)
        if write:
            fixture["body"] = body
            with open(path, "w", encoding="utf-8") as f:
                json.dump(fixture, f, indent=2, ensure_ascii=False)
                f.write("\n")
        elif fixture.get("body") != body:
            failures += 1
            print("%s: botocore sends\n  %s\nthe fixture has\n  %s" % (name, body,
                                                                        fixture.get("body")))
    if not write:
        print("%d fixtures checked, %d differ" % (len(names), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
