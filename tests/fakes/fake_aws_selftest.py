#!/usr/bin/python3
"""The independent check of fake_aws.py: botocore's own clients against the fake.

  /usr/bin/python3 fake_aws_selftest.py [--tls CERT KEY --ca CA] [--state STATE.json]
                                        [--fixtures DIR] [-v]

Starts fake_aws.py (next to this file) with the state (default:
proto-fixtures/aws/state_default.json), then calls every operation the fake implements through
botocore clients (session.create_client with endpoint_url = the fake and verify = the CA), so
botocore serialises every request, signs it and parses every answer with its own parsers. Each
case checks what botocore parsed, and that the fake's state moved as it should. Errors are
checked as botocore's ClientError (code, HTTP status), which proves the error shapes parse too.
Then the fixtures in proto-fixtures/aws/ are parsed with botocore's parsers against their
operations' output shapes. Finally every request line the fake printed must be verified, apart
from the ones sent with a bad signature on purpose.

Without --tls it makes a throwaway CA and certificate with the openssl CLI. Exit status 0 when
every case passed, 1 otherwise (each failure is printed), 3 when botocore is missing.
"""

import argparse
import json
import os
import queue
import ssl
import subprocess
import sys
import tempfile
import threading
import traceback
import urllib.request

try:
    import botocore
    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config
    from botocore.credentials import Credentials
    from botocore.exceptions import ClientError
    from botocore.parsers import create_parser
except ImportError as error:  # pragma: no cover - environment problem
    print("botocore is not importable by %s (%s)" % (sys.executable, error), file=sys.stderr)
    sys.exit(3)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
AKID, SECRET, TOKEN = "AKIDSELFTEST", "selftestSECRETwJalrXUtnFEMI/K7MDENG", "selftest+TOKEN/=="
REGION = "eu-west-1"
DEV_BASTION, DEV_RUNNER = "i-0a1b2c3d4e5f61001", "i-0a1b2c3d4e5f61002"
DEV_WL_SG, DEV_OTHER_SG = "sg-0f1e2d3c4b5a61001", "sg-0f1e2d3c4b5a61002"
OFFICE_RULE = "sgr-0c0ffee0000010001"
CLUSTER = "arn:aws:ecs:eu-west-1:123456789012:cluster/infra-dev"


class Fake:
    """fake_aws.py as a child process; lines() are its request lines."""

    def __init__(self, cert, key, ca, state):
        self.ca = ca
        self.process = subprocess.Popen(
            [sys.executable, "-u", os.path.join(HERE, "fake_aws.py"), "--tls", cert, key,
             "--credentials", "%s:%s:%s" % (AKID, SECRET, TOKEN), "--state", state],
            stdout=subprocess.PIPE, text=True)
        first = self.process.stdout.readline()
        if not first.startswith("PORT "):
            raise RuntimeError("fake_aws.py did not start: %r" % first)
        self.port = int(first.split()[1])
        self.url = "https://127.0.0.1:%d" % self.port
        self.queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.seen = []

    def _read(self):
        for line in self.process.stdout:
            self.queue.put(json.loads(line))

    def lines(self):
        while True:
            try:
                self.seen.append(self.queue.get(timeout=0.05))
            except queue.Empty:
                return self.seen

    def control(self, method, path, doc=None):
        context = ssl.create_default_context(cafile=self.ca)
        data = json.dumps(doc).encode() if doc is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:
            return json.loads(answer.read())

    def state(self):
        return self.control("GET", "/_fake/state")

    def fault(self, **fault):
        return self.control("POST", "/_fake/fault", fault)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


