#!/usr/bin/env bash
# Installs libtorch 2.13.0 (the version tch 0.26 requires) under <repo>/.cache and prints the
# directory to export as LIBTORCH. Idempotent: a second run only prints the path.
#
#   LIBTORCH=$(scripts/setup-libtorch.sh)          # CPU-only layout, ~540 MB
#   LIBTORCH=$(scripts/setup-libtorch.sh --cuda)   # full CUDA 13 wheel set, ~4.7 GB, for feature `cuda`
#
# The CPU layout is torch's wheel without its dependencies plus the two CUDA runtime wheels that
# libtorch_cpu.so links (libcudart, libcupti); it finds them through its own RPATH because
# torch/ and nvidia/ stay side by side. The CUDA-only libraries are deleted so nothing can link them.
# --cuda installs the whole wheel set (torch imports too: the trainer bench compares against it)
# plus the CRT and CCCL header wheels that compiling the shim against ProcessGroupNCCL needs.
# Also installs Debian's libgloo-dev, whose headers the c10d shim needs (the wheel ships none).
set -euo pipefail

TORCH_VERSION=2.13.0
CUDA_RUNTIME_WHEEL=nvidia-cuda-runtime==13.0.96
CUPTI_WHEEL=nvidia-cuda-cupti==13.0.85
# Headers only (crt/host_config.h, cuda/std/...), matching the wheel set's CUDA 13.0.
CUDA_HEADER_WHEELS=(nvidia-cuda-crt==13.0.88 nvidia-cuda-cccl==13.0.85)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=cpu
case "${1:-}" in
  "") ;;
  --cuda) mode=cuda ;;
  *) echo "setup-libtorch.sh: unknown argument '$1' (expected nothing or --cuda)" >&2; exit 2 ;;
esac

log() { echo "setup-libtorch: $*" >&2; }

if [ ! -f /usr/include/gloo/algorithm.h ]; then
  log "installing libgloo-dev (gloo headers for the c10d shim)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q libgloo-dev >&2; then
    apt-get update -q >&2
    apt-get install -y -q libgloo-dev >&2
  fi
fi

if [ "$mode" = cpu ]; then
  dir="$repo/.cache/libtorch"
  stamp="$dir/.installed-$TORCH_VERSION"
  if [ ! -f "$stamp" ]; then
    log "installing CPU-only libtorch $TORCH_VERSION into $dir"
    tmp="$dir.tmp.$$"
    rm -rf "$tmp"
    python3 -m pip install -q --disable-pip-version-check --no-deps --target "$tmp" \
      "torch==$TORCH_VERSION" "$CUDA_RUNTIME_WHEEL" "$CUPTI_WHEEL" >&2
    for lib in libtorch_cuda.so libtorch_cuda_linalg.so libc10_cuda.so libtorch_nvshmem.so \
               libcaffe2_nvrtc.so libtorch_python.so; do
      rm -f "$tmp/torch/lib/$lib"
    done
    touch "$tmp/.installed-$TORCH_VERSION"
    rm -rf "$dir"
    mv "$tmp" "$dir"
  fi
  echo "$dir/torch"
else
  venv="$repo/.cache/torch-venv"
  stamp="$venv/.installed-$TORCH_VERSION"
  if [ ! -f "$stamp" ]; then
    log "installing the full torch $TORCH_VERSION wheel set into $venv (2.7 GB download)"
    python3 -m venv "$venv"
    # No pip cache: it would keep a second copy of the 2.7 GB of wheels.
    "$venv/bin/pip" install -q --disable-pip-version-check --no-cache-dir "torch==$TORCH_VERSION" >&2
    touch "$stamp"
  fi
  headers_stamp="$venv/.cuda-headers-$TORCH_VERSION"
  if [ ! -f "$headers_stamp" ]; then
    log "installing the CUDA CRT and CCCL headers into $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check --no-cache-dir --no-deps "${CUDA_HEADER_WHEELS[@]}" >&2
    touch "$headers_stamp"
  fi
  "$venv/bin/python" -c 'import os, torch; print(os.path.dirname(torch.__file__))'
fi
