"""Run every benchmark module in this package and print one BENCH line per benchmark (always exit 0).

``python -m bench`` runs them all; ``python -m bench import_csv_10k`` runs the named ones.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = [m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_")]
    if argv:
        names = [n for n in names if n in argv]
    for name in sorted(names):
        try:
            module = importlib.import_module(f"bench.{name}")
            results = module.run()
            for result in results if isinstance(results, list) else [results]:
                print(result.line(), flush=True)
        except Exception:  # a broken benchmark must not hide the others
            traceback.print_exc()
            print(f"BENCH {name} value=nan baseline=nan ratio=0 target=nan FAIL (error)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
