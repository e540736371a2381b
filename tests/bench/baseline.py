"""A past commit's files for a bench's "before" column: extracted once with `git archive` into the cache.

The baseline runs as it was, not as a copy kept in the tree that drifts from the commit it claims to be.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "openedx-scale-bench"


def tree(commit: str, path: str, under: str = "") -> Path | None:
    """``path`` of the repository at ``commit``, extracted below ``<cache>/<commit>/<under>``; that root, or None when
    this clone lacks the commit (a shallow clone)."""
    root = CACHE / commit[:12]
    target = root / under
    if (target / path).exists():
        return root
    if subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", commit + "^{commit}"], capture_output=True, check=False).returncode:
        return None
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, path], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return root
