#!/usr/bin/env bash
# Runs .ci/boto3_ecs.py, everyday boto3 ECS snippets, against berth -dev:
# starts a -dev control plane (with its agent on the local Docker) on ports
# the system picks and its own data dir, then the script with the machine's boto3 and the
# credentials -dev writes. Machines without a busybox image get one built
# from Debian's busybox-static ($BUSYBOX, /bin/busybox by default), removed
# again at the end, as in walkthrough.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

data=.berth-boto3
rm -rf "$data"
built_image=""
dev_pid=""

cleanup() {
  if [ -n "$dev_pid" ]; then
    # Ctrl-C, as a person stops -dev (it removes its containers); a -dev
    # that has not stopped after 30 s is killed.
    kill -INT -- "-$dev_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
      kill -0 "$dev_pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL -- "-$dev_pid" 2>/dev/null || true
    wait "$dev_pid" 2>/dev/null || true
  fi
  if [ -n "$built_image" ]; then
    docker image rm -f "$built_image" >/dev/null 2>&1 || true
  fi
  rm -rf "$data" "$data.log"
}
trap cleanup EXIT

# boto3 from the machine: the python3 on PATH, else Debian's.
python=""
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import boto3' 2>/dev/null; then
    python=$p
    break
  fi
done
if [ -z "$python" ]; then
  echo "no python3 with boto3 on this machine (Debian: apt-get install python3-boto3)" >&2
  exit 1
fi

if ! docker image inspect busybox >/dev/null 2>&1; then
  ctx=$(mktemp -d)
  cp "${BUSYBOX:-/bin/busybox}" "$ctx/busybox"
  cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
LABEL berth.ci=boto3
DOCKERFILE
  docker build -q -t busybox "$ctx" >/dev/null
  rm -rf "$ctx"
  built_image=busybox
fi

go build -o /dev/null ./cmd/controlplane # compile first, so the wait below is for berth itself
mkdir -p "$data"
# Ports the system picks, so that this runs beside another berth (the
# walk-through's, a developer's -dev); the log says which.
setsid go run ./cmd/controlplane -dev --data-dir "$data" --http-addr 127.0.0.1:0 --grpc-addr 127.0.0.1:0 >"$data.log" 2>&1 &
dev_pid=$!
http_addr=""
for _ in $(seq 1 300); do
  http_addr=$(grep -o 'http=[0-9.:]*' "$data.log" | head -1 | cut -d= -f2 || true)
  if [ -n "$http_addr" ] && curl -fsS "http://$http_addr/healthz" >/dev/null 2>&1 && [ -s "$data/aws-credentials" ]; then
    break
  fi
  sleep 0.2
done
[ -n "$http_addr" ] && curl -fsS "http://$http_addr/healthz" >/dev/null || { cat "$data.log"; exit 1; }

if ! AWS_SHARED_CREDENTIALS_FILE=$PWD/$data/aws-credentials AWS_PROFILE=berth AWS_DEFAULT_REGION=us-east-1 \
  BERTH_ECS_ENDPOINT="http://$http_addr" "$python" .ci/boto3_ecs.py; then
  echo "--- the -dev control plane's log:" >&2
  tail -50 "$data.log" >&2
  exit 1
fi
echo "boto3: ok"
