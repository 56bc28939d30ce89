#!/usr/bin/env bash
# Creates (or reuses) a Python venv with the upstream Kubeflow Pipelines SDK 2.17.3 under
# <repo>/.cache/kfp-venv and prints its python. Idempotent: a second run only prints the path.
#
#   PY=$(scripts/kfp-venv.sh)            # default location
#   PY=$(scripts/kfp-venv.sh DIR)        # another location
#
# Used by the executor-overhead benchmark (kfp's Python executor as the peer) and the IR
# conformance tests (kfp's loader and protobuf schema as the judge).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${1:-"$repo/.cache/kfp-venv"}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import kfp, kfp.kubernetes, yaml' 2>/dev/null; then
  echo "kfp-venv: installing kfp 2.17.3 into $venv" >&2
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    kfp==2.17.3 kfp-pipeline-spec==2.17.3 kfp-kubernetes==2.17.3 pyyaml >&2
fi
echo "$venv/bin/python"
