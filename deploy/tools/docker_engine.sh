#!/usr/bin/env bash
# Make sure a Docker engine answers before an image build (`make image`, the sandbox image).
# If `docker info` fails and we are root with dockerd installed, start dockerd in the background
# (log: /tmp/budget-realloc-dockerd.log; it keeps running for later builds and tests, as the
# tests' own engine start does) and wait up to DOCKERD_WAIT_S (60) seconds for it to answer.
# Otherwise stop with the exact commands to run. DOCKER_ENGINE_NO_START=1: only check.
set -uo pipefail
LOG="${DOCKERD_LOG:-/tmp/budget-realloc-dockerd.log}"
WAIT_S="${DOCKERD_WAIT_S:-60}"
answers() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }
if answers; then exit 0; fi
how="start one with:  sudo dockerd >$LOG 2>&1 &   (no systemd here; or: sudo systemctl start docker), then rerun"
if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
  echo "error: no Docker engine: docker/dockerd are not installed; install them with: sudo apt-get install docker.io (or run \`make sysdeps\` as root), then $how" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ] || [ "${DOCKER_ENGINE_NO_START:-0}" = 1 ]; then
  echo "error: Cannot connect to the Docker daemon, and it is not started here (not root, or DOCKER_ENGINE_NO_START=1); $how" >&2
  exit 1
fi
echo ">> no Docker engine answers: starting dockerd (log: $LOG)"
setsid dockerd >>"$LOG" 2>&1 < /dev/null &
pid=$!
for _ in $(seq 1 $((WAIT_S * 2))); do
  if answers; then echo ">> dockerd (pid $pid) answers"; exit 0; fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "error: dockerd exited at start; see $LOG (last lines below)" >&2
    tail -n 5 "$LOG" >&2
    exit 1
  fi
  sleep 0.5
done
echo "error: dockerd (pid $pid) did not answer within $WAIT_S s; see $LOG" >&2
exit 1
