#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine: Debian packages, the .venv with pinned
# Python requirements, the collection link ansible needs, and the offline pip shim for ansible-test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

log() { printf '[bootstrap] %s\n' "$*"; }

# 1. Debian packages (only when one is missing, so a warm run makes no apt call).
mapfile -t pkgs < <(grep -v -e '^#' -e '^$' tools/apt-packages.txt)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    log "missing Debian packages: ${missing[*]} (run as root, or install them)"; exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. The .venv, re-synced whenever a requirements file changes.
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [[ ! -x .venv/bin/python || "$(cat .venv/.requirements.sha 2>/dev/null)" != "$want" ]]; then
  log "installing Python requirements into .venv"
  [[ -x .venv/bin/python ]] || python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements-dev.txt
  echo "$want" > .venv/.requirements.sha
fi

# 3. The checkout as collection openedx_scale.oke (ansible.cfg points collections_path here).
mkdir -p build/collections/ansible_collections/openedx_scale
ln -sfn "$root" build/collections/ansible_collections/openedx_scale/oke

# 4. ansible-test bootstraps pip in its managed venvs from a script it downloads from a host this
#    network cannot reach. A local stand-in installs the same pinned pip from the package index.
pip_ver=$(.venv/bin/python - <<'PY'
import pathlib, re, ansible_test
src = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
shim="$HOME/.ansible/test/cache/get_pip_${pip_ver//./_}.py"
if [[ ! -f "$shim" ]]; then
  mkdir -p "$(dirname "$shim")"
  cat > "$shim" <<'PY'
"""Offline stand-in for ansible-test's get-pip bootstrap: ensurepip, then the requested pip from the index."""
import subprocess
import sys

# ensurepip in a child process: in-process it sets PIP_CONFIG_FILE=/dev/null, hiding pip.conf and its CA bundle.
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "-q"] + args))
PY
  log "wrote ansible-test pip shim $shim"
fi
