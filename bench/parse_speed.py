"""Parse speed: 10,000 terms and nesting depth 500.

Run from the repository root:  python bench/parse_speed.py
"""

from __future__ import annotations

import time

from matcalc.ir import Symbol
from matcalc.parse import parse

SYMBOLS = {"x": Symbol(("n",), "x"), "X": Symbol(("n", "m"), "X"), "y": Symbol(("m",), "y")}
DIMS = {"n": 3, "m": 4}

CASES = {
    "10,000 terms   x + x + ... + x": " + ".join(["x"] * 10_000),
    "10,000 terms   k * exp(x) - X @ y / n + ...": " + ".join(f"{i % 7} * exp(x) - X @ y / n"
                                                           for i in range(10_000)),
    "depth 500      ((((x))))": "(" * 500 + "x" + ")" * 500,
    "depth 500      exp(exp(...(x)))": "exp(" * 500 + "x" + ")" * 500,
}


def best_of(text: str, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        parse(text, SYMBOLS, DIMS)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    for label, text in CASES.items():
        seconds = best_of(text)
        print(f"{label:45s} {len(text):>9,} chars  {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
