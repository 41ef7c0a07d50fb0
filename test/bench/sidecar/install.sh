#!/usr/bin/env bash
# Installs what the sidecar benchmark compares against and drives it with:
# nginx and haproxy from Debian, openssl (s_time for full handshakes), and
# oha (a Rust HTTP load generator that can present a client certificate,
# built from crates.io) into ${ACP_CACHE_DIR:-~/.cache/acp}/bench-bin, and
# acp-loadgen (test/bench/loadgen, Go), the open-loop latency probe.
# Why oha: wrk has no client-certificate option (and Debian's source
# package could not be fetched here), autocannon saturates near 35k req/s.
set -euo pipefail
need=()
for p in nginx haproxy openssl; do command -v "$p" >/dev/null 2>&1 || need+=("$p"); done
if ((${#need[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light haproxy openssl
fi
bin="${ACP_CACHE_DIR:-$HOME/.cache/acp}/bench-bin"
if [[ ! -x "$bin/bin/oha" ]]; then
  command -v cargo >/dev/null || { echo "cargo (Rust) is needed to build oha" >&2; exit 1; }
  cargo install oha --version 1.16.0 --locked --root "$bin"
fi
# The latency probe (test/bench/loadgen, Go standard library only).
command -v go >/dev/null || { echo "go is needed to build test/bench/loadgen" >&2; exit 1; }
(cd "$(dirname "$0")/../loadgen" && go build -trimpath -o "$bin/bin/acp-loadgen" .)
echo "$bin/bin/oha"
echo "$bin/bin/acp-loadgen"
