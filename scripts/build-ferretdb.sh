#!/usr/bin/env bash
# Builds FerretDB 1.24.2 (a MongoDB-protocol server over SQLite) for the store
# and cluster tests, into $(go env GOPATH)/bin/ferretdb. A plain `go install`
# of it builds a binary that panics at start: the module as published lacks
# build/version/version.txt, which FerretDB's own build writes from git. So the
# module's source is copied from Go's module cache and built with that file.
set -euo pipefail
version=v1.24.2
out="$(go env GOPATH)/bin/ferretdb"
if [ -x "$out" ] && "$out" --version 2>/dev/null | grep -q "$version"; then exit 0; fi
src=$(go mod download -json "github.com/FerretDB/FerretDB@$version" | sed -nE 's/^\s*"Dir": "(.*)",?$/\1/p')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src/." "$work/" && chmod -R u+w "$work"
echo "$version" > "$work/build/version/version.txt"
mkdir -p "$(dirname "$out")"
(cd "$work" && go build -o "$out" ./cmd/ferretdb)
"$out" --version | head -n 1
