#!/usr/bin/env bash
# make rehearsal: the whole pipeline on the local stand-ins (tests/rehearsal). When a stage fails, tear down what was
# created and stop the stand-ins anyway, so a failed rehearsal leaves nothing behind; the exit status is the rehearsal's.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
inventory=${INVENTORY:-tests/rehearsal/inventory}
# Every OCI wait of our modules advances the OCI sandbox's virtual clock instead of sleeping (node pools that take
# minutes on OCI take seconds here): the hook on PYTHONPATH reads the sandbox's URL once it has started.
export PYTHONPATH="$PWD/tests/sandbox/oci/pyhook${PYTHONPATH:+:$PYTHONPATH}"
export OPENEDX_SCALE_OCI_SANDBOX_CLOCK_FILE="$PWD/build/sandbox/oci/endpoint"
# The edge roles install their Helm charts: a helm built from its Go module, the charts from the pinned source trees.
helm_env=$(.venv/bin/python -m tests.helpers.helm) || { echo "[rehearsal] cannot build helm or prepare the charts" >&2; exit 1; }
eval "$helm_env"
start=$(date +%s)
ansible-playbook -i "$inventory" tests/rehearsal/rehearsal.yml "$@"
rc=$?
if ((rc != 0)); then
  echo "[rehearsal] failed (rc=$rc): tearing down and stopping the stand-ins" >&2
  if [[ -s build/sandbox/oci/endpoint ]]; then
    ansible-playbook -i "$inventory" playbooks/teardown.yml
  fi
  ansible-playbook -i "$inventory" tests/rehearsal/sandbox.yml -e sandbox_state=stopped -e '{"sandbox_components": ["lms", "oci", "kube"]}'
fi
echo "[rehearsal] finished in $(( $(date +%s) - start )) s (rc=$rc)"
exit "$rc"
