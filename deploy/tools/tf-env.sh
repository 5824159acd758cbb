#!/usr/bin/env bash
# Print a Terraform map output (default `app_environment`) as `export K=V` lines, quoted for
# the shell, so that the settings a stack made can be put into the current shell:
#
#   eval "$(bash deploy/tools/tf-env.sh)"                    # in the Terraform folder
#   eval "$(bash deploy/tools/tf-env.sh -chdir=DIR [OUTPUT])"
#
# SALON_PUBLIC_URL is overridable: one already exported is kept, else with PORT exported it
# becomes http://127.0.0.1:$PORT (as `make run PORT=...` serves), else the output's value. An
# override that differs from the output's is warned about on stderr: the LocalStack example's
# bucket lets browsers upload only from its public_url (apply with -var public_url=... then).
# On failure it prints `false` on stdout, so the eval fails too (and a `&&` chain stops).
set -euo pipefail

fail() {
    echo "tf-env: $*" >&2
    echo "false"
    exit 1
}

CHDIR=()
if [[ "${1:-}" == -chdir=* ]]; then
    CHDIR=("$1")
    shift
fi
OUTPUT="${1:-app_environment}"
command -v terraform >/dev/null || fail "terraform is not on PATH"
PYTHON="$(command -v python3 || true)"
[[ -n "$PYTHON" ]] || fail "python3 is not on PATH"
JSON="$(terraform "${CHDIR[@]}" output -json "$OUTPUT")" || fail "no output $OUTPUT (applied yet?)"

TF_ENV_JSON="$JSON" "$PYTHON" - <<'PY' || fail "output $OUTPUT is not a map of settings"
import json, os, re, shlex, sys

settings = json.loads(os.environ["TF_ENV_JSON"])
if not isinstance(settings, dict):
    sys.exit(1)
stack_url = settings.get("SALON_PUBLIC_URL")
if os.environ.get("SALON_PUBLIC_URL"):
    settings["SALON_PUBLIC_URL"] = os.environ["SALON_PUBLIC_URL"]
elif os.environ.get("PORT") and stack_url is not None:
    settings["SALON_PUBLIC_URL"] = f"http://127.0.0.1:{os.environ['PORT']}"
url = settings.get("SALON_PUBLIC_URL")
if stack_url is not None and url != stack_url:
    print(
        f"tf-env: SALON_PUBLIC_URL={url}, but the stack was applied for {stack_url}: browser"
        f" uploads need it applied with -var public_url={url} (its bucket's CORS rule)",
        file=sys.stderr,
    )
bad = [key for key in settings if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key)]
if bad:
    sys.exit(f"not variable names: {bad}")
for key, value in settings.items():
    print(f"export {key}={shlex.quote(str(value))}")
PY
