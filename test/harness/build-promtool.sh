#!/usr/bin/env bash
# Builds promtool (Prometheus's rule checker and rule unit-test runner) from
# the Go module proxy at the version pinned in test/tools/promtool/go.{mod,sum}
# and caches it outside the repo in
#   ${ACP_CACHE_DIR:-~/.cache/acp}/promtool-bin/<hash of go.mod+go.sum+this script+go version>/promtool
# Prints that directory on stdout (the last line). Safe to run concurrently
# (flock); a half-finished build never becomes visible (build in a temp dir,
# then rename). Exit 3: no usable Go. Owns nothing else.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mod="$(cd "$here/../tools/promtool" && pwd)"
cache_root="${ACP_CACHE_DIR:-$HOME/.cache/acp}"

# No usable Go: exit 3 (the caller decides; with CI=true the test fails).
go_version="$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null)" || go_version=none
[[ "$go_version" =~ ^go1\.(2[6-9]|[3-9][0-9]) ]] || {
  echo "build-promtool: Go >= 1.26 is required to build promtool (https://go.dev/dl/); found: $go_version" >&2
  exit 3
}

key="$( { echo "$go_version"; cat "$mod/go.mod" "$mod/go.sum" "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)"
out="$cache_root/promtool-bin/$key"

if [[ -x "$out/promtool" ]]; then echo "$out"; exit 0; fi

mkdir -p "$cache_root/promtool-bin"
exec 9>"$cache_root/promtool-bin/.lock"
echo "build-promtool: waiting for the build lock ($cache_root/promtool-bin/.lock)" >&2
flock 9
if [[ -x "$out/promtool" ]]; then echo "$out"; exit 0; fi

tmp="$(mktemp -d "$cache_root/promtool-bin/.build-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
export GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0

version="$(cd "$mod" && go list -m -f '{{.Version}}' github.com/prometheus/prometheus)"
start=$(date +%s)
echo "build-promtool: building promtool (github.com/prometheus/prometheus $version) into $out; a cold build takes a few minutes on 2 cores" >&2
(
  cd "$mod"
  # remove_all_sd: no service-discovery plugins (cloud SDKs); rule checks and tests need none.
  go build -trimpath -tags remove_all_sd -ldflags "-s -w -X github.com/prometheus/common/version.Version=$version" \
    -o "$tmp/promtool" github.com/prometheus/prometheus/cmd/promtool
)
[[ -x "$tmp/promtool" ]] || { echo "build-promtool: promtool missing after build" >&2; exit 1; }
echo "$version $go_version built in $(( $(date +%s) - start ))s" > "$tmp/VERSIONS"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "build-promtool: built in $(( $(date +%s) - start ))s" >&2
echo "$out"
