#!/usr/bin/env bash
# Writes Aspire's manifest, then the Kubernetes manifests from it; `make publish` and the publishing tests both run this.
# usage: eng/publish.sh [configuration] [manifest file] [output folder]   (defaults: Debug aspire-manifest.json aspirate-output)
set -euo pipefail
configuration="${1:-Debug}"
manifest="$(realpath -m "${2:-aspire-manifest.json}")"
output="$(realpath -m "${3:-aspirate-output}")"
cd "$(dirname "$0")/.."
# The AppHost in publish mode: Aspire's own manifest, each resource's Kubernetes deployment object included.
dotnet run --project Avatar.AppHost -c "$configuration" --no-build -- --publisher manifest --output-path "$manifest"
dotnet run --project eng/Avatar.Kubernetes -c "$configuration" --no-build -- --manifest "$manifest" --output "$output"
