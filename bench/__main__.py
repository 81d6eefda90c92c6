"""Run every benchmark module in this package and print its BENCH lines (always exit 0).

``python -m bench`` runs them all; ``python -m bench import_csv_10k`` runs the named ones. Each module runs in a
process of its own (``python -m bench --in-process <name>``), so no benchmark is measured with what an earlier one
left behind: a heap of live objects from one makes the garbage collector's full passes slower in the next (the
240k-marks results line lost 40 % to the marks benchmark that ran before it).

A line ends with its status: ``PASS`` or ``FAIL`` (ratio against target), ``INFO`` (``target=none``: a figure
reported for information, which never fails) or ``SKIP`` (a service it needs is not configured, e.g. PostgreSQL
without ``TEST_DATABASE_URL``). Lines that do not start with ``BENCH`` are comments (details of a line). The last
line sums the statuses up; only FAIL lines count as failures.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
import traceback
from collections import Counter
from pathlib import Path

STATUS = re.compile(r"^BENCH \S+ .* target=\S+ (PASS|FAIL|INFO|SKIP)\b", re.MULTILINE)


def run_module(name: str) -> int:
    """Run one benchmark module here and print its lines."""
    try:
        module = importlib.import_module(f"bench.{name}")
        results = module.run()
        for result in results if isinstance(results, list) else [results]:
            print(result.line(), flush=True)
    except Exception:  # a broken benchmark must not hide the others
        traceback.print_exc()
        print(f"BENCH {name} value=nan baseline=nan ratio=0 target=nan FAIL (error)", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--in-process"]:
        return run_module(argv[1])
    here = Path(__file__).parent
    names = [m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_")]
    if argv:
        names = [n for n in names if n in argv]
    statuses: Counter[str] = Counter()
    for name in sorted(names):
        proc = subprocess.Popen([sys.executable, "-m", "bench", "--in-process", name], stdout=subprocess.PIPE,
                                text=True, cwd=here.parent)
        assert proc.stdout is not None
        lines = 0
        for text in proc.stdout:
            print(text, end="", flush=True)
            lines += text.startswith("BENCH ")
            statuses.update(STATUS.findall(text))
        if proc.wait() != 0 or not lines:
            statuses["FAIL"] += 1
            print(f"BENCH {name} value=nan baseline=nan ratio=0 target=nan FAIL (exit {proc.returncode})", flush=True)
    print("# bench: " + ", ".join(f"{statuses[s]} {s}" for s in ("PASS", "FAIL", "INFO", "SKIP"))
          + " (INFO and SKIP lines are not failures)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
