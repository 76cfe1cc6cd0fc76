"""botocore as a long-running child of `vault exec`: ITERATIONS calls of sts get-caller-identity.

  .venv/bin/python tests/probes/botocore_probe.py ITERATIONS PAUSE_MS

One botocore session for the whole run, so its credential provider chain (container endpoint,
instance metadata, ...) and its RefreshableCredentials decide when to fetch again, as in a
long-lived Python program. Prints `ok <access key id> <arn>` per call, the key being the one that
signed it; exits 1 at the first failure. (botocore refreshes when fewer than 15 minutes are
left, and must when fewer than 10: with sessions of seconds it fetches again on every call.)
A call signed with a credential that had already expired when it was sent is a failure too
(moto would accept it, AWS would not).
"""

import datetime
import os
import sys
import time

import botocore.session
from dateutil.tz import tzutc


def main():
    if len(sys.argv) != 3:
        print("usage: botocore_probe.py ITERATIONS PAUSE_MS", file=sys.stderr)
        return 2
    iterations, pause = int(sys.argv[1]), int(sys.argv[2]) / 1000
    session = botocore.session.get_session()
    client = session.create_client(
        "sts",
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
    )
    credentials = session.get_credentials()
    if credentials is None:
        print("failed: botocore found no credentials", flush=True)
        return 1
    for i in range(iterations):
        try:
            sent = datetime.datetime.now(tzutc())
            arn = client.get_caller_identity()["Arn"]
            key = credentials.get_frozen_credentials().access_key
            # The expiry of the credential just used (RefreshableCredentials keeps it privately).
            expiry = getattr(credentials, "_expiry_time", None)
            if expiry is not None and expiry <= sent:
                print(f"failed at iteration {i}: {key} had expired when the call was sent", flush=True)
                return 1
        except Exception as e:  # every failure is the finding, whatever its type
            print(f"failed at iteration {i}: {e}", flush=True)
            return 1
        print(f"ok {key} {arn}", flush=True)
        if i + 1 < iterations:
            time.sleep(pause)
    return 0


if __name__ == "__main__":
    sys.exit(main())
