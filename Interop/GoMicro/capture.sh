#!/usr/bin/env bash
# Capture every scenario: fresh go-micro server per scenario, recorder in front,
# go-micro client calling through the recorder. Everything on 127.0.0.1.
set -u
cd "$(dirname "$0")"
ROOT=$(pwd)
WORK=${GOMICRO_WORK:-/tmp/gomicro-peer}   # where build.sh put bin/peer and bin/recorder
SRV_PORT=${SRV_PORT:-18180}
REC_PORT=${REC_PORT:-18181}
OUT=${OUT:-$WORK/captures}
mkdir -p "$OUT"

# name | tick delay ms (server) | client args...
SCENARIOS=(
  "hello|0|hello World"
  "fail|0|fail"
  "countdown-3|20|countdown 3"
  "countdown-neg1|0|countdown -1"
  "countdown-20000|0|countdown 20000"
  "chat-A-B-C|0|chat A B C"
  "chatboom|0|chatboom"
  "countdown-cancel-10|20|countdown-cancel 10"
  # extras
  "hellos-a-b|0|hellos a b"
  "failhello|0|failhello x"
  "countdown-3-nodelay|0|countdown 3"
  "countdown-12-nodelay|0|countdown 12"
  "countdown-cancel-10-nodelay|0|countdown-cancel 10"
  "unknown|0|unknown"
  "hellos-deadline-a-b|0|hellos-deadline a b"
)

wait_port() { # bounded wait for a listening port
  for _ in $(seq 1 50); do
    (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && { exec 3>&- 3<&-; return 0; }
    sleep 0.1
  done
  return 1
}

for entry in "${SCENARIOS[@]}"; do
  IFS='|' read -r name delay args <<<"$entry"
  dir="$OUT/$name"
  rm -rf "$dir"; mkdir -p "$dir"
  PEER_SERVE_SECONDS=60 PEER_TICK_DELAY_MS=$delay "$WORK/bin/peer" serve 127.0.0.1:$SRV_PORT >"$dir/server.log" 2>&1 &
  spid=$!
  "$WORK/bin/recorder" 127.0.0.1:$REC_PORT 127.0.0.1:$SRV_PORT "$dir" 60 >"$dir/recorder.out" 2>&1 &
  rpid=$!
  # wait for the server (directly, not through the recorder, so no extra conn is recorded)
  for _ in $(seq 1 50); do grep -q LISTENING "$dir/server.log" && break; sleep 0.1; done
  for _ in $(seq 1 50); do grep -q RECORDING "$dir/recorder.out" && break; sleep 0.1; done
  # shellcheck disable=SC2086
  timeout 30 "$WORK/bin/peer" call 127.0.0.1:$REC_PORT $args >"$dir/client.out" 2>"$dir/client.err"
  echo "exit=$?" >>"$dir/client.out"
  echo "peer call 127.0.0.1:PORT $args   (server PEER_TICK_DELAY_MS=$delay)" >"$dir/COMMAND"
  sleep 1
  kill "$rpid" 2>/dev/null; kill "$spid" 2>/dev/null
  wait "$rpid" 2>/dev/null; wait "$spid" 2>/dev/null
  echo "== $name: $(ls "$dir" | tr '\n' ' ')"
done
