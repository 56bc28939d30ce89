#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need (kfp 2.17.3 in a venv
# for the upstream conformance and parity tests; libtorch 2.13.0 and libgloo-dev for the
# trainer), then runs every test of the workspace, and the trainer's tests with libtorch.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TERM_COLOR=never

bash scripts/kfp-venv.sh >/dev/null
cargo test --workspace --no-fail-fast

LIBTORCH=$(bash scripts/setup-libtorch.sh)
export LIBTORCH
cargo test -p kfp-runtime --features torch --no-fail-fast
