"""A long fuzzing campaign: random well-typed expressions through the whole
pipeline, and random / mutated text through the parser.

    python bench/campaign.py                       # 5,000 expressions, 100,000 parser inputs
    python bench/campaign.py --n 1000 --fuzz 20000 --seed 1

Prints, for the expressions: derived and verified, refused with a clear error,
crashed (must be 0; emitted code that does not load, raises or returns the
wrong shape counts as a crash), wrong-but-claimed-right (an emitted module that
fails its check; the CLI would print the result, so it must be 0), how many
emitted functions were run, how many results the stability probe rejected
with today's emitter and with the emitter before issue 11 (``--before``
re-derives each expression that way: forms chosen by length only, without
the common-denominator form and the stable rewrites 1 - σ(x) = σ(-x),
1 - tanh² = 4σ(2x)σ(-2x)), the other failure kinds of tests/fuzz_check.py,
and median / worst derivation time; for the parser: inputs, parsed, refused
with a MatcalcError, crashed, slowest.
Each distinct failure is shrunk to a small document and printed at the end
(``--json FILE`` writes them all).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]   # this checkout's matcalc, not an installed one

import hypothesis  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from fuzz_check import BAD, KINDS, examine, shrink  # noqa: E402
from strategies import derivations  # noqa: E402


def progress(done: int, total: int, counts: Counter, start: float) -> None:
    rate = done / max(time.perf_counter() - start, 1e-9)
    summary = " ".join(f"{k}={counts[k]}" for k in KINDS if counts[k])
    print(f"\r  {done:>7,}/{total:,}  {rate:7.1f}/s  {summary}", end="", file=sys.stderr, flush=True)


@contextmanager
def emitter_before_issue_11():
    """The emitter as it was: elementwise forms chosen by length alone among the
    chain rule's and the expanded one, and no stable rewrites rooted at ``-``."""
    import sympy

    from matcalc.matrix import algebra, conditioning
    from matcalc.ops import REWRITES

    saved = algebra.FORMS, algebra.choose, list(REWRITES.get("sub", []))
    algebra.FORMS = saved[0][:2]
    algebra.choose = lambda candidates, size, op_of: min(
        (e for _, e in candidates), key=lambda e: (size(e), sympy.default_sort_key(e)))
    REWRITES["sub"] = [r for r in saved[2] if r.name not in ("sigmoid complement", "tanh derivative")]
    conditioning.instability.cache_clear()
    try:
        yield
    finally:
        algebra.FORMS, algebra.choose = saved[0], saved[1]
        REWRITES["sub"] = saved[2]


def expressions(n: int, seed: int, shrink_budget: int, before: bool = False, kinds: tuple[str, ...] = ()):
    counts: Counter = Counter()
    earlier: Counter = Counter()      # outcomes with the emitter before issue 11 (--before)
    functions = [0, 0, 0]             # functions run, modules loaded, derivations made
    refusals: Counter = Counter()
    times: list[float] = []
    failures: dict[tuple, dict] = {}
    slowest: list = []
    start = time.perf_counter()

    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(derivations(kinds=kinds))
    def run(drawn):
        outcome = examine(drawn.doc)
        counts[outcome.kind] += 1
        functions[0] += outcome.functions
        functions[1] += outcome.functions > 0
        functions[2] += outcome.derived
        if before:
            with emitter_before_issue_11():
                earlier[examine(drawn.doc).kind] += 1
        times.append(outcome.seconds)
        if outcome.seconds >= max(times):
            slowest[:] = [outcome.seconds, drawn.doc]
        if outcome.kind == "refused":
            refusals[_reason(outcome.detail)] += 1
        if outcome.kind in BAD and outcome.signature not in failures:
            failures[outcome.signature] = {"kind": outcome.kind, "drawn": drawn.doc,
                                           "detail": outcome.detail, "outcome": outcome}
        done = sum(counts.values())
        if done % 25 == 0 or done == n:
            progress(done, n, counts, start)

    hypothesis.seed(seed)(run)()   # a fixed seed, so a campaign can be repeated
    print(file=sys.stderr)
    print(f"  shrinking {len(failures)} distinct failures ...", file=sys.stderr, flush=True)
    for f in failures.values():
        small, small_outcome = shrink(f["drawn"], f.pop("outcome"), budget=shrink_budget)
        f["shrunk"], f["shrunk_detail"] = small, small_outcome.detail
    if slowest:
        doc = slowest[1]
        print(f"  slowest ({slowest[0]:.2f} s): {doc['expr']!r} symbols={doc['symbols']} wrt={doc['wrt']} "
              f"order={doc['order']} dims={doc['dims']}", file=sys.stderr)
    return counts, times, list(failures.values()), refusals, earlier, functions


def _reason(message: str) -> str:
    """A refusal's kind: its first line with names and shapes blanked out."""
    line = message.splitlines()[0]
    line = re.sub(r"'[^']*'|`[^`]*`|\[[^\]]*\]|\([^)]*\)", "…", line)
    return line[:90]


