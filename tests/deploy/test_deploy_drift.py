"""Terraform that keeps planning clean after day one: no pinned RDS minor version under
automatic minor upgrades, no NAT instance replaced on each new AMI, and the Spot worker created
only after FARGATE_SPOT is associated with the cluster. Offline: reads the HCL."""

from __future__ import annotations

import re

from deploy_support import MODULES, TfDir, unquote


def test_rds_engine_version_is_a_major_version_only(module_dirs: dict[str, TfDir]) -> None:
    (variables,) = [
        block
        for block in module_dirs["database"].files["variables.tf"]["variable"]
        if '"engine_version"' in block
    ]
    default = unquote(variables['"engine_version"']["default"])
    assert default.isdigit(), f"engine_version {default!r} pins a minor version RDS will move past"
    main = (MODULES / "database" / "main.tf").read_text()
    assert "auto_minor_version_upgrade          = true" in main


def test_nat_instance_ignores_new_amis() -> None:
    main = (MODULES / "network" / "main.tf").read_text()
    instance = main.split('resource "aws_instance" "nat"', 1)[1].split("\nresource ", 1)[0]
    assert "ignore_changes = [ami]" in instance


def test_cluster_outputs_wait_for_the_capacity_providers() -> None:
    outputs = (MODULES / "cluster" / "outputs.tf").read_text()
    arn = outputs.split('output "cluster_arn"', 1)[1].split("\noutput ", 1)[0]
    name = outputs.split('output "cluster_name"', 1)[1].split("\noutput ", 1)[0]
    assert "depends_on  = [aws_ecs_cluster_capacity_providers.this]" in arn
    assert "aws_ecs_cluster_capacity_providers.this.cluster_name" in name


def test_database_tls_checks_the_certificate_and_host_name() -> None:
    """ssl=require encrypts but trusts any certificate; verify-full needs the RDS CA bundle,
    which the image carries where the tasks' PGSSLROOTCERT points (asyncpg reads it)."""
    database = (MODULES / "database" / "main.tf").read_text()
    assert "?ssl=verify-full" in database and "ssl=require" not in database
    example = (MODULES.parent / "examples" / "production" / "main.tf").read_text()
    (path,) = re.findall(r'PGSSLROOTCERT\s*=\s*"([^"]+)"', example)
    dockerfile = (MODULES.parents[1] / "docker" / "Dockerfile").read_text()
    assert path in dockerfile and "COPY --from=build /opt/rds-ca /opt/rds-ca" in dockerfile
    assert "truststore.pki.rds.amazonaws.com" in dockerfile
