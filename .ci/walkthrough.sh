#!/usr/bin/env bash
# Runs the README's walk-through exactly as written: starts berth with the
# README's -dev command, then runs the commands between the walkthrough
# markers with bash -e. Machines without a registry get a local busybox image
# (built from Debian's busybox-static), removed again at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

data=.berth-dev
rm -rf "$data"
built_image=""
dev_pid=""

cleanup() {
  if [ -n "$dev_pid" ]; then
    kill -INT -- "-$dev_pid" 2>/dev/null || true
    wait "$dev_pid" 2>/dev/null || true
  fi
  if [ -n "$built_image" ]; then
    docker image rm -f "$built_image" >/dev/null 2>&1 || true
  fi
  rm -rf "$data"
}
trap cleanup EXIT

if ! docker image inspect busybox >/dev/null 2>&1; then
  ctx=$(mktemp -d)
  cp /bin/busybox "$ctx/busybox"
  cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
LABEL berth.ci=walkthrough
DOCKERFILE
  docker build -q -t busybox "$ctx" >/dev/null
  rm -rf "$ctx"
  built_image=busybox
fi

go build ./cmd/controlplane ./cmd/berth # compile first, so the wait below is for berth itself
setsid go run ./cmd/controlplane -dev --data-dir "$data" >"$data.log" 2>&1 &
dev_pid=$!
for _ in $(seq 1 300); do
  if curl -fsS http://127.0.0.1:7480/healthz >/dev/null 2>&1 && [ -s "$data/admin.token" ]; then
    break
  fi
  sleep 0.2
done
curl -fsS http://127.0.0.1:7480/healthz >/dev/null || { cat "$data.log"; exit 1; }

script=$(sed -n '/<!-- walkthrough -->/,/<!-- \/walkthrough -->/p' README.md | sed '/^<!--/d; /^```/d')
if [ -z "$script" ]; then
  echo "no walkthrough block in README.md" >&2
  exit 1
fi
if ! bash -euo pipefail -x -c "$script"; then
  echo "--- the -dev control plane's log:" >&2
  tail -50 "$data.log" >&2
  exit 1
fi
rm -f "$data.log"
echo "walk-through: ok"
