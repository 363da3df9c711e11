"""EKS bearer tokens, the way ``aws eks get-token`` makes them, without the AWS CLI.

An EKS API server authenticates a request by calling STS with a presigned GetCallerIdentity URL
that the client sends as its bearer token. The URL is signed with the header
``x-k8s-aws-id: <cluster>`` so a token for one cluster is useless for another. kfdeploy's
kubeconfig runs ``python -m kfdeploy.platforms.eks_token --cluster NAME --region R`` as its exec
credential plugin, so users need neither the AWS CLI nor aws-iam-authenticator.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

CLUSTER_ID_HEADER = "x-k8s-aws-id"
TOKEN_PREFIX = "k8s-aws-v1."
URL_EXPIRES = 60
# EKS accepts a token for 15 minutes; clients refresh a minute early, as the AWS CLI does.
TOKEN_LIFETIME = timedelta(minutes=14)
ENDPOINT_ENV = "KFDEPLOY_AWS_ENDPOINT"
EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"


def make_client(session: Any, service: str, region: str) -> Any:
    """A boto3 client; ``$KFDEPLOY_AWS_ENDPOINT`` sends every service to one endpoint (a local
    fake such as moto in server mode)."""
    endpoint = os.environ.get(ENDPOINT_ENV) or None
    return session.client(service, region_name=region, endpoint_url=endpoint)


def presigned_url(sts: Any, cluster: str) -> str:
    """A GET URL for sts:GetCallerIdentity, signed with the cluster id header, valid 60 s."""
    def take_id(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if CLUSTER_ID_HEADER in params:
            context[CLUSTER_ID_HEADER] = params.pop(CLUSTER_ID_HEADER)

    def add_header(request: Any, **_: Any) -> None:
        if CLUSTER_ID_HEADER in request.context:
            request.headers[CLUSTER_ID_HEADER] = request.context[CLUSTER_ID_HEADER]

    events = sts.meta.events
    events.register("provide-client-params.sts.GetCallerIdentity", take_id)
    events.register("before-sign.sts.GetCallerIdentity", add_header)
    try:
        url: str = sts.generate_presigned_url(
            "get_caller_identity", Params={CLUSTER_ID_HEADER: cluster}, ExpiresIn=URL_EXPIRES,
            HttpMethod="GET")
    finally:
        events.unregister("provide-client-params.sts.GetCallerIdentity", take_id)
        events.unregister("before-sign.sts.GetCallerIdentity", add_header)
    return url


def token_from_url(url: str) -> str:
    """``k8s-aws-v1.`` + the URL in URL-safe base64 without padding."""
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def get_token(session: Any, cluster: str, region: str) -> str:
    """A bearer token for the EKS cluster, signed with the session's credentials."""
    return token_from_url(presigned_url(make_client(session, "sts", region), cluster))


def exec_credential(token: str, now: datetime, api_version: str = EXEC_API_VERSION
                    ) -> dict[str, Any]:
    """The ExecCredential a kubeconfig exec plugin prints."""
    expires = (now + TOKEN_LIFETIME).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"kind": "ExecCredential", "apiVersion": api_version, "spec": {},
            "status": {"expirationTimestamp": expires, "token": token}}


def requested_api_version(env: dict[str, str]) -> str:
    """The apiVersion the caller asked for in KUBERNETES_EXEC_INFO (kubectl sets it)."""
    try:
        return str(json.loads(env["KUBERNETES_EXEC_INFO"])["apiVersion"])
    except (KeyError, ValueError, TypeError):
        return EXEC_API_VERSION


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kfdeploy.platforms.eks_token",
                                     description="Print an ExecCredential for an EKS cluster.")
    parser.add_argument("--cluster", required=True, help="EKS cluster name")
    parser.add_argument("--region", required=True, help="AWS region of the cluster")
    args = parser.parse_args(argv)
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError
    try:
        token = get_token(boto3.Session(), args.cluster, args.region)
    except (BotoCoreError, ClientError) as e:
        print(f"kfdeploy: cannot make an EKS token for cluster {args.cluster}: {e}\n"
              "  hint: check the AWS credentials with `aws sts get-caller-identity`",
              file=sys.stderr)
        return 1
    credential = exec_credential(token, datetime.now(UTC),
                                 requested_api_version(dict(os.environ)))
    print(json.dumps(credential))
    return 0


if __name__ == "__main__":
    sys.exit(main())
