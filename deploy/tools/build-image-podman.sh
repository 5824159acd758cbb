#!/usr/bin/env bash
# Build Salon's image from deploy/docker/Dockerfile with podman, on a machine with no Docker
# engine and no container registry (CI here; see deploy/README.md, "Building the image without
# Docker"):
#
#   bash deploy/tools/build-image-podman.sh localhost/salon:dev
#
# 1. A base image from Debian's own packages, made once per machine: debootstrap a bookworm
#    minbase root file system with Python 3.11 (python3, venv, pip) and `podman import` it as
#    $PODMAN_BASE_IMAGE (default localhost/salon-base:bookworm-py311). It stands in for the
#    official python:3.11-slim-bookworm, which cannot be pulled without a registry. It is kept
#    in podman's store and reused; REBUILD_BASE=1 makes it again.
# 2. The real Dockerfile, with `--build-arg BASE=` that image, and `--isolation chroot` (the
#    default OCI isolation fails on these machines: "did not get container create message").
#
# Production images are built with Docker from the official base (deploy/README.md); this one
# is for running and testing the image locally. Differences: Debian's Python 3.11.2 instead of
# the official image's pinned 3.11.x, and no RDS CA bundle unless RDS_CA_BUNDLE_URL names one
# (it is only needed against RDS, and its host is unreachable from most sandboxes).
#
# Needs root (debootstrap, podman's store), podman, runc and debootstrap
# (apt-get install podman runc debootstrap). Env: PODMAN_BASE_IMAGE, REBUILD_BASE=1,
# DEBIAN_MIRROR (default http://deb.debian.org/debian), RDS_CA_BUNDLE_URL (default empty).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
IMAGE="${1:-localhost/salon:dev}"
BASE="${PODMAN_BASE_IMAGE:-localhost/salon-base:bookworm-py311}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
log() { echo "build-image-podman: [${SECONDS} s] $*" >&2; }

command -v podman >/dev/null || { log "podman not found: apt-get install -y podman runc debootstrap"; exit 1; }

build_base() {
    command -v debootstrap >/dev/null || { log "debootstrap not found: apt-get install -y debootstrap"; exit 1; }
    local rootfs
    rootfs="$(mktemp -d "${TMPDIR:-/var/tmp}/salon-base.XXXXXX")"
    # In memory: dpkg syncs every file it unpacks, which on a busy disk made debootstrap take
    # minutes instead of seconds. umount -R also takes down any /proc debootstrap left mounted.
    mount -t tmpfs -o size=2g,mode=0755 salon-base "$rootfs"
    # shellcheck disable=SC2064  # expand now: the trap must remove this folder, not a later one
    trap "umount -R '$rootfs' 2>/dev/null; rmdir '$rootfs'; rm -f '$rootfs.log'" EXIT
    log "debootstrap bookworm (minbase + Python 3.11) from $MIRROR"
    debootstrap --variant=minbase \
        --include=ca-certificates,python3,python3-venv,python3-pip,python-is-python3 \
        bookworm "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1 \
        || { tail -20 "$rootfs.log" >&2; exit 1; }
    # The build's pip and uv fetch from PyPI through whatever TLS-inspecting egress this machine
    # has: the base trusts the CAs the host added (none on a plain machine).
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
        chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
    fi
    # Like the official image: pip may install into the system Python (the Dockerfile installs
    # uv with it), so Debian's PEP 668 marker goes.
    rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    log "importing it as $BASE"
    # SSL_CERT_FILE: uv trusts its bundled roots only, unless told to read the system's.
    tar -C "$rootfs" -c . | podman import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
        --change 'CMD ["python3"]' \
        - "$BASE" >/dev/null
}

# One base build at a time on this machine: a second caller waits, then finds it made.
exec 9>"${TMPDIR:-/var/tmp}/salon-podman-base.lock"
flock 9
if [[ "${REBUILD_BASE:-0}" != 1 ]] && podman image exists "$BASE"; then
    log "base $BASE is already in podman's store (REBUILD_BASE=1 makes it again)"
else
    (build_base)
fi
flock -u 9

log "building $IMAGE from deploy/docker/Dockerfile on $BASE"
podman build --isolation chroot \
    -f "$ROOT/deploy/docker/Dockerfile" \
    --ignorefile "$ROOT/deploy/docker/Dockerfile.dockerignore" \
    --build-arg BASE="$BASE" \
    --build-arg RDS_CA_BUNDLE_URL="${RDS_CA_BUNDLE_URL:-}" \
    -t "$IMAGE" "$ROOT"
log "built $IMAGE"
