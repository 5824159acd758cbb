#!/usr/bin/env bash
# Host-mode LocalStack for Salon (no Docker needed): `run.sh start|stop|status|install`.
#
# start   installs LocalStack into its own virtual environment on first use (it is a tool, not
#         a Salon dependency), starts it on 127.0.0.1:$LOCALSTACK_PORT (default 4566) in the
#         background, waits until healthy, creates bucket salon-media (with a CORS rule, so the
#         browser can upload straight into it) and queue salon-jobs (+ DLQ), and prints on
#         stdout the `export` lines that point Salon at it:
#             eval "$(bash deploy/localstack/run.sh start)"
#         A LocalStack this script started earlier on that port is reused. Anything else on the
#         port is left alone: start fails and says so, unless LOCALSTACK_EXTERNAL_URL names it.
# stop    stops the LocalStack this script started on that port (pidfile), TERM then KILL
#         after 20 s. It never stops one it did not start.
# status  prints whether it answers, and exits 0 only when healthy.
#
# Settings (environment; none starts with SALON_, which Salon keeps for its own settings):
#   LOCALSTACK_PORT          port to listen on (default 4566)
#   LOCALSTACK_HOST_ADDR     address to listen on (default 127.0.0.1)
#   LOCALSTACK_EXTERNAL_URL  use this already running LocalStack (create the resources there,
#                            print the exports); start and stop never start or stop it
#   LOCALSTACK_CORS_ORIGINS  origins the bucket's CORS rule allows, comma-separated (default
#                            `*`: any local port may upload; fine for a local emulator only)
#   LOCALSTACK_STATE_DIR     pidfile, log and data (default deploy/localstack/.state/<port>)
#   LOCALSTACK_SERVICES      services to run (default: s3,sqs,iam,sts and those the production
#                            example's LocalStack apply needs: ec2,kms,sns,secretsmanager,
#                            logs,cloudwatch,ssm)
#   LOCALSTACK_VENV          LocalStack's virtual environment (default deploy/localstack/.venv)
#   LOCALSTACK_START_TIMEOUT seconds to wait for health (default 90)
#
# Versions, pins and what LocalStack offers here: deploy/localstack/README.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${LOCALSTACK_VENV:-$HERE/.venv}"
HOST="${LOCALSTACK_HOST_ADDR:-127.0.0.1}"
PORT="${LOCALSTACK_PORT:-4566}"
EXTERNAL="${LOCALSTACK_EXTERNAL_URL:-}"
URL="${EXTERNAL:-http://$HOST:$PORT}"
URL="${URL%/}"
STATE="${LOCALSTACK_STATE_DIR:-$HERE/.state/$PORT}"
# What the app needs (s3, sqs, iam, sts) and what the production example's LocalStack apply
# needs besides (tests/deploy/test_deploy_localstack_production.py). Loaded lazily
# (EAGER_SERVICE_LOADING=0), so the extra names cost nothing until used.
SERVICES="${LOCALSTACK_SERVICES:-s3,sqs,iam,sts,ec2,kms,sns,secretsmanager,logs,cloudwatch,ssm}"
PIDFILE="$STATE/localstack.pid"
LOG="$STATE/localstack.log"
VERSION_NEW="2026.3.0"   # needs Python >= 3.12
VERSION_OLD="4.6.0"      # starts on Python 3.11
START_TIMEOUT="${LOCALSTACK_START_TIMEOUT:-90}"

log() { echo "localstack: $*" >&2; }

# `eval "$(run.sh start)"` evaluates stdout: on failure print `false`, so the eval fails too
# (and `set -e` scripts stop) instead of silently leaving Salon on its local defaults.
fail() {
    log "$*"
    echo "false"
    exit 1
}

healthy() {
    curl -fsS --max-time 2 "$URL/_localstack/health" >/dev/null 2>&1
}

