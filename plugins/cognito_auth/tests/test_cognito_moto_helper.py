"""salon.testing.moto, the helper these tests (and other plugins' tests) start moto with.

moto's state is process-wide, so resetting here would wipe resources other tests in this
process hold; the reset is exercised in a child process instead.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from salon.testing.moto import MotoServer

SCRIPT = textwrap.dedent(
    """
    import boto3
    from salon.testing.moto import moto_server

    with moto_server() as moto:
        assert moto.port > 0
        assert moto.endpoint_url == f"http://127.0.0.1:{moto.port}"
        client = boto3.client(
            "cognito-idp", region_name="us-east-1", endpoint_url=moto.endpoint_url,
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )
        client.create_user_pool(PoolName="to-be-forgotten")
        assert client.list_user_pools(MaxResults=60)["UserPools"]
        moto.reset()
        assert client.list_user_pools(MaxResults=60)["UserPools"] == []
    print("reset ok")
    """
)


def test_reset_forgets_every_resource() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "reset ok" in result.stdout


def test_server_listens_on_its_own_port(moto: MotoServer) -> None:
    assert moto.host == "127.0.0.1"
    assert moto.port > 0
    assert moto.endpoint_url == f"http://127.0.0.1:{moto.port}"
