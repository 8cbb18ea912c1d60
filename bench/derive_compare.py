"""Derivation time of this checkout against another one, side by side in one run.

    python bench/derive_compare.py /path/to/other/checkout [--repeat 5]

Two worker processes, one per checkout, derive the same documents (every required
result of tests/cases.py, every gallery case, and the L-layer tanh chain for
L = 4, 8, 16 w.r.t. every weight), verification off, taking turns case by case
so that load on the (shared, 2-core) machine hits both alike.  Prints the median
time of each document in each checkout, the ratio this ÷ other per document, and
the median and geometric mean of the ratios.  BLAS is pinned to one thread.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

WORKER = r"""
import json, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests"]
import matcalc
for line in sys.stdin:
    doc = json.loads(line)
    start = time.perf_counter()
    matcalc.derive(doc, verify=False)
    print(time.perf_counter() - start, flush=True)
"""


def chain(L: int) -> dict:
    expr = "X"
    for i in range(1, L + 1):
        expr = f"tanh({expr} @ W{i})"
    syms = {"X": {"shape": ["n", "m"]}} | {f"W{i}": {"shape": ["m", "m"]} for i in range(1, L + 1)}
    return {"name": f"chain{L}", "dims": {"n": 5, "m": 4}, "symbols": syms, "expr": f"sum({expr})",
            "wrt": [f"W{i}" for i in range(1, L + 1)]}


def documents(root: Path) -> list[tuple[str, object]]:
    sys.path[:0] = [str(root / "tests")]
    from cases import REQUIRED
    import yaml

    docs = [(c.id, c.doc()) for c in REQUIRED]
    for path in sorted((root / "derivations").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        if "derivations" not in doc:
            docs.append((f"gallery:{path.stem}", doc))
    docs += [(f"chain{L}", chain(L)) for L in (4, 8, 16)]
    return docs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("other", type=Path, help="the checkout to compare with (e.g. a worktree of the previous commit)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    workers = {name: subprocess.Popen([sys.executable, "-c", WORKER, str(root)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True, env=env)
               for name, root in (("this", HERE), ("other", args.other.resolve()))}
    ratios = []
    print(f"{'document':34} {'this ms':>9} {'other ms':>9} {'ratio':>6}")
    for key, doc in documents(HERE):
        line = json.dumps(doc) + "\n"
        times: dict[str, list[float]] = {"this": [], "other": []}
        for _ in range(args.repeat):
            for name, w in workers.items():
                w.stdin.write(line)
                w.stdin.flush()
                times[name].append(float(w.stdout.readline()))
        a, b = statistics.median(times["this"]), statistics.median(times["other"])
        ratios.append(a / b)
        print(f"{key[:34]:34} {a * 1e3:9.1f} {b * 1e3:9.1f} {a / b:6.2f}")
    for w in workers.values():
        w.stdin.close()
        w.wait()
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"\n{len(ratios)} documents: this / other time ratio, median {statistics.median(ratios):.2f}, "
          f"geometric mean {geo:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
