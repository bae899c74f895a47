#!/usr/bin/env bash
# Sourced by gpu-check.sh and usable by hand: makes a CUDA 13 toolchain
# (nvcc, cudart, cuBLAS, CCCL) available for `npm run build:engine -- --cuda`.
# An installed toolkit (nvcc on PATH, or CUDACXX) is used as it is; otherwise
# PyPI's NVIDIA wheels are fetched once into the cache and laid out the way
# CMake's FindCUDAToolkit expects (unversioned .so links added).
cache="${XDG_CACHE_HOME:-$HOME/.cache}/whisper-hub"
if [ -n "${CUDACXX:-}" ] || command -v nvcc >/dev/null 2>&1; then
  echo "CUDA toolchain: $(${CUDACXX:-nvcc} --version | tail -n 1)"
  return 0 2>/dev/null || exit 0
fi
root="$cache/cuda-13/x/nvidia/cu13"
if [ ! -x "$root/bin/nvcc" ]; then
  echo "fetching the CUDA 13 toolchain from PyPI (NVIDIA's wheels, ~520 MB) into $cache/cuda-13"
  mkdir -p "$cache/cuda-wheels" "$cache/cuda-13"
  pip download --no-deps -q -d "$cache/cuda-wheels" \
    nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88 \
    nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85 nvidia-cublas==13.0.2.14 || { echo "could not fetch the CUDA wheels"; return 1 2>/dev/null || exit 1; }
  for wheel in "$cache"/cuda-wheels/*.whl; do python3 -m zipfile -e "$wheel" "$cache/cuda-13/x"; done
  chmod +x "$root"/bin/* "$root"/nvvm/bin/*
fi
# nvcc links from lib64 (its nvcc.profile); the wheels put everything in lib
[ -e "$root/lib64" ] || ln -s lib "$root/lib64"
for lib in cudart cublas cublasLt; do
  [ -e "$root/lib/lib$lib.so" ] || ln -s "lib$lib.so.13" "$root/lib/lib$lib.so"
done
export CUDACXX="$root/bin/nvcc" CUDAToolkit_ROOT="$root" PATH="$root/bin:$PATH" LD_LIBRARY_PATH="$root/lib:${LD_LIBRARY_PATH:-}"
echo "CUDA toolchain: $("$CUDACXX" --version | tail -n 1) (from PyPI, $root)"
