#!/usr/bin/env bash
# Build the sandbox image with no registry: debootstrap a minbase Debian with python3 and the
# packages a sample may import (numpy, which the APPS reference harness imports, pandas, scipy,
# matplotlib, requests, boto3: docs/sandbox.md; the Makefile's sysdeps installs the same),
# `docker import` it as the base, then `docker build` deploy/sandbox/Dockerfile on top.
# Usage: deploy/sandbox/build_image.sh [TAG]   (default budget-realloc-sandbox:v3; root only)
# Needs: debootstrap, a running Docker engine, a reachable Debian mirror (MIRROR=...).
set -euo pipefail
TAG="${1:-budget-realloc-sandbox:v3}"
SUITE="${SUITE:-bookworm}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
BASE="budget-realloc-sandbox-rootfs:${SUITE}-pylibs"
PACKAGES="python3-minimal,python3,python3-numpy,python3-pandas,python3-scipy,python3-matplotlib,python3-requests,python3-boto3"
HERE="$(cd "$(dirname "$0")" && pwd)"
if ! docker image inspect "$BASE" >/dev/null 2>&1; then
  ROOTFS="$(mktemp -d /var/tmp/sandbox-rootfs.XXXXXX)"
  trap 'rm -rf "$ROOTFS"' EXIT
  echo ">> debootstrap $SUITE (minbase + $PACKAGES) into $ROOTFS"
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR" >/dev/null
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
  echo ">> docker import as $BASE"
  tar -C "$ROOTFS" -c . | docker import - "$BASE" >/dev/null
fi
echo ">> docker build $TAG"
docker build -q --build-arg "BASE=$BASE" -t "$TAG" "$HERE" >/dev/null
echo ">> built $TAG"
