#!/usr/bin/env bash
# System packages the suite exercises for real: Chromium (browser tests), ffmpeg/ffprobe (video
# checks), PostgreSQL 15 (already on these machines; started here), nginx (the media front's
# test). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v ffprobe >/dev/null || need+=(ffmpeg)
command -v jq >/dev/null || need+=(jq)
command -v pg_ctlcluster >/dev/null || need+=(postgresql)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
bash .ci/postgres-setup.sh
