#!/usr/bin/env bash
# Builds one Go command that a test runs (promtool, prometheus, the Prometheus
# Operator) from the Go module proxy, at the version pinned in
# test/tools/<module>/go.{mod,sum}, and caches it outside the repo in
#   ${ACP_CACHE_DIR:-~/.cache/acp}/go-tools/<name>-<hash of go.mod+go.sum+this script+args+go version>/<name>
# Usage: build-go-tool.sh <module dir under test/tools> <name> <package> [build tags]
# Prints that directory on stdout (the last line). Safe to run concurrently
# (flock per name); a half-finished build never becomes visible (build in a
# temp dir, then rename). Exit 3: no usable Go. Owns nothing else.
set -euo pipefail

[[ $# -ge 3 ]] || { echo "usage: $0 <module dir> <name> <package> [tags]" >&2; exit 2; }
tool_dir="$1" name="$2" pkg="$3" tags="${4:-}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mod="$(cd "$here/../tools/$tool_dir" && pwd)"
cache_root="${ACP_CACHE_DIR:-$HOME/.cache/acp}"

# No usable Go: exit 3 (the caller decides; with CI=true the test fails).
go_version="$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null)" || go_version=none
[[ "$go_version" =~ ^go1\.(2[6-9]|[3-9][0-9]) ]] || {
  echo "build-go-tool: Go >= 1.26 is required to build $name (https://go.dev/dl/); found: $go_version" >&2
  exit 3
}

key="$( { echo "$go_version $name $pkg $tags"; cat "$mod/go.mod" "$mod/go.sum" "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)"
out="$cache_root/go-tools/$name-$key"

if [[ -x "$out/$name" ]]; then echo "$out"; exit 0; fi

mkdir -p "$cache_root/go-tools"
exec 9>"$cache_root/go-tools/.$name.lock"
echo "build-go-tool: waiting for the build lock of $name" >&2
flock 9
if [[ -x "$out/$name" ]]; then echo "$out"; exit 0; fi

tmp="$(mktemp -d "$cache_root/go-tools/.build-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
export GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0

module="$(cd "$mod" && go list -f '{{.Module.Path}}' "$pkg")"
version="$(cd "$mod" && go list -m -f '{{.Version}}' "$module")"
start=$(date +%s)
echo "build-go-tool: building $name ($module $version) into $out; a cold build takes a few minutes on 2 cores" >&2
(
  cd "$mod"
  go build -trimpath ${tags:+-tags "$tags"} \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=${version#v}" \
    -o "$tmp/$name" "$pkg"
)
[[ -x "$tmp/$name" ]] || { echo "build-go-tool: $name missing after build" >&2; exit 1; }
echo "$module $version $go_version built in $(( $(date +%s) - start ))s" > "$tmp/VERSIONS"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "build-go-tool: $name built in $(( $(date +%s) - start ))s" >&2
echo "$out"
