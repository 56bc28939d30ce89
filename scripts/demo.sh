#!/usr/bin/env bash
# The main job: compile every example pipeline to Kubeflow IR YAML, then run the flagship
# (wine-quality: load -> preprocess -> tune -> DDP train -> evaluate -> register) locally.
# Installs libtorch 2.13.0 on first use. Extra arguments go to the pipeline (e.g. n_trials=20).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
LIBTORCH=$(bash scripts/setup-libtorch.sh)
export LIBTORCH
cargo build --release --bin compile --bin kfp
target/release/compile --out compiled
target/release/kfp local run compiled/wine-quality.yaml registry="$PWD/model-registry" "$@" \
  --binary target/release/compile --root kfp-local-runs --run-id "demo-$(date -u +%Y%m%d-%H%M%S)"
run=$(ls -td kfp-local-runs/wine-quality/*/ | head -1)
echo
echo "== summary =="
python3 - "$run" "$PWD/model-registry/wine-quality" <<'PY'
import json, os, sys
run, registry = sys.argv[1], sys.argv[2]
def outputs(task):
    path = os.path.join(run, task, "output_metadata.json")
    return json.load(open(path)) if os.path.exists(path) else {}
evaluation = outputs("evaluate-model")
metrics = evaluation.get("artifacts", {}).get("metrics", {}).get("artifacts", [{}])[0].get("metadata", {})
print(f"test accuracy {metrics.get('accuracy', float('nan')):.4f}, ROC AUC {metrics.get('roc_auc', float('nan')):.4f}")
report = os.path.join(run, "evaluate-model", "artifacts", "report")
print(f"plots (loss curves, tuning history): {report}")
latest = os.path.join(registry, "latest")
if os.path.exists(latest):
    print(f"registered: {os.path.join(registry, open(latest).read().strip())}")
else:
    print("not registered: the test accuracy is below accuracy_threshold")
print(f"run folder: {run}")
PY
