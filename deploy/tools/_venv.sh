# Shared helper for deploy/tools/*.sh: make (once) a private virtual environment for one tool.
#
# Tools such as checkov pin libraries that clash with the project's own dev dependencies
# (checkov and python-hcl2 >= 8 both install a module named `hcl2`), so each lives in its own
# venv under deploy/.tools/, created on first use and re-created when the pinned spec changes.
# Usage (sourced): ensure_tool_venv <name> <pip requirement...>; sets TOOL_VENV.

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$DEPLOY_DIR/.." && pwd)"

_pick_python() {
    # checkov 3.3 and terraform-local support 3.9-3.12; the project's Python (3.11) is preferred.
    local candidate
    for candidate in "${TOOL_PYTHON:-}" python3.11 python3.12 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

ensure_tool_venv() {
    local name="$1"
    shift
    local spec="$*"
    TOOL_VENV="$DEPLOY_DIR/.tools/$name-venv"
    mkdir -p "$DEPLOY_DIR/.tools"
    # One installer at a time: parallel test workers may ask for the same tool together.
    exec 9>"$DEPLOY_DIR/.tools/$name.lock"
    flock 9
    if [ -f "$TOOL_VENV/.spec" ] && [ "$(cat "$TOOL_VENV/.spec")" = "$spec" ]; then
        flock -u 9
        return 0
    fi
    rm -rf "$TOOL_VENV"
    local python uv
    python="$(_pick_python)" || { echo "no python3 found to build $name" >&2; return 1; }
    uv="$(command -v uv 2>/dev/null || true)"
    [ -n "$uv" ] || { [ -x "$REPO_DIR/.tools/bin/uv" ] && uv="$REPO_DIR/.tools/bin/uv"; }
    echo "installing $spec into $TOOL_VENV (first use only)" >&2
    if [ -n "$uv" ]; then
        "$uv" venv --quiet --python "$python" "$TOOL_VENV" >&2
        # shellcheck disable=SC2086
        VIRTUAL_ENV="$TOOL_VENV" "$uv" pip install --quiet $spec >&2
    else
        "$python" -m venv "$TOOL_VENV" >&2
        # shellcheck disable=SC2086
        "$TOOL_VENV/bin/pip" install --quiet --disable-pip-version-check $spec >&2
    fi
    echo "$spec" >"$TOOL_VENV/.spec"
    flock -u 9
}