class Cases:
    def __init__(self, fake, verbose):
        self.fake, self.verbose = fake, verbose
        self.session = botocore.session.get_session()
        self.failures = []
        self.bad_signatures = set()

    def client(self, service, secret=SECRET, retries=1, validate=True):
        return self.session.create_client(
            service, region_name=REGION, endpoint_url=self.fake.url, verify=self.fake.ca,
            aws_access_key_id=AKID, aws_secret_access_key=secret, aws_session_token=TOKEN,
            config=Config(retries={"total_max_attempts": retries, "mode": "standard"},
                          parameter_validation=validate))

    def expect_error(self, call, code, status=None, **kwargs):
        try:
            call(**kwargs)
        except ClientError as error:
            got = error.response["Error"]["Code"]
            got_status = error.response["ResponseMetadata"]["HTTPStatusCode"]
            assert got == code, "expected %s, got %s (%s)" % (code, got, error)
            assert status is None or got_status == status, \
                "expected HTTP %s, got %s for %s" % (status, got_status, code)
            assert error.response["ResponseMetadata"].get("RequestId"), "no request id parsed"
            return error
        raise AssertionError("expected %s, the call succeeded" % code)

    def run(self):
        for name in sorted(n for n in dir(self) if n.startswith("test_")):
            self.fake.control("POST", "/_fake/reset")
            try:
                getattr(self, name)()
                if self.verbose:
                    print("ok   %s" % name)
            except Exception:
                self.failures.append(name)
                print("FAIL %s\n%s" % (name, traceback.format_exc()))
        try:
            self.check_every_line_verified()
        except Exception:
            self.failures.append("every_line_verified")
            print("FAIL every_line_verified\n%s" % traceback.format_exc())
        return not self.failures

    def check_every_line_verified(self):
        lines = self.fake.lines()
        assert len(lines) > 50, "only %d request lines" % len(lines)
        for line in lines:
            if line["request_id"] in self.bad_signatures:
                assert not line["verified"] and line["answer_status"] == 403, line
            else:
                assert line["verified"], line
                assert line["signing_service"] in ("ecs", "tagging", "rds", "ec2"), line
                assert line["region"] == REGION, line

    # --------------------------------------------------------------------------- tagging --

    def test_tagging_filters_and_pages(self):
        tagging = self.client("resourcegroupstaggingapi")
        got = tagging.get_resources(TagFilters=[{"Key": "Environment", "Values": ["dev"]}],
                                    ResourceTypeFilters=["ecs:service"])
        arns = sorted(m["ResourceARN"] for m in got["ResourceTagMappingList"])
        assert arns == [CLUSTER.replace("cluster/", "service/") + "/api",
                        CLUSTER.replace("cluster/", "service/") + "/worker"], arns
        assert got["PaginationToken"] == "", got
        tags = got["ResourceTagMappingList"][0]["Tags"]
        assert tags == [{"Key": "Environment", "Value": "dev"}], tags
        everything, pages = [], 0
        for page in tagging.get_paginator("get_resources").paginate(ResourcesPerPage=4):
            everything += page["ResourceTagMappingList"]
            pages += 1
        # 3 clusters + 6 services + 4 db + 1 cluster + 6 instances + 6 groups
        assert len(everything) == 26 and pages == 7, (len(everything), pages)
        wl = tagging.get_resources(TagFilters=[{"Key": "infra-bot:whitelist"}],
                                   ResourceTypeFilters=["ec2:security-group"])
        assert len(wl["ResourceTagMappingList"]) == 3, wl
        rds = tagging.get_resources(ResourceTypeFilters=["rds"],
                                    TagFilters=[{"Key": "Environment", "Values": ["dev"]}])
        assert {m["ResourceARN"].split(":")[5] for m in rds["ResourceTagMappingList"]} == \
            {"db", "cluster"}, rds
        self.expect_error(tagging.get_resources, "InvalidParameterException", 400,
                          PaginationToken="not-a-token")
        self.expect_error(tagging.get_resources, "InvalidParameterException", 400,
                          ResourceARNList=[CLUSTER], ResourceTypeFilters=["ecs"])

    def test_tagging_empty_page_and_token_loop(self):
        tagging = self.client("resourcegroupstaggingapi")
        self.fake.fault(service="tagging", operation="GetResources", kind="empty_page")
        first = tagging.get_resources(ResourcesPerPage=20)
        assert first["ResourceTagMappingList"] == [] and first["PaginationToken"], first
        second = tagging.get_resources(ResourcesPerPage=20,
                                       PaginationToken=first["PaginationToken"])
        assert len(second["ResourceTagMappingList"]) == 20, second
        self.fake.fault(service="tagging", operation="GetResources", kind="token_loop")
        a = tagging.get_resources(ResourcesPerPage=20)
        b = tagging.get_resources(ResourcesPerPage=20, PaginationToken=a["PaginationToken"])
        c = tagging.get_resources(ResourcesPerPage=20, PaginationToken=b["PaginationToken"])
        assert a["PaginationToken"] == b["PaginationToken"] == c["PaginationToken"] != "", (a, b)

    # ------------------------------------------------------------------------------- ECS --

    def test_ecs_describe_services(self):
        ecs = self.client("ecs")
        got = ecs.describe_services(cluster=CLUSTER, services=["api", "nope"], include=["TAGS"])
        service = got["services"][0]
        assert service["serviceName"] == "api" and service["desiredCount"] == 2, service
        assert service["runningCount"] == 2 and service["status"] == "ACTIVE", service
        assert service["tags"] == [{"key": "Environment", "value": "dev"}], service
        assert service["createdAt"].year == 2026, service["createdAt"]  # epoch seconds parsed
        assert got["failures"] == [{"arn": CLUSTER.replace("cluster/", "service/") + "/nope",
                                    "reason": "MISSING"}], got["failures"]
        plain = ecs.describe_services(cluster="infra-dev", services=[service["serviceArn"]])
        assert "tags" not in plain["services"][0], plain
        self.expect_error(ecs.describe_services, "ClusterNotFoundException", 400, services=["api"])
        self.expect_error(ecs.describe_services, "InvalidParameterException", 400,
                          cluster=CLUSTER, services=["s%d" % i for i in range(11)])

    def test_ecs_update_and_tags(self):
        ecs = self.client("ecs")
        arn = CLUSTER.replace("cluster/", "service/") + "/api"
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "infra-bot:desired-count", "value": "2"}])
        got = ecs.update_service(cluster=CLUSTER, service="api", desiredCount=0)
        assert got["service"]["desiredCount"] == 0 and got["service"]["runningCount"] == 0, got
        tags = ecs.list_tags_for_resource(resourceArn=arn)["tags"]
        assert {"key": "infra-bot:desired-count", "value": "2"} in tags, tags
        ecs.untag_resource(resourceArn=arn, tagKeys=["infra-bot:desired-count"])
        assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == \
            [{"key": "Environment", "value": "dev"}]
        api = self.fake.state()["ecs"]["clusters"][0]["services"][0]
        assert api["desiredCount"] == 0 and "infra-bot:desired-count" not in api["tags"], api
        self.expect_error(ecs.tag_resource, "InvalidParameterException", 400,
                          resourceArn="arn:aws:ecs:eu-west-1:123456789012:service/api",
                          tags=[{"key": "k", "value": "v"}])
        self.expect_error(ecs.update_service, "ServiceNotFoundException", 400, cluster=CLUSTER,
                          service="nope", desiredCount=1)
        clusters = ecs.list_clusters()["clusterArns"]
        assert len(clusters) == 3, clusters
        pages = list(ecs.get_paginator("list_services").paginate(
            cluster=CLUSTER, PaginationConfig={"PageSize": 1}))
        assert [p["serviceArns"][0].split("/")[-1] for p in pages] == ["api", "worker"], pages

    def test_ecs_running_count_lags_with_settle(self):
        self.fake.control("POST", "/_fake/merge", {"settleDescribes": 2})
        ecs = self.client("ecs")
        ecs.update_service(cluster=CLUSTER, service="worker", desiredCount=3)
        counts = [ecs.describe_services(cluster=CLUSTER, services=["worker"])["services"][0]
                  ["runningCount"] for _ in range(3)]
        assert counts == [1, 1, 3], counts

    # ------------------------------------------------------------------------------- RDS --

    def test_rds_describe(self):
        rds = self.client("rds")
        got = rds.describe_db_instances(Filters=[{"Name": "engine", "Values": ["postgres"]}])
        ids = sorted(i["DBInstanceIdentifier"] for i in got["DBInstances"])
        assert ids == ["app-dev-db", "app-prod-db", "app-staging-db"], ids
        one = rds.describe_db_instances(DBInstanceIdentifier="app-dev-db")["DBInstances"][0]
        assert one["DBInstanceStatus"] == "available" and one["Engine"] == "postgres", one
        assert one["TagList"] == [{"Key": "Environment", "Value": "dev"}], one
        assert one["DBInstanceArn"] == "arn:aws:rds:eu-west-1:123456789012:db:app-dev-db", one
        assert one["InstanceCreateTime"].year == 2026, one
        member = rds.describe_db_instances(
            Filters=[{"Name": "db-cluster-id", "Values": ["app-dev-aurora"]}])["DBInstances"]
        assert [m["DBClusterIdentifier"] for m in member] == ["app-dev-aurora"], member
        pages = list(rds.get_paginator("describe_db_instances").paginate(
            PaginationConfig={"PageSize": 20}))
        assert len(pages) == 1 and len(pages[0]["DBInstances"]) == 4, pages
        clusters = rds.describe_db_clusters()["DBClusters"]
        assert clusters[0]["DBClusterMembers"][0]["IsClusterWriter"] is True, clusters
        assert clusters[0]["TagList"] == [{"Key": "Environment", "Value": "dev"}], clusters
        self.expect_error(rds.describe_db_instances, "DBInstanceNotFound", 404,
                          DBInstanceIdentifier="nope")
        self.expect_error(rds.describe_db_clusters, "DBClusterNotFoundFault", 404,
                          DBClusterIdentifier="nope")
        self.expect_error(rds.describe_db_instances, "InvalidParameterValue", 400,
                          Filters=[{"Name": "tag:Environment", "Values": ["dev"]}])

    def test_rds_stop_start(self):
        rds = self.client("rds")
        got = rds.stop_db_instance(DBInstanceIdentifier="app-dev-db")
        assert got["DBInstance"]["DBInstanceStatus"] == "stopped", got
        error = self.expect_error(rds.stop_db_instance, "InvalidDBInstanceState", 400,
                                  DBInstanceIdentifier="app-dev-db")
        assert "Instance app-dev-db is not in available state." in str(error), error
        rds.start_db_instance(DBInstanceIdentifier="app-dev-db")
        self.expect_error(rds.start_db_instance, "InvalidDBInstanceState", 400,
                          DBInstanceIdentifier="app-dev-db")
        self.expect_error(rds.stop_db_instance, "InvalidParameterCombination", 400,
                          DBInstanceIdentifier="app-dev-aurora-1")
        cluster = rds.stop_db_cluster(DBClusterIdentifier="app-dev-aurora")["DBCluster"]
        assert cluster["Status"] == "stopped", cluster
        self.expect_error(rds.stop_db_cluster, "InvalidDBClusterStateFault", 400,
                          DBClusterIdentifier="app-dev-aurora")
        state = self.fake.state()["rds"]
        assert [i["status"] for i in state["instances"] if i["id"] == "app-dev-aurora-1"] == \
            ["stopped"], state
        rds.start_db_cluster(DBClusterIdentifier="app-dev-aurora")
        self.expect_error(rds.start_db_cluster, "InvalidDBClusterStateFault", 400,
                          DBClusterIdentifier="app-dev-aurora")
        self.expect_error(rds.stop_db_instance, "DBInstanceNotFound", 404,
                          DBInstanceIdentifier="nope")

    def test_rds_settle(self):
        self.fake.control("POST", "/_fake/merge", {"settleDescribes": 1})
        rds = self.client("rds")
        got = rds.stop_db_instance(DBInstanceIdentifier="app-prod-db")
        assert got["DBInstance"]["DBInstanceStatus"] == "stopping", got
        seen = [rds.describe_db_instances(DBInstanceIdentifier="app-prod-db")["DBInstances"][0]
                ["DBInstanceStatus"] for _ in range(2)]
        assert seen == ["stopping", "stopped"], seen

    # ------------------------------------------------------------------------------- EC2 --

    def test_ec2_describe_instances(self):
        ec2 = self.client("ec2")
        got = ec2.describe_instances(Filters=[{"Name": "tag:Environment", "Values": ["dev"]},
                                              {"Name": "instance-state-name",
                                               "Values": ["running"]}])
        instances = [i for r in got["Reservations"] for i in r["Instances"]]
        assert sorted(i["InstanceId"] for i in instances) == [DEV_BASTION, DEV_RUNNER], got
        bastion = next(i for i in instances if i["InstanceId"] == DEV_BASTION)
        assert {"Key": "Name", "Value": "bastion-dev"} in bastion["Tags"], bastion
        assert bastion["State"] == {"Code": 16, "Name": "running"}, bastion
        assert bastion["Placement"]["AvailabilityZone"] == "eu-west-1a", bastion
        assert bastion["LaunchTime"].isoformat() == "2026-11-20T08:00:00+00:00", bastion
        pages = list(ec2.get_paginator("describe_instances").paginate(
            PaginationConfig={"PageSize": 5}))
        assert [sum(len(r["Instances"]) for r in p["Reservations"]) for p in pages] == [5, 1]
        wild = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["bastion-*"]}])
        assert len(wild["Reservations"]) == 3, wild
        self.expect_error(ec2.describe_instances, "InvalidInstanceID.NotFound", 400,
                          InstanceIds=["i-0123456789abcdef0"])
        self.expect_error(ec2.describe_instances, "InvalidInstanceID.Malformed", 400,
                          InstanceIds=["i-xyz"])
        self.expect_error(ec2.describe_instances, "InvalidParameterCombination", 400,
                          InstanceIds=[DEV_BASTION], MaxResults=5)
        self.expect_error(ec2.describe_instances, "InvalidParameterValue", 400,
                          Filters=[{"Name": "no-such-filter", "Values": ["x"]}])

    def test_ec2_stop_start_reboot(self):
        ec2 = self.client("ec2")
        self.expect_error(ec2.stop_instances, "DryRunOperation", 412, InstanceIds=[DEV_BASTION],
                          DryRun=True)
        got = ec2.stop_instances(InstanceIds=[DEV_BASTION])["StoppingInstances"][0]
        assert got["PreviousState"]["Name"] == "running", got
        assert got["CurrentState"] == {"Code": 80, "Name": "stopped"}, got
        self.expect_error(ec2.reboot_instances, "IncorrectInstanceState", 400,
                          InstanceIds=[DEV_BASTION])
        again = ec2.stop_instances(InstanceIds=[DEV_BASTION])["StoppingInstances"][0]
        assert again["PreviousState"]["Name"] == again["CurrentState"]["Name"] == "stopped"
        state = {i["id"]: i["state"] for i in self.fake.state()["ec2"]["instances"]}
        assert state[DEV_BASTION] == "stopped" and state[DEV_RUNNER] == "running", state
        started = ec2.start_instances(InstanceIds=[DEV_BASTION])["StartingInstances"][0]
        assert started["CurrentState"]["Name"] == "running", started
        got = ec2.reboot_instances(InstanceIds=[DEV_BASTION])
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 200, got
        self.expect_error(ec2.stop_instances, "InvalidInstanceID.NotFound", 400,
                          InstanceIds=[DEV_BASTION, "i-0123456789abcdef0"])

    def test_ec2_settle(self):
        self.fake.control("POST", "/_fake/merge", {"settleDescribes": 1})
        ec2 = self.client("ec2")
        got = ec2.stop_instances(InstanceIds=[DEV_RUNNER])["StoppingInstances"][0]
        assert got["CurrentState"]["Name"] == "stopping", got
        seen = [ec2.describe_instances(InstanceIds=[DEV_RUNNER])["Reservations"][0]
                ["Instances"][0]["State"]["Name"] for _ in range(2)]
        assert seen == ["stopping", "stopped"], seen

    def test_ec2_security_groups(self):
        ec2 = self.client("ec2")
        got = ec2.describe_security_groups(
            Filters=[{"Name": "tag:infra-bot:whitelist", "Values": ["true"]}])
        groups = got["SecurityGroups"]
        assert sorted(g["GroupId"] for g in groups)[0] == DEV_WL_SG and len(groups) == 3, got
        dev = next(g for g in groups if g["GroupId"] == DEV_WL_SG)
        assert dev["IpPermissions"] == [{
            "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
            "IpRanges": [{"CidrIp": "198.51.100.0/24", "Description": "office VPN"}],
            "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}], dev
        rules = ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [DEV_WL_SG]}])["SecurityGroupRules"]
        assert [r["SecurityGroupRuleId"] for r in rules] == [OFFICE_RULE], rules
        assert rules[0]["IsEgress"] is False and rules[0]["Description"] == "office VPN", rules
        self.expect_error(ec2.describe_security_groups, "InvalidGroup.NotFound", 400,
                          GroupIds=["sg-0123456789abcdef0"])
        self.expect_error(ec2.describe_security_group_rules,
                          "InvalidSecurityGroupRuleId.NotFound", 400,
                          SecurityGroupRuleIds=["sgr-0123456789abcdef0"])

    def test_ec2_authorize_revoke(self):
        ec2 = self.client("ec2")
        note = "infra-bot:wl until=2026-12-12T10:00:00Z by=U0123ABC note=Home office"
        got = ec2.authorize_security_group_ingress(
            GroupId=DEV_WL_SG,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                            "IpRanges": [{"CidrIp": "203.0.113.5/32", "Description": note}],
                            "Ipv6Ranges": [{"CidrIpv6": "2001:db8::5/128",
                                            "Description": note}]}],
            TagSpecifications=[{"ResourceType": "security-group-rule",
                                "Tags": [{"Key": "infra-bot", "Value": "wl"}]}])
        assert got["Return"] is True and len(got["SecurityGroupRules"]) == 2, got
        new_ids = [r["SecurityGroupRuleId"] for r in got["SecurityGroupRules"]]
        assert got["SecurityGroupRules"][0]["CidrIpv4"] == "203.0.113.5/32", got
        assert got["SecurityGroupRules"][1]["CidrIpv6"] == "2001:db8::5/128", got
        assert got["SecurityGroupRules"][0]["Tags"] == [{"Key": "infra-bot", "Value": "wl"}]
        # all or nothing: one new rule plus one duplicate adds nothing
        self.expect_error(
            ec2.authorize_security_group_ingress, "InvalidPermission.Duplicate", 400,
            GroupId=DEV_WL_SG,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                            "IpRanges": [{"CidrIp": "192.0.2.7/32"},
                                         {"CidrIp": "203.0.113.5/32"}]}])
        rules = self.fake.state()["ec2"]["securityGroupRules"]
        assert len([r for r in rules if r["groupId"] == DEV_WL_SG]) == 3, rules
        self.expect_error(
            ec2.authorize_security_group_ingress, "InvalidParameterValue", 400, GroupId=DEV_WL_SG,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                            "IpRanges": [{"CidrIp": "192.0.2.8/32", "Description": "héllo"}]}])
        self.expect_error(
            ec2.authorize_security_group_ingress, "InvalidParameterValue", 400, GroupId=DEV_WL_SG,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                            "IpRanges": [{"CidrIp": "192.0.2.8/32", "Description": "x" * 256}]}])
        self.expect_error(
            ec2.authorize_security_group_ingress, "InvalidGroup.NotFound", 400,
            GroupId="sg-0123456789abcdef0",
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                            "IpRanges": [{"CidrIp": "192.0.2.8/32"}]}])
        self.expect_error(
            ec2.authorize_security_group_ingress, "DryRunOperation", 412, GroupId=DEV_WL_SG,
            DryRun=True, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                         "IpRanges": [{"CidrIp": "192.0.2.9/32"}]}])
        self.expect_error(ec2.revoke_security_group_ingress,
                          "InvalidSecurityGroupRuleId.NotFound", 400, GroupId=DEV_WL_SG,
                          SecurityGroupRuleIds=[new_ids[0], "sgr-0123456789abcdef0"])
        got = ec2.revoke_security_group_ingress(GroupId=DEV_WL_SG, SecurityGroupRuleIds=new_ids)
        assert got["Return"] is True, got
        rules = self.fake.state()["ec2"]["securityGroupRules"]
        assert [r["id"] for r in rules if r["groupId"] == DEV_WL_SG] == [OFFICE_RULE], rules
        self.expect_error(ec2.revoke_security_group_ingress,
                          "InvalidSecurityGroupRuleId.NotFound", 400, GroupId=DEV_OTHER_SG,
                          SecurityGroupRuleIds=[OFFICE_RULE])
        # by properties: all or nothing, canonical CIDRs
        ec2.authorize_security_group_ingress(
            GroupId=DEV_OTHER_SG, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443,
                                                  "ToPort": 443,
                                                  "IpRanges": [{"CidrIp": "192.0.2.77/24"}]}])
        self.expect_error(ec2.revoke_security_group_ingress, "InvalidPermission.NotFound", 400,
                          GroupId=DEV_OTHER_SG,
                          IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                                          "IpRanges": [{"CidrIp": "192.0.2.0/24"},
                                                       {"CidrIp": "192.0.3.0/24"}]}])
        ec2.revoke_security_group_ingress(
            GroupId=DEV_OTHER_SG, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443,
                                                  "ToPort": 443,
                                                  "IpRanges": [{"CidrIp": "192.0.2.0/24"}]}])
        rules = self.fake.state()["ec2"]["securityGroupRules"]
        assert not [r for r in rules if r["groupId"] == DEV_OTHER_SG], rules

    def test_ec2_rule_pages_and_merged_description(self):
        ec2 = self.client("ec2")
        ec2.authorize_security_group_ingress(
            GroupId=DEV_WL_SG, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                               "IpRanges": [{"CidrIp": "192.0.2.%d/32" % i}
                                                            for i in range(1, 7)]}])
        pages = list(ec2.get_paginator("describe_security_group_rules").paginate(
            Filters=[{"Name": "group-id", "Values": [DEV_WL_SG]}],
            PaginationConfig={"PageSize": 5}))
        assert [len(p["SecurityGroupRules"]) for p in pages] == [5, 2], pages
        expired = "infra-bot:wl until=2026-01-01T00:00:00Z by=U0123ABC note=old"
        self.fake.control("POST", "/_fake/merge", {"ec2": {"securityGroupRules": [
            {"id": OFFICE_RULE, "description": expired}]}})
        rule = ec2.describe_security_group_rules(
            SecurityGroupRuleIds=[OFFICE_RULE])["SecurityGroupRules"][0]
        assert rule["Description"] == expired and rule["CidrIpv4"] == "198.51.100.0/24", rule

    def test_fault_after_and_times(self):
        rds = self.client("rds")
        self.fake.fault(service="rds", operation="StopDBInstance", resource="app-prod-db",
                        code="InvalidDBInstanceState", http_status=400, message="busy", after=1)
        rds.stop_db_instance(DBInstanceIdentifier="app-staging-db")  # another resource
        rds.stop_db_instance(DBInstanceIdentifier="app-prod-db")     # let through ("after")
        rds.start_db_instance(DBInstanceIdentifier="app-prod-db")
        error = self.expect_error(rds.stop_db_instance, "InvalidDBInstanceState", 400,
                                  DBInstanceIdentifier="app-prod-db")
        assert "busy" in str(error), error
        rds.stop_db_instance(DBInstanceIdentifier="app-prod-db")     # used up
        faults = self.fake.control("GET", "/_fake/faults")["faults"]
        assert faults[0]["times"] == 0, faults

    def test_ec2_rule_limit(self):
        self.fake.control("POST", "/_fake/merge", {"ec2": {"rulesPerGroupLimit": 2}})
        ec2 = self.client("ec2")
        perms = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                  "IpRanges": [{"CidrIp": "192.0.2.%d/32" % i} for i in (1, 2)]}]
        self.expect_error(ec2.authorize_security_group_ingress,
                          "RulesPerSecurityGroupLimitExceeded", 400, GroupId=DEV_WL_SG,
                          IpPermissions=perms)

    # ---------------------------------------------------------------------------- faults --

    def test_fault_throttle_then_success(self):
        ecs = self.client("ecs", retries=3)
        self.fake.fault(service="ecs", operation="DescribeServices", kind="throttle", times=2)
        before = len(self.fake.lines())
        got = ecs.describe_services(cluster=CLUSTER, services=["api"])
        assert got["services"][0]["serviceName"] == "api", got
        lines = self.fake.lines()[before:]
        assert [l["answer_status"] for l in lines] == [400, 400, 200], lines
        assert [l["error"] for l in lines] == ["ThrottlingException"] * 2 + [None], lines
        for service, call, code, status in (
                ("tagging", lambda: self.client("resourcegroupstaggingapi").get_resources(),
                 "ThrottledException", 400),
                ("rds", lambda: self.client("rds").describe_db_instances(), "Throttling", 400),
                ("ec2", lambda: self.client("ec2").describe_instances(), "RequestLimitExceeded",
                 503)):
            self.fake.fault(service=service, kind="throttle")
            self.expect_error(call, code, status)

    def test_fault_internal(self):
        for service, call, code in (
                ("ecs", lambda: self.client("ecs").list_clusters(), "ServerException"),
                ("tagging", lambda: self.client("resourcegroupstaggingapi").get_resources(),
                 "InternalServiceException"),
                ("rds", lambda: self.client("rds").describe_db_clusters(), "InternalFailure"),
                ("ec2", lambda: self.client("ec2").describe_security_groups(), "InternalError")):
            self.fake.fault(service=service, kind="internal")
            self.expect_error(call, code, 500)

    def test_fault_malformed(self):
        for service, call in (
                ("rds", lambda: self.client("rds").describe_db_instances()),
                ("ec2", lambda: self.client("ec2").describe_instances())):
            self.fake.fault(service=service, kind="malformed")
            try:
                call()
            except botocore.parsers.ResponseParserError:
                pass
            else:
                raise AssertionError("%s: a truncated body parsed" % service)
        self.fake.fault(service="ecs", kind="malformed")
        got = self.client("ecs").describe_services(cluster=CLUSTER, services=["api"])
        assert "services" not in got, got  # botocore keeps the broken JSON as a message only

    def test_fault_access_denied_on_one_resource(self):
        ecs, ec2 = self.client("ecs"), self.client("ec2")
        self.fake.fault(service="ecs", operation="UpdateService", resource="infra-dev/api",
                        kind="access_denied", times=-1)
        self.fake.fault(service="ec2", operation="StopInstances", resource=DEV_BASTION,
                        kind="access_denied", times=-1)
        self.expect_error(ecs.update_service, "AccessDeniedException", 400, cluster=CLUSTER,
                          service="api", desiredCount=0)
        ecs.update_service(cluster=CLUSTER, service="worker", desiredCount=0)
        ecs.update_service(cluster="infra-prod", service="api", desiredCount=0)
        self.expect_error(ec2.stop_instances, "UnauthorizedOperation", 403,
                          InstanceIds=[DEV_BASTION])
        ec2.stop_instances(InstanceIds=[DEV_RUNNER])
        state = self.fake.state()
        assert state["ecs"]["clusters"][0]["services"][0]["desiredCount"] == 2, state
        assert state["ecs"]["clusters"][0]["services"][1]["desiredCount"] == 0, state

    # ------------------------------------------------------- signature and model checks --

    def test_bad_signature(self):
        for service, call, code in (
                ("ecs", lambda c: c.list_clusters(), "InvalidSignatureException"),
                ("resourcegroupstaggingapi", lambda c: c.get_resources(),
                 "InvalidSignatureException"),
                ("rds", lambda c: c.describe_db_instances(), "SignatureDoesNotMatch"),
                ("ec2", lambda c: c.describe_instances(), "SignatureDoesNotMatch")):
            error = self.expect_error(lambda: call(self.client(service, secret="wrong")), code,
                                      403)
            self.bad_signatures.add(error.response["ResponseMetadata"]["RequestId"])
        # signed for "resourcegroupstaggingapi" instead of "tagging"
        status, body, request_id = self.raw("resourcegroupstaggingapi", {
            "X-Amz-Target": "ResourceGroupsTaggingAPI_20170126.GetResources",
            "Content-Type": "application/x-amz-json-1.1"}, b"{}")
        self.bad_signatures.add(request_id)
        assert status == 403 and b"InvalidSignatureException" in body, (status, body)

    def raw(self, signing_name, headers, body):
        """POSTs a hand-made request signed for `signing_name`; (status, body, request id)."""
        request = AWSRequest(method="POST", url=self.fake.url + "/", data=body, headers=headers)
        SigV4Auth(Credentials(AKID, SECRET, TOKEN), signing_name, REGION).add_auth(request)
        prepared = request.prepare()
        context = ssl.create_default_context(cafile=self.fake.ca)
        http = urllib.request.Request(prepared.url, data=body, method="POST",
                                      headers=dict(prepared.headers.items()))
        try:
            with urllib.request.urlopen(http, context=context, timeout=10) as answer:
                return answer.status, answer.read(), answer.headers["x-amzn-RequestId"]
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers["x-amzn-RequestId"]

    def test_model_validation(self):
        ecs = self.client("ecs", validate=False)
        self.expect_error(ecs.describe_services, "ValidationException", 400, cluster=CLUSTER)
        self.expect_error(ecs.describe_services, "ValidationException", 400, cluster=CLUSTER,
                          services=["api"], include=["NOPE"])
        self.expect_error(ecs.update_service, "ValidationException", 400, cluster=CLUSTER,
                          service="api", desiredCount="two")
        ec2 = self.client("ec2", validate=False)
        self.expect_error(ec2.stop_instances, "MissingParameter", 400)
        rds = self.client("rds", validate=False)
        self.expect_error(rds.describe_db_instances, "InvalidParameterValue", 400,
                          MaxRecords="lots")
        form = "Action=DescribeInstances&Version=2016-11-15&Bogus=1".encode()
        status, body, _ = self.raw("ec2", {
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, form)
        assert status == 400 and b"UnknownParameter" in body, (status, body)
        # RDS list members are Filters.Filter.N, not EC2's Filter.N
        form = ("Action=DescribeDBInstances&Version=2014-10-31&Filter.1.Name=engine"
                "&Filter.1.Value.1=postgres").encode()
        status, body, _ = self.raw("rds", {
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, form)
        assert status == 400 and b"UnknownParameter" in body, (status, body)
        status, body, _ = self.raw("ecs", {
            "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeServices",
            "Content-Type": "application/x-amz-json-1.1"}, b"[1, 2")
        assert status == 400 and b"SerializationException" in body, (status, body)
        lines = self.fake.lines()
        assert any(l["reason"].startswith("model: ") for l in lines), lines[-3:]

    def test_request_lines(self):
        self.client("ec2").describe_instances(Filters=[{"Name": "tag:Environment",
                                                         "Values": ["dev", "prod"]}])
        line = self.fake.lines()[-1]
        assert line["service"] == "ec2" and line["operation"] == "DescribeInstances", line
        assert line["params"] == {"Filters": [{"Name": "tag:Environment",
                                               "Values": ["dev", "prod"]}]}, line
        assert line["wire"]["Filter.1.Value.2"] == "prod", line
        self.client("rds").describe_db_instances(
            Filters=[{"Name": "engine", "Values": ["postgres"]}])
        line = self.fake.lines()[-1]
        assert line["wire"]["Filters.Filter.1.Values.Value.1"] == "postgres", line
        assert line["params"]["Filters"][0]["Values"] == ["postgres"], line
        prefixed = self.session.create_client(
            "ecs", region_name=REGION, endpoint_url=self.fake.url + "/aws-prefix",
            verify=self.fake.ca, aws_access_key_id=AKID, aws_secret_access_key=SECRET,
            aws_session_token=TOKEN)
        assert len(prefixed.list_clusters()["clusterArns"]) == 3
        line = self.fake.lines()[-1]
        assert line["path"] == "/aws-prefix" and line["verified"], line

    # -------------------------------------------------------------------------- fixtures --

    def test_fixtures_parse(self):
        directory = os.path.join(ROOT, "proto-fixtures", "aws")
        names = {"tagging": "resourcegroupstaggingapi"}
        count = 0
        for name in sorted(os.listdir(directory)):
            if ".response." not in name:
                continue
            service, operation = name.split(".")[0].split("-", 1)
            model = self.session.get_service_model(names.get(service, service))
            operation_model = model.operation_model(operation)
            with open(os.path.join(directory, name), "rb") as f:
                body = f.read()
            status = 400 if "error" in name else 200
            parser = create_parser(model.metadata["protocol"])
            parsed = parser.parse({"body": body, "headers": {"x-amzn-requestid": "fixture"},
                                   "status_code": status}, operation_model.output_shape)
            if status == 200:
                assert "Error" not in parsed and len(parsed) > 1, (name, parsed)
            else:
                assert parsed["Error"]["Code"], (name, parsed)
            count += 1
        assert count >= 4, count

    def test_fixture_pairs_replay(self):
        """Each X.request.json, signed and sent to the fake (default state), is answered 200 and
        botocore finds in the answer every field the fixture X.response.* has."""
        directory = os.path.join(ROOT, "proto-fixtures", "aws")
        signing = {"tagging": "tagging", "ecs": "ecs", "rds": "rds", "ec2": "ec2"}
        names = {"tagging": "resourcegroupstaggingapi"}
        count = 0
        for name in sorted(os.listdir(directory)):
            if not name.endswith(".request.json"):
                continue
            stem = name[:-len(".request.json")]
            service, operation = stem.split("-", 1)
            with open(os.path.join(directory, name), encoding="utf-8") as f:
                request = json.load(f)
            response_name = next(n for n in os.listdir(directory)
                                 if n.startswith(stem + ".response."))
            with open(os.path.join(directory, response_name), "rb") as f:
                expected_body = f.read()
            status, body, _ = self.raw(signing[service], request["headers"],
                                       request["body"].encode())
            assert status == 200, (name, status, body)
            model = self.session.get_service_model(names.get(service, service))
            shape = model.operation_model(operation).output_shape
            parse = lambda raw: create_parser(model.metadata["protocol"]).parse(  # noqa: E731
                {"body": raw, "headers": {}, "status_code": 200}, shape)
            expected, got = leaf_paths(parse(expected_body)), leaf_paths(parse(body))
            assert expected <= got, (name, sorted(expected - got))
            count += 1
            self.fake.control("POST", "/_fake/reset")
        assert count >= 5, count


def leaf_paths(value, prefix=""):
    """{"services[].deployments[].status", ...}: where a parsed answer has values."""
    if isinstance(value, dict):
        return set().union(*[leaf_paths(v, prefix + "." + k if prefix else k)
                             for k, v in value.items() if k != "ResponseMetadata"] or [set()])
    if isinstance(value, list):
        return set().union(*[leaf_paths(v, prefix + "[]") for v in value] or [set()])
    return {prefix}


def make_tls(directory):
    run = lambda *args: subprocess.run(args, cwd=directory, check=True,  # noqa: E731
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(directory, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
        "ca.pem", "-days", "1", "-subj", "/CN=fake_aws selftest CA")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
        "server.csr", "-subj", "/CN=localhost")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "1", "-extfile", "ext.cnf")
    return [os.path.join(directory, n) for n in ("server.pem", "server.key", "ca.pem")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--ca")
    parser.add_argument("--state", default=os.path.join(ROOT, "proto-fixtures", "aws",
                                                        "state_default.json"))
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fake-aws-selftest-") as directory:
        if args.tls:
            cert, key, ca = args.tls[0], args.tls[1], args.ca
        else:
            cert, key, ca = make_tls(directory)
        fake = Fake(cert, key, ca, args.state)
        try:
            ok = Cases(fake, args.verbose).run()
        finally:
            fake.stop()
    print("fake_aws selftest (botocore %s): %s" % (botocore.__version__,
                                                   "all passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
