"""Are the results as short as before?  Op counts of every result, compared between commits.

    python bench/forms.py --save before.json                 # on the old commit
    python bench/forms.py --against before.json              # on the new one
    python bench/forms.py --repo /tmp/old --save before.json # measure another checkout

Derives (without the numerical check) every case of tests/cases.py, every gallery
case in derivations/*.yaml and ``--random`` expressions drawn with a fixed seed from
the fuzzer's strategy (tests/strategies.py), and records each result's operation count
(the operations written out, shared parts counted at every use: what a reader reads).
``--against`` prints how many results are equal, shorter and longer than in the saved
file, lists the longer ones, and exits 1 when any is longer.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def measure(repo: Path, n_random: int, seed: int) -> dict[str, dict]:
    sys.path[:0] = [str(repo), str(repo / "tests")]
    import hypothesis
    import matcalc
    from cases import REQUIRED as ALL
    from hypothesis import HealthCheck, Phase, given, settings
    from matcalc import ir
    from matcalc.errors import MatcalcError
    from strategies import derivations

    out: dict[str, dict] = {}

    def record(key: str, doc) -> None:
        try:
            ds = matcalc.derive(doc, verify=False)
        except MatcalcError as exc:
            out[key] = {"refused": type(exc).__name__}
            return
        except Exception as exc:      # a crash is counted as a refusal, and said, never fatal
            print(f"crash: {type(exc).__name__}: {exc} in {key[:120]}", file=sys.stderr)
            out[key] = {"refused": "crash"}
            return
        for d in ds if isinstance(ds, list) else [ds]:
            for s, r in d.results.items():
                ops = ir.tree_size(r.matrix, count=lambda node: isinstance(node, ir.Apply))
                out[f"{key}/{d.name}/{s}"] = {"ops": ops, "text": r.text[:200]}

    for case in ALL:
        record(f"case:{case.id}", case.doc())
    for path in sorted((repo / "derivations").glob("*.yaml")):
        record(f"gallery:{path.stem}", str(path))
    drawn: list = []

    @settings(max_examples=n_random, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(derivations())
    def draw(d):
        drawn.append(d.doc)

    if n_random:
        hypothesis.seed(seed)(draw)()
    for doc in drawn:        # keyed by content: two registries draw different sequences
        record(f"random:{doc['expr']}|{doc['symbols']}|{doc['wrt']}|{doc['order']}", doc)
    return out


def compare(before: dict, after: dict) -> int:
    equal = shorter = longer = refused_now = answered_now = 0
    worse = []
    for key, old in before.items():
        new = after.get(key)
        if new is None:
            continue
        if "refused" in old or "refused" in new:
            refused_now += "refused" in new and "refused" not in old
            answered_now += "refused" in old and "refused" not in new
            continue
        if new["ops"] == old["ops"]:
            equal += 1
        elif new["ops"] < old["ops"]:
            shorter += 1
        else:
            longer += 1
            worse.append((key, old, new))
    print(f"{equal} equal, {shorter} shorter, {longer} longer; "
          f"{answered_now} refused before and answered now, {refused_now} answered before and refused now")
    for key, old, new in worse:
        print(f"  longer {key}: {old['ops']} -> {new['ops']}\n    was {old['text']}\n    now {new['text']}")
    return 1 if longer or refused_now else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    ap.add_argument("--random", type=int, default=500, help="random expressions (default 500)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--save", type=Path, help="write the measurements here")
    ap.add_argument("--against", type=Path, help="compare with measurements saved earlier")
    args = ap.parse_args(argv)
    now = measure(args.repo.resolve(), args.random, args.seed)
    print(f"{len(now)} results measured", file=sys.stderr)
    if args.save:
        args.save.write_text(json.dumps(now, indent=1))
    if args.against:
        return compare(json.loads(args.against.read_text()), now)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
