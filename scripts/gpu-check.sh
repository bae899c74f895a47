#!/usr/bin/env bash
# One command on a machine with an NVIDIA GPU (made for 16 cores and one
# H100/H200-class GPU; under 10 minutes): builds the CUDA variant of the
# whisper.cpp addon and runs bench:engine, bench:batch and bench:stream,
# printing their figures. Needs Node.js 20, CMake, g++, the NVIDIA driver, and
# a CUDA 13 toolkit (or pip, to fetch NVIDIA's wheels: scripts/cuda-toolchain.sh).
# WHISPER_TEST_MODEL (a ggml file) is the model bench:engine times; without it,
# the tiny-shaped synthetic model (real tiny compute, fixed text). The benches
# pick the CUDA build by themselves (HUB_ENGINE=auto prefers it).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
step() { echo; echo "== $* ($(( $(date +%s) - started )) s)"; }

step "GPU"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || { echo "no NVIDIA GPU here (nvidia-smi failed)"; exit 1; }
echo "cores: $(nproc)"

if [ ! -d node_modules ]; then
  step "npm ci (the CPU addon build is skipped: the CUDA one follows)"
  ONNXRUNTIME_NODE_INSTALL=skip WHISPER_HUB_SKIP_ENGINE_BUILD=1 npm ci --no-audit --no-fund
fi

step "CUDA toolchain"
# shellcheck source=scripts/cuda-toolchain.sh
source scripts/cuda-toolchain.sh

step "build the CUDA addon (sm ${WHISPER_CUDA_ARCHS:-80;89;90})"
build_started=$(date +%s)
npm run --silent build:engine -- --cuda
echo "CUDA addon build: $(( $(date +%s) - build_started )) s"
node -e "const a = require('./native/engine/addon/build/cuda/Release/whisper_hub.node'); console.log(a.version, a.backend, JSON.stringify(a.devices().filter((d) => d.type === 'gpu')))"

model="${WHISPER_TEST_MODEL:-}"
if [ -z "$model" ]; then
  model="$(mktemp -d)/synthetic-tiny.bin"
  npm run --silent model:synthetic -- tiny "$model"
  echo "no WHISPER_TEST_MODEL: timing the synthetic tiny-shaped model"
fi

step "bench:engine"
WHISPER_TEST_MODEL="$model" timeout 300 npm run --silent bench:engine -- --rounds 3 --slots 4 || echo "bench:engine did not finish"
step "bench:batch"
timeout 180 npm run --silent bench:batch -- --minutes 5 || echo "bench:batch did not finish"
step "bench:stream"
timeout 180 npm run --silent bench:stream || echo "bench:stream did not finish"
step "done"
