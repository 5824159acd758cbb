#!/usr/bin/env bash
# Run checkov, pinned, from its own virtual environment (deploy/.tools/checkov-venv).
#
#   bash deploy/tools/checkov.sh --install-only        # build the venv, run nothing
#   bash deploy/tools/checkov.sh -d deploy/terraform --framework terraform
#
# --skip-download keeps it offline: no Prisma Cloud policy download, no version check.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"

CHECKOV_VERSION="3.3.30"
ensure_tool_venv checkov "checkov==$CHECKOV_VERSION"

if [ "${1:-}" = "--install-only" ]; then
    exit 0
fi
export BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false LOG_LEVEL="${LOG_LEVEL:-WARNING}"
exec "$TOOL_VENV/bin/checkov" --skip-download "$@"
