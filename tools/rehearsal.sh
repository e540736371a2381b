#!/usr/bin/env bash
# make rehearsal [RENDER_ONLY=1]: the whole pipeline on the local stand-ins (tests/rehearsal), every stage for real:
# the deploy stage applies onto the Kubernetes test bed, which is built when missing. Its cold Go build is the slowest
# step of a fresh machine, so it starts first, in the background (standard library only: before `make bootstrap`),
# and overlaps the bootstrap and the provision stage; `testbed up` waits for it. RENDER_ONLY=1 renders the deploy
# stage instead and skips the seeding (no build, no test bed).
# When a stage fails, tear down what was created and stop the stand-ins anyway, so a failed rehearsal leaves nothing
# behind; the exit status is the rehearsal's. The summary at the end lists each stage as applied, rendered or skipped.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
inventory=${INVENTORY:-tests/rehearsal/inventory}
start=$(date +%s)
mkdir -p build/rehearsal
stages=build/rehearsal/stages.tsv
: >"$stages"
log() { printf '[rehearsal] %s\n' "$*"; }

mode=testbed
build_pid=
if [[ "${RENDER_ONLY:-}" == 1 ]]; then
  mode=render
elif ! python3 -m tests.sandbox.kube.build --check 2>/dev/null; then
  log "the test bed is not built: building it in the background (log: build/rehearsal/testbed-build.log)"
  python3 -m tests.sandbox.kube.build --progress 60 2>&1 | tee build/rehearsal/testbed-build.log | grep --line-buffered '^\[testbed\]' >&2 &
  build_pid=$!
fi

bash tools/bootstrap.sh || exit 1
PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$PWD/build/collections" ANSIBLE_CONFIG="$PWD/ansible.cfg"
bootstrapped=$(date +%s)
# The VMs' root fs (debootstrap, once per host) beside the provision stage too; the first VM's boot waits for it.
.venv/bin/python -m tests.sandbox.machines rootfs >build/rehearsal/rootfs.log 2>&1 &

# Every OCI wait of our modules advances the OCI sandbox's virtual clock instead of sleeping (node pools that take
# minutes on OCI take seconds here): the hook on PYTHONPATH reads the sandbox's URL once it has started.
export PYTHONPATH="$PWD/tests/sandbox/oci/pyhook${PYTHONPATH:+:$PYTHONPATH}"
export OPENEDX_SCALE_OCI_SANDBOX_CLOCK_FILE="$PWD/build/sandbox/oci/endpoint"
# The edge roles install their Helm charts: a helm built from its Go module, the charts from the pinned source trees.
helm_env=$(.venv/bin/python -m tests.helpers.helm) || { log "cannot build helm or prepare the charts" >&2; exit 1; }
eval "$helm_env"
ansible-playbook -i "$inventory" tests/rehearsal/rehearsal.yml -e sandbox_kube_mode="$mode" "$@"
rc=$?
if ((rc != 0)); then
  log "failed (rc=$rc): tearing down and stopping the stand-ins" >&2
  if [[ -s build/sandbox/oci/endpoint ]]; then
    ansible-playbook -i "$inventory" playbooks/teardown.yml
  fi
  ansible-playbook -i "$inventory" tests/rehearsal/sandbox.yml -e sandbox_state=stopped -e '{"sandbox_components": ["lms", "oci", "kube"]}'
fi
[[ -n "$build_pid" ]] && wait "$build_pid"

end=$(date +%s)
log "summary ($(( end - start )) s, rc=$rc):"
printf '  %-18s %-11s %6s  %s\n' bootstrap applied "$(( bootstrapped - start ))s" ".venv, Debian packages"
prev=$bootstrapped
for stage in "provision cluster" "provision VMs" "test bed" deploy seed "load test" teardown; do
  line=$(awk -F'\t' -v s="$stage" '$1 == s' "$stages" | tail -1)
  if [[ -z "$line" ]]; then
    printf '  %-18s %-11s\n' "$stage" "not reached"
    continue
  fi
  IFS=$'\t' read -r _ status at detail <<<"$line"
  printf '  %-18s %-11s %6s  %s\n' "$stage" "$status" "$(( at - prev ))s" "$detail"
  prev=$at
done
exit "$rc"