# True when something accepts connections on HOST:PORT (LocalStack or not).
port_in_use() {
    (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
}

find_uv() {
    if command -v uv >/dev/null 2>&1; then command -v uv
    elif [[ -x "$ROOT/.tools/bin/uv" ]]; then echo "$ROOT/.tools/bin/uv"
    fi
}

# True when "$1" is a working interpreter of at least Python "$2" (pyenv shims may not be).
works() {
    [[ -n "$1" ]] && "$1" -c "import sys; sys.exit(sys.version_info < tuple(map(int, '$2'.split('.'))))" \
        >/dev/null 2>&1
}

# Prints "<python> <localstack version> <constraints file>" for the best interpreter found.
choose_python() {
    local uv candidate version
    uv="$(find_uv)"
    for version in 3.13 3.12 3.11; do
        for candidate in \
            "$( [[ -n "$uv" ]] && "$uv" python find "$version" 2>/dev/null || true)" \
            "$(command -v "python$version" || true)" \
            "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/python; do
            if works "$candidate" "$version"; then
                if [[ "$version" == 3.11 ]]; then
                    echo "$candidate $VERSION_OLD $HERE/constraints-py311.txt"
                else
                    echo "$candidate $VERSION_NEW $HERE/constraints.txt"
                fi
                return 0
            fi
        done
    done
    log "no working Python 3.11-3.13 found; LocalStack cannot be installed"
    return 1
}

install() {
    local python version constraints stamp uv choice
    choice="$(choose_python)" || return 1
    read -r python version constraints <<<"$choice"
    stamp="$VENV/.salon-installed"
    local want="$version $(sha256sum "$constraints" | cut -c1-16)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return 0
    fi
    log "installing localstack-core[runtime]==$version with $python (about a minute)"
    rm -rf "$VENV"
    uv="$(find_uv)"
    if [[ -n "$uv" ]]; then
        "$uv" venv --quiet --python "$python" "$VENV"
        "$uv" pip install --quiet --python "$VENV/bin/python" -c "$constraints" \
            "localstack-core[runtime]==$version" service_identity
    else
        "$python" -m venv "$VENV"
        "$VENV/bin/pip" install --quiet -c "$constraints" \
            "localstack-core[runtime]==$version" service_identity
    fi
    echo "$want" >"$stamp"
}

running_pid() {
    [[ -f "$PIDFILE" ]] || return 1
    local pid
    pid="$(cat "$PIDFILE")"
    # A stale pidfile may name a pid now used by another program: check it is LocalStack.
    if kill -0 "$pid" 2>/dev/null && grep -q "localstack.runtime.main" "/proc/$pid/cmdline" 2>/dev/null
    then
        echo "$pid"
    else
        return 1
    fi
}

# Create the bucket (with CORS) and queues, and print the exports on stdout.
bootstrap() {
    local python
    for python in "$VENV/bin/python" "$ROOT/.venv/bin/python" "$(command -v python3 || true)"; do
        [[ -x "$python" ]] && "$python" -c "import boto3" 2>/dev/null && break
        python=""
    done
    [[ -n "$python" ]] || fail "no Python with boto3 found to create the bucket and queue"
    LOCALSTACK_URL="$URL" "$python" "$HERE/bootstrap.py" || fail "creating the resources failed"
}

start() {
    if [[ -n "$EXTERNAL" ]]; then
        healthy || fail "no LocalStack answers at LOCALSTACK_EXTERNAL_URL=$EXTERNAL"
        log "using the LocalStack at $URL (LOCALSTACK_EXTERNAL_URL; not started here)"
        bootstrap
        return 0
    fi
    mkdir -p "$STATE"
    local pid
    if pid="$(running_pid)"; then
        if healthy; then
            log "already running at $URL (pid $pid, started by this script)"
            bootstrap
            return 0
        fi
        log "process $pid from an earlier start is alive but not healthy; stopping it"
        stop
    fi
    rm -f "$PIDFILE"
    if port_in_use; then
        fail "$HOST:$PORT is in use by a process this script did not start; it is left alone." \
            "Choose another port (export LOCALSTACK_PORT=4600) or, to use a LocalStack" \
            "already there, export LOCALSTACK_EXTERNAL_URL=http://$HOST:$PORT"
    fi
    install >&2 || fail "LocalStack could not be installed"
    log "starting at $URL (log: $LOG)"
    # setsid: its own session and process group, so `stop` can end it and its children.
    # GATEWAY_SERVER=hypercorn: LocalStack's default server (twisted) listens on every
    # address whatever GATEWAY_LISTEN's host says; hypercorn binds the one given.
    DISABLE_EVENTS=1 \
    GATEWAY_LISTEN="$HOST:$PORT" \
    GATEWAY_SERVER=hypercorn \
    SERVICES="$SERVICES" \
    LOCALSTACK_VOLUME_DIR="$STATE/volume" \
    S3_SKIP_SIGNATURE_VALIDATION=0 \
    LOCALSTACK_HOST="$HOST:$PORT" \
    SQS_ENDPOINT_STRATEGY=off \
    EAGER_SERVICE_LOADING=0 \
        setsid "$VENV/bin/python" -m localstack.runtime.main >"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    local waited=0
    until healthy; do
        if ! running_pid >/dev/null; then
            log "exited during start-up; last lines of $LOG:"
            tail -n 30 "$LOG" >&2 || true
            rm -f "$PIDFILE"
            fail "LocalStack did not start"
        fi
        if (( waited >= START_TIMEOUT )); then
            stop
            fail "not healthy after ${START_TIMEOUT}s; see $LOG"
        fi
        sleep 1
        waited=$((waited + 1))
    done
    log "healthy after ${waited}s"
    bootstrap
}

stop() {
    local pid
    if [[ -n "$EXTERNAL" ]]; then
        log "LOCALSTACK_EXTERNAL_URL=$EXTERNAL was not started by this script; leaving it alone"
        return 0
    fi
    if ! pid="$(running_pid)"; then
        rm -f "$PIDFILE"
        if healthy; then
            log "a LocalStack not started by this script answers at $URL; leaving it alone"
        else
            log "not running at $URL"
        fi
        return 0
    fi
    log "stopping process group $pid"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "still alive after 20 s; killing"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    log "stopped"
}

status() {
    local pid
    pid="$(running_pid || true)"
    if healthy; then
        log "healthy at $URL${pid:+ (pid $pid, started by this script)}"
        curl -fsS --max-time 2 "$URL/_localstack/health"
        echo
        return 0
    fi
    log "not answering at $URL"
    return 1
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    install) install ;;
    *) echo "usage: $0 start|stop|status|install" >&2; exit 2 ;;
esac
