#!/usr/bin/env bash
# Fetches libonnxruntime.so.1 (linux x64) out of the npm package onnxruntime-node into .native/onnxruntime/.
# `npm pack` downloads the package tarball only: no install script of the package runs.
set -euo pipefail
version="${ONNXRUNTIME_NODE_VERSION:-1.30.0}"
root="$(cd "$(dirname "$0")/.." && pwd)"
target="$root/.native/onnxruntime"
[ -f "$target/libonnxruntime.so.1" ] && exit 0
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "Fetching libonnxruntime.so.1 from onnxruntime-node@$version (npm pack)..."
(cd "$work" && npm pack --silent "onnxruntime-node@$version" >/dev/null)
tar -xzf "$work"/onnxruntime-node-*.tgz -C "$work" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
mkdir -p "$target"
mv "$work/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$target/libonnxruntime.so.1.tmp"
mv "$target/libonnxruntime.so.1.tmp" "$target/libonnxruntime.so.1"
echo "$version" > "$target/VERSION"
