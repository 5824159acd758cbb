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
if [[ " $* " == *" init "* && -z "${TF_CLI_CONFIG_FILE:-}" ]]; then
    # The last word after tflocal's banners and Terraform's error: an offline init fails on
    # the registry, and tf-offline.sh's hint is far above by then.
    "$TOOL_VENV/bin/tflocal" "$@" && exit 0 || status=$?
    echo "tflocal: init failed with no provider mirror configured (TF_CLI_CONFIG_FILE is empty)." \
        "Without the Terraform registry: export TF_CLI_CONFIG_FILE=\"\$(bash deploy/tools/tf-offline.sh)\"" \
        "(it says where it looks for a mirror)." >&2
    exit "$status"
fi
exec "$TOOL_VENV/bin/tflocal" "$@"
