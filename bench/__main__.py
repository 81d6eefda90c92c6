"""Run every benchmark module in this package and print its BENCH lines (always exit 0).

``python -m bench`` runs them all; ``python -m bench import_csv_10k`` runs the named ones.

A line ends with its status: ``PASS`` or ``FAIL`` (ratio against target), ``INFO`` (``target=none``: a figure
reported for information, which never fails) or ``SKIP`` (a service it needs is not configured, e.g. PostgreSQL
without ``TEST_DATABASE_URL``). Lines that do not start with ``BENCH`` are comments (details of a line). The last
line sums the statuses up; only FAIL lines count as failures.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
import traceback
from collections import Counter
from pathlib import Path

STATUS = re.compile(r"^BENCH \S+ .* target=\S+ (PASS|FAIL|INFO|SKIP)\b", re.MULTILINE)


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = [m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_")]
    if argv:
        names = [n for n in names if n in argv]
    statuses: Counter[str] = Counter()
    for name in sorted(names):
        try:
            module = importlib.import_module(f"bench.{name}")
            results = module.run()
            for result in results if isinstance(results, list) else [results]:
                text = result.line()
                statuses.update(STATUS.findall(text))
                print(text, flush=True)
        except Exception:  # a broken benchmark must not hide the others
            traceback.print_exc()
            statuses["FAIL"] += 1
            print(f"BENCH {name} value=nan baseline=nan ratio=0 target=nan FAIL (error)", flush=True)
    print("# bench: " + ", ".join(f"{statuses[s]} {s}" for s in ("PASS", "FAIL", "INFO", "SKIP"))
          + " (INFO and SKIP lines are not failures)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
