#!/usr/bin/env bash
# Installs what Avatar needs on a Debian machine, only what is missing: safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

missing=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-benchmark >/dev/null || missing+=(redis-tools)
command -v setsid >/dev/null || missing+=(util-linux)
command -v node >/dev/null || missing+=(nodejs npm)
ldconfig -p | grep -q "libespeak-ng.so.1 " || missing+=(espeak-ng)
# The lip-sync model's other teachers: flite, festival and its voices (kal is the reserved, evaluation-only voice).
command -v flite >/dev/null || missing+=(flite)
command -v festival >/dev/null || missing+=(festival)
[ -d /usr/share/festival/voices/english/ked_diphone ] || missing+=(festvox-kdlpc16k)
[ -d /usr/share/festival/voices/english/kal_diphone ] || missing+=(festvox-kallpc16k)
[ -d /usr/share/festival/voices/us/cmu_us_slt_arctic_hts ] || missing+=(festvox-us-slt-hts)
# festival's voices in other languages: more speakers for the lip-sync model (SpeechCorpus.ForeignVoices).
for voice in italian/lp_diphone:festvox-italp16k italian/pc_diphone:festvox-itapc16k czech/czech_dita:festvox-czech-dita \
  czech/czech_machac:festvox-czech-machac czech/czech_krb:festvox-czech-krb czech/czech_ph:festvox-czech-ph \
  finnish/suo_fi_lj_diphone:festvox-suopuhe-lj finnish/hy_fi_mv_diphone:festvox-suopuhe-mv \
  catalan/upc_ca_ona_hts:festvox-ca-ona-hts; do
  [ -d "/usr/share/festival/voices/${voice%%:*}" ] || missing+=("${voice#*:}")
done
command -v chromium >/dev/null || missing+=(chromium)   # the dashboard's browser test (Playwright drives it; nothing is downloaded)
command -v kubectl >/dev/null || missing+=(kubectl)     # kustomize 5 inside: renders the manifests in the publishing tests

if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The real gRPC peer of the gRPC and A2F interop tests and the grpc bench: @grpc/grpc-js, pinned by package-lock.json.
if [ ! -d Avatar.Tests/Grpc/peer/node_modules/@grpc/grpc-js ]; then
  (cd Avatar.Tests/Grpc/peer && npm ci --no-audit --no-fund --silent)
fi

# The Kubernetes schemas the publishing tests check rendered manifests against, pinned by package-lock.json.
if [ ! -d Avatar.Tests/Publishing/schema/node_modules/kubernetes-models ]; then
  (cd Avatar.Tests/Publishing/schema && npm ci --no-audit --no-fund --silent)
fi

# GnuSpeech, the lip-sync model's opt-in fourth teacher (model train --gnuspeech=true): @echogarden/gnuspeech-wasm, pinned by package-lock.json.
if [ ! -d Avatar.A2F.Inference/LipSync/gnuspeech/node_modules/@echogarden/gnuspeech-wasm ]; then
  (cd Avatar.A2F.Inference/LipSync/gnuspeech && npm ci --no-audit --no-fund --silent)
fi

# A Debian redis-server package may start a system service on 6379; Avatar runs its own on free ports, so leave it.
dotnet --version >/dev/null
