#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need (libtorch 2.13.0 and
# libgloo-dev for the trainer and the flagship; kfp 2.17.3 in a venv for the upstream
# conformance and parity tests), then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TERM_COLOR=never
LIBTORCH=$(bash scripts/setup-libtorch.sh)
export LIBTORCH
bash scripts/kfp-venv.sh >/dev/null
cargo test --workspace --no-fail-fast
# The PyTorchJob launcher (kube-rs) against a fake API server on 127.0.0.1.
cargo test -p kfp-k8s --features launcher --no-fail-fast
# The benches build (they hold the measurements behind the tuner's defaults and speed claims).
cargo bench -p kfp-runtime --no-run
# Lints: the workspace (with the launcher) stays free of clippy warnings, where clippy is installed.
if cargo clippy --version >/dev/null 2>&1; then
    cargo clippy --workspace --all-targets --features kfp-k8s/launcher -- -D warnings
else
    echo "clippy is not installed (rustup component add clippy): lints skipped" >&2
fi
