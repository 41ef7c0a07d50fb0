#!/usr/bin/env bash
# Builds the real node's binaries from the Go module proxy, pinned by
#   test/tools/node/go.{mod,sum}        kubelet, kube-controller-manager, kube-scheduler, kube-proxy (v1.37.2)
#   test/tools/containerd/go.{mod,sum}  containerd, containerd-shim-runc-v2, ctr (v2.4.2)
#   test/tools/cni/go.{mod,sum}         CNI plugins bridge, host-local, loopback, portmap (v1.10.0)
# and caches each part outside the repo in
#   ${ACP_CACHE_DIR:-~/.cache/acp}/node-bin/<part>-<hash of its go.mod+go.sum+this script+go version>/
# Usage: build-node-binaries.sh [k8s|runtime|cni]...   (default: all three)
# Prints one line per part on stdout, "<part> <dir>". Safe to run concurrently
# (flock per part); a half-finished build never becomes visible (temp dir,
# then rename). runc comes from Debian (see node-prereqs.sh), not from here.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="$(cd "$here/../tools" && pwd)"
cache_root="${ACP_CACHE_DIR:-$HOME/.cache/acp}"

K8S_VERSION=v1.37.2
K8S_MINOR=37
CONTAINERD_VERSION=v2.4.2
CNI_VERSION=v1.10.0

if ! command -v go >/dev/null 2>&1; then
  echo "build-node-binaries: Go is required to build the node (Go 1.26); 'go' is not on PATH" >&2
  exit 3
fi
go_version="$(GOTOOLCHAIN=local go env GOVERSION)"
export GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0

bins_of() {
  case "$1" in
    k8s) echo "kubelet kube-controller-manager kube-scheduler kube-proxy" ;;
    runtime) echo "containerd containerd-shim-runc-v2 ctr" ;;
    cni) echo "bridge host-local loopback portmap" ;;
  esac
}
module_of() {
  case "$1" in k8s) echo node ;; runtime) echo containerd ;; cni) echo cni ;; esac
}

build_part() {
  local part="$1" tmp="$2" start="$3" b
  case "$part" in
    k8s)
      local ld=""
      for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ld+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$K8S_MINOR -X $pkg.gitTreeState=clean"
      done
      for b in $(bins_of k8s); do
        go build -trimpath -tags=notest,grpcnotrace -ldflags "-s -w$ld" -o "$tmp/$b" "k8s.io/kubernetes/cmd/$b"
        echo "build-node-binaries: $b done after $(($(date +%s) - start))s" >&2
      done
      ;;
    runtime)
      local p=github.com/containerd/containerd/v2
      local ld="-s -w -X $p/version.Version=$CONTAINERD_VERSION -X $p/version.Revision=modproxy -X $p/version.Package=$p"
      local tags="urfave_cli_no_docs no_btrfs osusergo netgo"
      go build -trimpath -tags "$tags" -ldflags "$ld" -o "$tmp/containerd" "$p/cmd/containerd"
      echo "build-node-binaries: containerd done after $(($(date +%s) - start))s" >&2
      go build -trimpath -tags "$tags no_grpc" -ldflags "$ld" -o "$tmp/containerd-shim-runc-v2" "$p/cmd/containerd-shim-runc-v2"
      go build -trimpath -tags "$tags" -ldflags "$ld" -o "$tmp/ctr" "$p/cmd/ctr"
      ;;
    cni)
      local ld="-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$CNI_VERSION"
      for b in main/bridge main/loopback ipam/host-local meta/portmap; do
        go build -trimpath -ldflags "$ld" -o "$tmp/$(basename "$b")" "github.com/containernetworking/plugins/plugins/$b"
      done
      ;;
  esac
}

parts=("$@")
[[ ${#parts[@]} -gt 0 ]] || parts=(k8s runtime cni)
mkdir -p "$cache_root/node-bin"
for part in "${parts[@]}"; do
  mod="$(module_of "$part")"
  [[ -n "$mod" ]] || { echo "build-node-binaries: unknown part '$part' (k8s, runtime, cni)" >&2; exit 2; }
  key="$( { echo "$go_version"; cat "$tools/$mod/go.mod" "$tools/$mod/go.sum" "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)"
  out="$cache_root/node-bin/$part-$key"
  complete() { local b; for b in $(bins_of "$part"); do [[ -x "$out/$b" ]] || return 1; done; }
  if ! complete; then
    exec 9>"$cache_root/node-bin/.$part.lock"
    echo "build-node-binaries: waiting for the $part build lock" >&2
    flock 9
    if ! complete; then
      tmp="$(mktemp -d "$cache_root/node-bin/.build-$part-XXXXXX")"
      trap 'rm -rf "$tmp"' EXIT
      start=$(date +%s)
      echo "build-node-binaries: building $part ($(bins_of "$part")) into $out; cold on 2 cores: k8s ~10 min, runtime ~5 min, cni ~10 s" >&2
      (cd "$tools/$mod" && build_part "$part" "$tmp" "$start")
      echo "$part built in $(($(date +%s) - start))s with $go_version" >"$tmp/VERSIONS"
      rm -rf "$out"
      mv "$tmp" "$out"
      trap - EXIT
      echo "build-node-binaries: $part built in $(($(date +%s) - start))s" >&2
    fi
    exec 9>&-
  fi
  echo "$part $out"
done
