#!/usr/bin/env bash
# make rehearsal: the whole pipeline on the sandbox inventory. When a stage fails, tear down what was created and
# stop the stand-ins anyway, so a failed rehearsal leaves nothing behind; the exit status is the rehearsal's.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
inventory=${INVENTORY:-inventories/sandbox}
start=$(date +%s)
ansible-playbook -i "$inventory" playbooks/rehearsal.yml "$@"
rc=$?
if ((rc != 0)); then
  echo "[rehearsal] failed (rc=$rc): tearing down and stopping the stand-ins" >&2
  if [[ -s build/sandbox/oci/endpoint ]]; then
    url=$(cat build/sandbox/oci/endpoint)
    ansible-playbook -i "$inventory" playbooks/teardown.yml -e "oke_cluster_sandbox_clock_url=$url" -e "loadgen_vms_sandbox_clock_url=$url"
  fi
  ansible-playbook -i "$inventory" playbooks/sandbox.yml -e sandbox_state=stopped -e '{"sandbox_components": ["lms", "oci", "kube"]}'
fi
echo "[rehearsal] finished in $(( $(date +%s) - start )) s (rc=$rc)"
exit "$rc"
