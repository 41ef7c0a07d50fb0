#!/usr/bin/env bash
# Builds the real control-plane binaries the tests use (etcd, kube-apiserver,
# kubectl, helm) from the Go module proxy at the versions pinned in
# test/tools/{kube,helm}/go.{mod,sum}, and caches them outside the repo in
#   ${ACP_CACHE_DIR:-~/.cache/acp}/kube-bin/<hash of go.mod+go.sum+this script+go version>/
# Prints that directory on stdout (the last line). Safe to run concurrently
# (flock); a half-finished build never becomes visible (build in a temp dir,
# then rename). Owns nothing else.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="$(cd "$here/../tools" && pwd)"
cache_root="${ACP_CACHE_DIR:-$HOME/.cache/acp}"

K8S_VERSION=v1.37.2
K8S_MINOR=37
HELM_VERSION=v3.22.0

if ! command -v go >/dev/null 2>&1; then
  echo "build-binaries: Go is required to build the test control plane (Go 1.26: https://go.dev/dl/); 'go' is not on PATH" >&2
  exit 3
fi
go_version="$(GOTOOLCHAIN=local go env GOVERSION)"
case "$go_version" in
  go1.2[6-9]*|go1.[3-9]*) ;;
  *) echo "build-binaries: Go >= 1.26 required, found $go_version" >&2; exit 3 ;;
esac

key="$( { echo "$go_version"; cat "$tools/kube/go.mod" "$tools/kube/go.sum" "$tools/helm/go.mod" "$tools/helm/go.sum" "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)"
out="$cache_root/kube-bin/$key"
bins=(etcd kube-apiserver kubectl helm)

complete() { for b in "${bins[@]}"; do [[ -x "$out/$b" ]] || return 1; done; }

if complete; then echo "$out"; exit 0; fi

mkdir -p "$cache_root/kube-bin"
exec 9>"$cache_root/kube-bin/.lock"
echo "build-binaries: waiting for the build lock ($cache_root/kube-bin/.lock)" >&2
flock 9
if complete; then echo "$out"; exit 0; fi

tmp="$(mktemp -d "$cache_root/kube-bin/.build-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
export GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0

start=$(date +%s)
version_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  version_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$K8S_MINOR -X $pkg.gitTreeState=clean"
done

echo "build-binaries: building kube-apiserver, kubectl, etcd ($K8S_VERSION) and helm ($HELM_VERSION) into $out; a cold build takes 10-25 minutes on 2 cores" >&2
(
  cd "$tools/kube"
  go build -trimpath -tags=notest,grpcnotrace -ldflags "-s -w$version_ldflags" -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  echo "build-binaries: kube-apiserver done after $(( $(date +%s) - start ))s" >&2
  go build -trimpath -tags=notest,grpcnotrace -ldflags "-s -w$version_ldflags" -o "$tmp/kubectl" k8s.io/kubernetes/cmd/kubectl
  echo "build-binaries: kubectl done after $(( $(date +%s) - start ))s" >&2
  go build -trimpath -tags=notest,grpcnotrace -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3
  echo "build-binaries: etcd done after $(( $(date +%s) - start ))s" >&2
)
(
  cd "$tools/helm"
  helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$K8S_MINOR"
  done
  go build -trimpath -ldflags "$helm_ldflags" -o "$tmp/helm" helm.sh/helm/v3/cmd/helm
  echo "build-binaries: helm done after $(( $(date +%s) - start ))s" >&2
)

for b in "${bins[@]}"; do [[ -x "$tmp/$b" ]] || { echo "build-binaries: $b missing after build" >&2; exit 1; }; done
echo "$K8S_VERSION $HELM_VERSION $go_version built in $(( $(date +%s) - start ))s" > "$tmp/VERSIONS"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "build-binaries: built in $(( $(date +%s) - start ))s" >&2
echo "$out"
