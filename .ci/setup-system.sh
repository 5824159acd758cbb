#!/usr/bin/env bash
# System packages the suite exercises for real: Chromium (browser tests), ffmpeg/ffprobe (video
# checks), PostgreSQL (its initdb/pg_ctl: `make test` runs a cluster of its own), nginx (the
# media front's test), podman, runc and debootstrap (the container image is built and run: see
# deploy/README.md, "Building the image without Docker"). Idempotent; needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v ffprobe >/dev/null || need+=(ffmpeg)
command -v jq >/dev/null || need+=(jq)
command -v initdb >/dev/null || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || need+=(nginx-light)
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
