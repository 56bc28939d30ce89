#!/usr/bin/env bash
# The main job: compile every example pipeline to Kubeflow IR YAML, then run one locally.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --bin compile --bin kfp
target/release/compile --out compiled
target/release/kfp local run compiled/training-pipeline.yaml dataset_uri="$PWD/README.md" \
  --binary target/release/compile --root kfp-local-runs
