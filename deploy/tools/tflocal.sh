#!/usr/bin/env bash
# Run tflocal (PyPI terraform-local, pinned) from its own virtual environment
# (deploy/.tools/tflocal-venv). tflocal wraps the terraform on PATH and points the AWS
# provider at LocalStack.
#
#   bash deploy/tools/tflocal.sh --install-only
#   bash deploy/tools/tflocal.sh -chdir=deploy/terraform/examples/localstack apply
#
# Host-mode LocalStack answers on 127.0.0.1:$LOCALSTACK_PORT (default 4566, as for
# deploy/localstack/run.sh); S3_HOSTNAME keeps tflocal from using its default public DNS name
# for S3 (which needs internet access to resolve).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"

TFLOCAL_VERSION="0.27.0"
ensure_tool_venv tflocal "terraform-local==$TFLOCAL_VERSION"

if [ "${1:-}" = "--install-only" ]; then
    exit 0
fi
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:${LOCALSTACK_PORT:-4566}}"
export S3_HOSTNAME="${S3_HOSTNAME:-127.0.0.1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
exec "$TOOL_VENV/bin/tflocal" "$@"
