"""The management API's signer gives the signature botocore's SigV4 signer gives for the same request."""
from __future__ import annotations

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from order_engine.adapters.aws.management_api import ManagementApiSigner


def botocore_headers(credentials: Credentials, region: str, url: str, body: bytes) -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, data=body)
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize("endpoint, credentials", [
    ("https://abc123.execute-api.eu-west-1.amazonaws.com/prod", Credentials("AKIDEXAMPLE", "secret/key+1")),
    ("https://abc123.execute-api.us-east-2.amazonaws.com/prod/", Credentials("ASIAEXAMPLE", "s3cr3t", "session-token")),
    ("http://127.0.0.1:3001/local", Credentials("local", "local")),
])
@pytest.mark.parametrize("connection_id", ["L0SM9cOFvHcCIhw=", "abc+/x y", "plain"])
def test_the_signature_is_botocores(endpoint, credentials, connection_id):
    signer = ManagementApiSigner(endpoint, credentials)
    url, body = signer.url(connection_id), b'{"type":"status","seq":1}'
    expected = botocore_headers(credentials, signer.region, url, body)
    assert signer.headers("POST", url, body, amz_date=expected["X-Amz-Date"]) == expected


def test_the_signing_key_follows_the_day():
    credentials = Credentials("AKIDEXAMPLE", "secret")
    signer = ManagementApiSigner("https://abc123.execute-api.eu-west-1.amazonaws.com/prod", credentials)
    url = signer.url("c1")
    first = signer.headers("POST", url, b"{}", amz_date="20260101T235959Z")
    second = signer.headers("POST", url, b"{}", amz_date="20260102T000001Z")
    assert "20260102/eu-west-1" in second["Authorization"]
    for amz_date, headers in (("20260101T235959Z", first), ("20260102T000001Z", second)):
        request = AWSRequest(method="POST", url=url, data=b"{}")
        request.context["timestamp"] = amz_date
        auth = SigV4Auth(credentials.get_frozen_credentials(), "execute-api", "eu-west-1")
        request.headers["X-Amz-Date"] = amz_date
        canonical = auth.canonical_request(request)
        assert headers["Authorization"].endswith(auth.signature(auth.string_to_sign(request, canonical), request))
