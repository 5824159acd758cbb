"""moto's S3 server over HTTPS for the browser tests.

The page's CSP lets uploads and images reach ``https:`` origins only, as in production, so the
stand-in for S3 must speak HTTPS: a self-signed certificate for 127.0.0.1 is made with openssl,
boto3 (in Salon) trusts it through ``AWS_CA_BUNDLE``, and the browser context ignores HTTPS
errors.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

BUCKET = "salon-e2e"
ROOT = Path(__file__).resolve().parents[2]


def _certificate(folder: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is missing: it makes the certificate for moto's HTTPS endpoint")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert),
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


def moto_s3(stack: ExitStack, folder: Path) -> tuple[dict[str, str], str]:
    """Start moto (stopped by ``stack``), make the bucket with a CORS rule for browser POSTs;
    answer Salon's environment for it and the endpoint URL."""
    from .conftest import _stop, free_port

    try:
        import boto3
    except ImportError:
        pytest.skip("boto3 is missing: install salon-aws-storage to test S3 uploads")
    found = shutil.which("moto_server")
    moto = Path(found) if found else ROOT / ".venv" / "bin" / "moto_server"
    if not moto.exists():
        pytest.skip("moto_server is missing (moto[server] is a dev dependency)")
    cert, key = _certificate(folder)
    port = free_port()
    endpoint = f"https://127.0.0.1:{port}"
    log = stack.enter_context((folder / "moto.log").open("wb"))
    process = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port), "-c", str(cert), "-k", str(key)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack.callback(_stop, process)
    trust = ssl.create_default_context(cafile=cert)
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(endpoint, verify=trust, timeout=2)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(f"moto_server did not start: {(folder / 'moto.log').read_text()}")
            time.sleep(0.3)
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        verify=str(cert),
    )
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_cors(
        Bucket=BUCKET,
        CORSConfiguration={
            "CORSRules": [{"AllowedMethods": ["POST", "GET"], "AllowedOrigins": ["*"]}]
        },
    )
    env = {
        "SALON_STORAGE": "s3",
        "SALON_S3_BUCKET": BUCKET,
        "SALON_S3_ADDRESSING_STYLE": "path",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_CA_BUNDLE": str(cert),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return env, endpoint
