#!/usr/bin/env bash
# Builds the go-micro v2.9.1 peer (peer serve | peer call) and the recording proxy, in GOPATH mode
# with Debian's golang packages (the Go module proxy is not reachable here).
#   GO_MICRO_GIT: a git directory of github.com/micro/go-micro holding tag v2.9.1 (required)
#   GOMICRO_WORK: where the GOPATH and binaries go (default /tmp/gomicro-peer)
set -euo pipefail
cd "$(dirname "$0")"
HERE=$(pwd)
: "${GO_MICRO_GIT:?set GO_MICRO_GIT to a git directory of github.com/micro/go-micro with tag v2.9.1}"
WORK=${GOMICRO_WORK:-/tmp/gomicro-peer}
if ! command -v go >/dev/null; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y golang-go
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y \
  golang-golang-x-net-dev golang-golang-x-sys-dev \
  golang-github-golang-protobuf-1-5-dev golang-google-protobuf-dev \
  golang-github-google-uuid-dev golang-github-pkg-errors-dev \
  golang-github-patrickmn-go-cache-dev golang-github-miekg-dns-dev \
  golang-github-oxtoacart-bpool-dev
GM=$WORK/gopath/src/github.com/micro/go-micro/v2
if [ ! -f "$GM/go.mod" ]; then
  mkdir -p "$GM"
  git --git-dir="$GO_MICRO_GIT" archive v2.9.1 | tar -x -C "$GM"
fi
mkdir -p "$WORK/gopath/src/gomicropeer" "$WORK/bin"
cp -r "$HERE/peer" "$HERE/recorder" "$WORK/gopath/src/gomicropeer/"
export GO111MODULE=off GOPATH=$WORK/gopath:/usr/share/gocode GOCACHE=$WORK/.gocache GOFLAGS=
go build -o "$WORK/bin/peer" gomicropeer/peer
go build -o "$WORK/bin/recorder" gomicropeer/recorder
echo "built: $WORK/bin/peer $WORK/bin/recorder"
