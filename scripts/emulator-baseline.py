"""The emulator's own speed for N security groups, with a bare client.

Creates N tagged security groups in one VPC, then one ingress rule each,
C calls at a time, and prints the calls per second of each phase. Resets
the emulator first. Needs boto3 (not a dependency of the project):

    python3 -m venv /tmp/pyb && /tmp/pyb/bin/pip install boto3
    AWS_EC2_METADATA_DISABLED=true .venv/bin/moto_server -H 127.0.0.1 -p 5901 &
    AWS_EC2_METADATA_DISABLED=true /tmp/pyb/bin/python scripts/emulator-baseline.py http://127.0.0.1:5901 500 tags 8
"""
import boto3, time, sys, os, concurrent.futures as cf, urllib.request
ep = sys.argv[1]; n = int(sys.argv[2]); tags = sys.argv[3] == "tags"; conc = int(sys.argv[4])
urllib.request.urlopen(urllib.request.Request(ep + "/moto-api/reset", method="POST")).read()
from botocore.config import Config
c = boto3.client("ec2", endpoint_url=ep, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x",
                 config=Config(max_pool_connections=conc, retries={"max_attempts": 1}))
vpc = c.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
ts = [{"ResourceType": "security-group", "Tags": [{"Key": "infra:stack", "Value": "s"}, {"Key": "infra:address", "Value": "a"}, {"Key": "Name", "Value": "n"}]}] if tags else []
def mk(i):
    return c.create_security_group(GroupName=f"g{i}", Description="d", VpcId=vpc, TagSpecifications=ts)["GroupId"]
def auth(g):
    c.authorize_security_group_ingress(GroupId=g, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
with cf.ThreadPoolExecutor(conc) as ex:
    t = time.time(); gs = list(ex.map(mk, range(n))); t1 = time.time()
    list(ex.map(auth, gs)); t2 = time.time()
print(f"n={n} tags={tags} conc={conc} create {t1-t:.2f}s ({n/(t1-t):.0f}/s) authorize {t2-t1:.2f}s ({n/(t2-t1):.0f}/s)")
