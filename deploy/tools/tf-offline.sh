#!/usr/bin/env bash
# Offline Terraform: write a CLI config that installs hashicorp/* providers only from a local
# filesystem mirror, and print its path:
#
#   export TF_CLI_CONFIG_FILE="$(bash deploy/tools/tf-offline.sh)"
#
# Without a mirror it prints nothing (an empty TF_CLI_CONFIG_FILE is Terraform's default: the
# registry) and says so on stderr, so the line above is harmless on a connected machine.
#
# The mirror is $TF_PLUGIN_MIRROR, default deploy/.tools/tf-plugins. Fill that once, on a
# machine that reaches the Terraform registry:
#
#   terraform -chdir=deploy/terraform/examples/production providers mirror "$PWD/deploy/.tools/tf-plugins"
#
# With registry access none of this is needed: plain `terraform init` downloads the providers.
set -euo pipefail
DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MIRROR="${TF_PLUGIN_MIRROR:-$DEPLOY_DIR/.tools/tf-plugins}"
if [[ ! -d "$MIRROR/registry.terraform.io/hashicorp/aws" ]]; then
    echo "tf-offline: no provider mirror at $MIRROR: Terraform will use the registry." >&2
    echo "  To work offline, fill it once: terraform -chdir=deploy/terraform/examples/production" \
        "providers mirror \"$MIRROR\" (or set TF_PLUGIN_MIRROR to a mirror you have)" >&2
    exit 0
fi
CONFIG="$DEPLOY_DIR/.tools/cli.tfrc"
mkdir -p "$(dirname "$CONFIG")"
cat >"$CONFIG" <<TFRC
disable_checkpoint = true
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/*"]
  }
}
TFRC
echo "$CONFIG"
