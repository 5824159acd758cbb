#!/usr/bin/env bash
# Offline Terraform: write a CLI config that installs hashicorp/* providers only from a local
# filesystem mirror, and print its path:
#
#   export TF_CLI_CONFIG_FILE="$(bash deploy/tools/tf-offline.sh)"
#
# The mirror is the first of these that holds registry.terraform.io/hashicorp/aws:
#   1. $TF_PLUGIN_MIRROR
#   2. deploy/.tools/tf-plugins (the repository's own, ignored by git)
#   3. Terraform's implied local mirror folders: ~/.terraform.d/plugins,
#      ${XDG_DATA_HOME:-~/.local/share}/terraform/plugins, /usr/local/share/terraform/plugins,
#      /usr/share/terraform/plugins
#   4. /opt/tf-plugins (a machine-wide mirror some CI images carry)
# (TF_OFFLINE_SYSTEM_MIRRORS, colon-separated, replaces the machine-wide folders of 3 and 4:
# the tests use it to see the "no mirror" case on a machine that has one.)
#
# Without a mirror it prints nothing on stdout (an empty TF_CLI_CONFIG_FILE is Terraform's
# default: the registry), so the line above is harmless on a connected machine; on stderr it
# lists where it looked and ends with one plain line saying how to fill a mirror, once, on a
# machine that reaches the registry:
#
#   terraform -chdir=deploy/terraform/examples/production providers mirror "$PWD/deploy/.tools/tf-plugins"
set -euo pipefail
DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

candidates() {
    [[ -n "${TF_PLUGIN_MIRROR:-}" ]] && echo "$TF_PLUGIN_MIRROR"
    echo "$DEPLOY_DIR/.tools/tf-plugins"
    [[ -n "${HOME:-}" ]] && echo "$HOME/.terraform.d/plugins"
    if [[ -n "${XDG_DATA_HOME:-}" ]]; then echo "$XDG_DATA_HOME/terraform/plugins"
    elif [[ -n "${HOME:-}" ]]; then echo "$HOME/.local/share/terraform/plugins"
    fi
    local system="/usr/local/share/terraform/plugins:/usr/share/terraform/plugins:/opt/tf-plugins"
    tr ':' '\n' <<<"${TF_OFFLINE_SYSTEM_MIRRORS-$system}" | grep -v '^$' || true
}

MIRROR=""
LOOKED=()
while IFS= read -r candidate; do
    LOOKED+=("$candidate")
    if [[ -d "$candidate/registry.terraform.io/hashicorp/aws" ]]; then
        MIRROR="$candidate"
        break
    fi
done < <(candidates)

if [[ -z "$MIRROR" ]]; then
    {
        echo "tf-offline: looked for a provider mirror (registry.terraform.io/hashicorp/aws) in:"
        printf '  %s\n' "${LOOKED[@]}"
        echo "tf-offline: NO PROVIDER MIRROR: terraform init will download providers from registry.terraform.io." \
            "Offline, point TF_PLUGIN_MIRROR at a mirror, or fill one where the registry answers:" \
            "terraform -chdir=deploy/terraform/examples/production providers mirror \"$DEPLOY_DIR/.tools/tf-plugins\""
    } >&2
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
echo "tf-offline: providers from the mirror $MIRROR" >&2
echo "$CONFIG"
