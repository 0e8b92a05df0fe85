#!/usr/bin/env python3
"""botocore's SigV4 signatures for a table of requests (JSON on stdin, JSON on stdout), with
fixed credentials and time: the reference RunwayAWS's signer is tested against."""
import datetime
import json
import sys
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

rows = json.load(sys.stdin)
out = []
for row in rows:
    credentials = Credentials(row["accessKeyID"], row["secretAccessKey"], row.get("sessionToken"))
    request = AWSRequest(method=row["method"], url=row["url"], data=row.get("body", "").encode(), headers=row.get("headers", {}))
    when = datetime.datetime.fromtimestamp(row["time"], tz=datetime.timezone.utc).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        SigV4Auth(credentials, row["service"], row["region"]).add_auth(request)
    out.append({"authorization": request.headers["Authorization"], "amzDate": request.headers["X-Amz-Date"]})
json.dump(out, sys.stdout)
