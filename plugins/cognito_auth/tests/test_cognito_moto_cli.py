"""`python -m salon_cognito_auth.testing ENDPOINT`, as deploy/localstack/README.md's "Cognito on
moto" block runs it: a pool and app client on moto, printed as exports a shell can eval."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from salon.testing.moto import MotoServer
from salon_cognito_auth.testing import cognito_client

README = Path(__file__).resolve().parents[3] / "deploy" / "localstack" / "README.md"


def test_the_module_makes_a_pool_and_prints_its_exports(moto: MotoServer) -> None:
    command = f"{sys.executable} -m salon_cognito_auth.testing {moto.endpoint_url}/"
    dump = subprocess.run(
        ["bash", "-c", f'eval "$({command})" && env -0'],
        capture_output=True,
        check=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout.decode()
    env = dict(item.split("=", 1) for item in dump.split("\0") if "=" in item)
    assert env["SALON_AUTH"] == "cognito"
    pool_id = env["SALON_COGNITO_USER_POOL_ID"]
    assert env["SALON_COGNITO_JWKS_URL"] == f"{moto.endpoint_url}/{pool_id}/.well-known/jwks.json"
    client = cognito_client(moto.endpoint_url).describe_user_pool_client(
        UserPoolId=pool_id, ClientId=env["SALON_COGNITO_CLIENT_ID"]
    )["UserPoolClient"]
    assert "ALLOW_USER_PASSWORD_AUTH" in client["ExplicitAuthFlows"], client


def test_the_readme_block_syncs_first_and_needs_no_aws_cli() -> None:
    text = README.read_text().split("## Cognito on moto", 1)[1].split("\n## ", 1)[0]
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert lines[0].startswith("make sync"), lines
    assert any("-m salon_cognito_auth.testing" in line for line in lines), lines
    assert not any(line.startswith("aws ") for line in lines), lines
    assert "any code" in text  # where the sign-up code comes from on moto
