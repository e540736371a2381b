#!/usr/bin/env bash
# Kubernetes control-plane test bed: build | up [--nodeset NAME] [--reuse] | down | status [--json] | env | nodes NAME
# See docs/testbed.md. Runs the Python implementation (tests/sandbox/kube) with the repo's venv.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
python="${repo}/.venv/bin/python"
if [[ ! -x "${python}" ]]; then
  echo "testbed.sh: ${python} missing; run 'make bootstrap' first" >&2
  exit 2
fi
cd "${repo}"
exec "${python}" -m tests.sandbox.kube "$@"
