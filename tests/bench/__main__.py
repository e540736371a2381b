"""`make bench`: run every tests/bench/bench_*.py module's main() in turn, side-by-side figures and ratios."""

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    only = sys.argv[1:]
    rc = 0
    for name in names:
        if only and name not in only and name.removeprefix("bench_") not in only:
            continue
        print(f"\n=== {name} ===", flush=True)
        rc |= int(importlib.import_module(f"tests.bench.{name}").main() or 0)
    return rc


if __name__ == "__main__":
    sys.exit(main())
