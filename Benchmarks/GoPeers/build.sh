#!/bin/sh
# Builds the Go peers `micro-bench peers` runs beside the Swift greeter and MicroNATS into
# OUT (default: .build-go-peers at the package root): http-greeter (net/http), grpc-greeter
# (grpc-go) and nats-bench (nats.go). GOPATH mode with Debian's packages, no module proxy:
#   apt-get install golang-go golang-google-grpc-dev golang-goprotobuf-dev \
#                   golang-github-nats-io-go-nats-dev protobuf-compiler
# The greeter's proto is compiled with protoc-gen-go 1.3 (plugins=grpc) into OUT/gopath/src/greeterpb;
# that generator predates proto3 `optional`, so it reads a copy without the keyword (the same wire
# for Hello; only an explicitly present zero in Countdown's Tick differs).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/.build-go-peers}
mkdir -p "$out/bin" "$out/gopath/src/greeterpb"
out=$(cd "$out" && pwd)
for tool in go protoc protoc-gen-go; do
    command -v "$tool" >/dev/null || {
        echo "build.sh: $tool not found; apt-get install golang-go golang-google-grpc-dev golang-goprotobuf-dev golang-github-nats-io-go-nats-dev protobuf-compiler" >&2
        exit 1
    }
done
sed 's/^\([[:space:]]*\)optional /\1/' "$root/Examples/Greeter/Protos/greeter.proto" > "$out/gopath/greeter.proto"
(cd "$out/gopath" && protoc --go_out=plugins=grpc,Mgreeter.proto=greeterpb:src/greeterpb greeter.proto)
export GO111MODULE=off GOPATH="$out/gopath:/usr/share/gocode" GOCACHE="${GOCACHE:-$out/cache}"
for peer in http-greeter grpc-greeter nats-bench; do
    (cd "$here/$peer" && go build -o "$out/bin/$peer" .)
done
echo "$out/bin"
