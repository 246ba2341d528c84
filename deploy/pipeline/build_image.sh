#!/usr/bin/env bash
# Build the pipeline image with no container registry: debootstrap a minbase Debian bookworm
# root, `docker import` it as the base, then `docker build` deploy/pipeline/Dockerfile on top
# (python3, requirements/gpu.lock with --no-deps, the project). Run from anywhere; root only.
#
#   deploy/pipeline/build_image.sh            # or: make image
#   REGISTRY=my.registry.io deploy/pipeline/build_image.sh && docker push my.registry.io/budget-realloc/pipeline:0.1.0
#
# The tag is $REGISTRY/$NAME:$VERSION; deploy/ray and deploy/kuberay reference the default one
# (tests/deploy/test_image_names.py keeps them in step). Needs debootstrap, a running Docker
# engine, a Debian mirror (MIRROR=...) and PyPI. Extra arguments go to `docker build`
# (e.g. --no-cache, or --build-arg CUDA_IMAGE=nvidia/cuda:13.0.1-devel-ubuntu24.04 to skip the
# debootstrap base where NVIDIA's registry is reachable).
set -euo pipefail
REGISTRY="${REGISTRY:-registry.example.com}"
NAME="budget-realloc/pipeline"
VERSION="0.1.0"
IMAGE="${REGISTRY}/${NAME}:${VERSION}"
SUITE="${SUITE:-bookworm}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
# CA certificates this host trusts beyond Debian's (a TLS-intercepting proxy's, say): copied into
# the base so that the build reaches PyPI as the host does. EXTRA_CA_DIR= leaves them out.
EXTRA_CA_DIR="${EXTRA_CA_DIR-/usr/local/share/ca-certificates}"
BASE="budget-realloc-pipeline-rootfs:${SUITE}"
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
# a Docker engine that answers: started when none does (root), else the commands to run
"$REPO/deploy/tools/docker_engine.sh"

if [[ " $* " != *" CUDA_IMAGE="* ]] && ! docker image inspect "$BASE" >/dev/null 2>&1; then
  ROOTFS="$(mktemp -d /var/tmp/pipeline-rootfs.XXXXXX)"
  trap 'rm -rf "$ROOTFS"' EXIT
  echo ">> debootstrap $SUITE (minbase) into $ROOTFS"
  debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$MIRROR" >/dev/null
  echo "deb $MIRROR $SUITE main" > "$ROOTFS/etc/apt/sources.list"
  echo "deb $MIRROR $SUITE-updates main" >> "$ROOTFS/etc/apt/sources.list"
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
  if [[ -n "$EXTRA_CA_DIR" ]] && compgen -G "$EXTRA_CA_DIR/*.crt" >/dev/null; then
    echo ">> adding the CA certificates of $EXTRA_CA_DIR (picked up when ca-certificates installs)"
    mkdir -p "$ROOTFS/usr/local/share/ca-certificates"
    cp "$EXTRA_CA_DIR"/*.crt "$ROOTFS/usr/local/share/ca-certificates/"
  fi
  echo ">> docker import as $BASE"
  tar -C "$ROOTFS" -c . | docker import - "$BASE" >/dev/null
  rm -rf "$ROOTFS"
  trap - EXIT
fi

echo ">> docker build $IMAGE"
# --network host: the build's RUN steps reach the Debian mirror and PyPI the way this host does.
docker build --network host --build-arg "CUDA_IMAGE=$BASE" -f "$REPO/deploy/pipeline/Dockerfile" \
  -t "$IMAGE" "$@" "$REPO"
echo ">> built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.2f GB", $1/1e9}'))"
