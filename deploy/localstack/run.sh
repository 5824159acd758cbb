#!/usr/bin/env bash
# Host-mode LocalStack for Salon (no Docker needed): `run.sh start|stop|status`.
#
# start   installs LocalStack into deploy/localstack/.venv on first use (its own interpreter:
#         it is a tool, not a Salon dependency), starts it on 127.0.0.1:4566 in the background,
#         waits until healthy and creates bucket salon-media and queue salon-jobs (+ DLQ).
#         A LocalStack already healthy on that address is reused. Prints the `export` lines
#         that point Salon at it, so `eval "$(bash deploy/localstack/run.sh start)"` works.
# stop    stops the LocalStack this script started (pidfile), TERM then KILL after 20 s.
# status  prints whether it answers, and exits 0 only when healthy.
#
# Facts behind the choices (versions, pins, variables) are in /work/shared/LOCAL-AWS.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/.venv"
STATE="$HERE/.state"
PIDFILE="$STATE/localstack.pid"
LOG="$STATE/localstack.log"
HOST="${LOCALSTACK_HOST_ADDR:-127.0.0.1}"
PORT="${LOCALSTACK_PORT:-4566}"
URL="http://$HOST:$PORT"
VERSION_NEW="2026.3.0"   # needs Python >= 3.12
VERSION_OLD="4.6.0"      # starts on Python 3.11
START_TIMEOUT="${LOCALSTACK_START_TIMEOUT:-90}"

log() { echo "localstack: $*" >&2; }

healthy() {
    curl -fsS --max-time 2 "$URL/_localstack/health" >/dev/null 2>&1
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
            /root/.pyenv/versions/"$version".*/bin/python; do
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
    if kill -0 "$pid" 2>/dev/null; then echo "$pid"; else return 1; fi
}

bootstrap() {
    local python="$VENV/bin/python"
    [[ -x "$python" ]] || python="$(command -v python3)"
    SALON_LOCALSTACK_URL="$URL" "$python" "$HERE/bootstrap.py" >&2
    # What `make run` needs to keep every byte in this LocalStack (eval "$(run.sh start)").
    cat <<ENV
export AWS_ENDPOINT_URL=$URL AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export SALON_STORAGE=s3 SALON_S3_BUCKET=salon-media
ENV
}

start() {
    mkdir -p "$STATE"
    if healthy; then
        log "already running at $URL"
        bootstrap
        return 0
    fi
    if pid="$(running_pid)"; then
        log "process $pid from an earlier start is alive but not healthy; stopping it"
        stop
    fi
    install
    log "starting at $URL (log: $LOG)"
    # setsid: its own session and process group, so `stop` can end it and its children.
    DISABLE_EVENTS=1 \
    GATEWAY_LISTEN="$HOST:$PORT" \
    SERVICES="s3,sqs,iam,sts" \
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
            return 1
        fi
        if (( waited >= START_TIMEOUT )); then
            log "not healthy after ${START_TIMEOUT}s; see $LOG"
            stop
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    log "healthy after ${waited}s"
    bootstrap
}

stop() {
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$PIDFILE"
        if healthy; then
            log "a LocalStack not started by this script answers at $URL; leaving it alone"
        else
            log "not running"
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
    if healthy; then
        log "healthy at $URL${pid:+ (pid $pid)}"
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
    status) pid="$(running_pid || true)"; status ;;
    install) install ;;
    *) echo "usage: $0 start|stop|status|install" >&2; exit 2 ;;
esac