def parser_fuzz(n: int, seed: int):
    from matcalc.errors import MatcalcError
    from support import parse_in_scope
    from matcalc.parse import parse
    from test_fuzz_parser import SEED_PROBLEMS, mutate

    rng = random.Random(seed)
    counts: Counter = Counter()
    slowest = (0.0, "")
    crashes: list[str] = []
    start = time.perf_counter()
    for i in range(n):
        kind = i % 4
        if kind == 0:
            text = bytes(rng.randrange(256) for _ in range(rng.randint(0, 80))).decode("utf-8", "replace")
        elif kind == 1:
            text = "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x10FFFF)]))
                           for _ in range(rng.randint(0, 60)))
            text = text.encode("utf-8", "replace").decode("utf-8", "replace")
        else:
            text, symbols, dims = rng.choice(SEED_PROBLEMS)
            text = mutate(text, rng)
        t0 = time.perf_counter()
        try:
            parse_in_scope(text) if kind < 2 else parse(text, symbols, dims)
            counts["parsed"] += 1
        except MatcalcError:
            counts["refused"] += 1
        except Exception as exc:  # noqa: BLE001
            counts["crashed"] += 1
            crashes.append(f"{type(exc).__name__}: {exc} for {text[:200]!r}")
        took = time.perf_counter() - t0
        if took > slowest[0]:
            slowest = (took, text[:80])
        if (i + 1) % 1000 == 0 or i + 1 == n:
            rate = (i + 1) / (time.perf_counter() - start)
            print(f"\r  {i + 1:>7,}/{n:,}  {rate:8.0f}/s  " + " ".join(f"{k}={v}" for k, v in counts.items()),
                  end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return counts, slowest, crashes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=5000, help="random expressions to derive (default 5,000)")
    ap.add_argument("--fuzz", type=int, default=100_000, help="parser fuzz inputs (default 100,000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shrink-budget", type=int, default=200, help="derivations spent shrinking each failure")
    ap.add_argument("--json", type=Path, help="write every distinct failure (drawn and shrunk) here")
    ap.add_argument("--before", action="store_true", help="also derive each expression with the emitter "
                    "before issue 11, and count what the stability probe rejects there")
    ap.add_argument("--higher", action="store_true", help="draw mostly derivatives in the vec convention: "
                    "matrix or vector expressions w.r.t. matrices or vectors, and Hessians w.r.t. matrices")
    args = ap.parse_args(argv)
    kinds = ("vec_jacobian",) * 8 + ("matrix_hessian",) * 8 if args.higher else ()

    print(f"random expressions: {args.n:,} (seed {args.seed})", file=sys.stderr)
    counts, times, failures, refusals, earlier, functions = (
        expressions(args.n, args.seed, args.shrink_budget, args.before, kinds) if args.n
        else (Counter(), [], [], Counter(), Counter(), [0, 0, 0]))
    print(f"parser fuzz: {args.fuzz:,} inputs", file=sys.stderr)
    pcounts, slowest, pcrashes = parser_fuzz(args.fuzz, args.seed) if args.fuzz else (Counter(), (0.0, ""), [])

    total = sum(counts.values())
    other_bad = sum(counts[k] for k in BAD if k not in ("crash", "wrong"))
    print()
    print(f"== {total:,} random expressions ==")
    print(f"  derived and verified            {counts['verified']:>7,}")
    print(f"  refused with a clear error      {counts['refused']:>7,}")
    for reason, k in refusals.most_common(6):
        print(f"      {k:>5,}  {reason}")
    print(f"  crashed (must be 0)             {counts['crash']:>7,}")
    print(f"  wrong-but-claimed-right (0!)    {counts['wrong']:>7,}")
    print(f"  emitted modules loaded and run  {functions[1]:>7,} of {functions[2]:,} derivations; "
          f"{functions[0]:,} functions run by the check")
    print(f"  rejected by the stability probe {counts['unstable']:>7,}"
          + (f"   (with the emitter before issue 11: {earlier['unstable']:,})" if earlier else ""))
    print(f"  other failures (reprint, index form, rejected valid input) {other_bad:,}"
          + (" (" + ", ".join(f"{k}={counts[k]}" for k in BAD if k not in ("crash", "wrong") and counts[k]) + ")"
             if other_bad else ""))
    print(f"  out of float range / non-differentiable point (not judged) {counts['range']:,}")
    if times:
        print(f"  derivation time: median {statistics.median(times) * 1000:.1f} ms, "
              f"worst {max(times):.2f} s")
    print(f"== {sum(pcounts.values()):,} parser fuzz inputs ==")
    print(f"  parsed {pcounts['parsed']:,}, refused with a MatcalcError {pcounts['refused']:,}, "
          f"crashed {pcounts['crashed']:,} (must be 0); slowest {slowest[0] * 1000:.1f} ms")
    for c in pcrashes[:10]:
        print("   ", c)
    if failures:
        print(f"== {len(failures)} distinct failures (shrunk) ==")
        for f in failures:
            s = f["shrunk"]
            print(f"- {f['kind']}: {s['expr']!r}  symbols={s['symbols']}  wrt={s['wrt']} order={s['order']} "
                  f"dims={s['dims']}")
            print("    " + f["shrunk_detail"].splitlines()[0][:300])
    if args.json:
        args.json.write_text(json.dumps(failures, indent=1, default=str))
    return 0 if counts["crash"] == counts["wrong"] == pcounts["crashed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
