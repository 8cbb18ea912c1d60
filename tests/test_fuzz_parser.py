"""Hostile text for the parser and the YAML loader.

Parser: random bytes decoded as text, random unicode, mutated valid
expressions (the gallery's and the engine's required cases), very long and
very deep inputs: over 2,000 inputs in all.  For each: a tree or one of
matcalc's own errors (a MatcalcError subclass), never another exception,
never anything executed (an audit hook watches for exec, compile, open,
os.system and subprocess while the parser runs), each under a second.

YAML (what tests/test_bad_inputs.py and tests/test_limits.py do not already
cover): a billion-laughs alias bomb, a 10 MB file, 10^4-deep nesting, huge
numbers, negative sizes, duplicate keys in nested maps, non-UTF-8 bytes,
files that never end or block (/dev/zero, a FIFO): refused before they are
read in full (a clear error naming why), exit 2, no traceback.
"""

from __future__ import annotations

import os
import random
import sys
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matcalc
from matcalc.errors import MatcalcError
from matcalc.parse import parse
from matcalc.spec import load
from cases import REQUIRED
from support import REPO, parse_in_scope, run_cli

SECONDS = 1.0
N_BYTES = 600
N_MUTATIONS = 1000
N_YAML_MUTATIONS = 300

# -- never executed: an audit hook that records what the parser must not do -----

_WATCHING = False
_SEEN: list[str] = []
_FORBIDDEN = ("exec", "compile", "open", "os.system", "os.exec", "os.posix_spawn", "subprocess.Popen",
              "os.spawn", "ctypes.dlopen", "import")


def _audit(event: str, args) -> None:
    if _WATCHING and event.startswith(_FORBIDDEN):
        _SEEN.append(event)


sys.addaudithook(_audit)


def check_parse(text: str, symbols=None, dims=None) -> None:
    """The property: a tree or a MatcalcError, nothing executed, under a second."""
    global _WATCHING
    _SEEN.clear()
    start = time.process_time()   # CPU time: other processes on the machine do not count
    _WATCHING = True
    try:
        parse_in_scope(text) if symbols is None else parse(text, symbols, dims)
    except MatcalcError as exc:
        assert exc.message, repr(text)
        str(exc)   # the error renders (caret under the offending part) without failing
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"{type(exc).__name__}: {exc} for input {text[:200]!r}") from exc
    finally:
        _WATCHING = False
    seconds = time.process_time() - start
    assert not _SEEN, f"the parser did {_SEEN} for {text[:200]!r}"
    assert seconds < SECONDS, f"{seconds:.2f} s for {text[:200]!r}"


# -- the valid expressions that get mutated ---------------------------------------

def _seed_problems():
    """(expression, symbols, dims) of every gallery file and required engine case."""
    out = []
    for path in sorted((REPO / "derivations").glob("*.yaml")):
        problems, _ = load(path)
        out.extend(problems)
    out.extend(load(c.doc())[0][0] for c in REQUIRED)
    return [(p.expr_text, p.symbols, p.dims) for p in out]


SEED_PROBLEMS = _seed_problems()
SEEDS = [text for text, _, _ in SEED_PROBLEMS]
# tokens a mutation may insert: the language's own pieces and Python's that it refuses
TOKENS = ["(", ")", ".T", "**", "@", ",", "axis=", "axis=1", "'fro'", "\"", "'", "[0]", "lambda x:",
          "__import__('os')", ".__class__", "1e999", "1" * 40, "0x1f", "1j", "..", "::", "=", "\\",
          "#", "\n", "\t", "\x00", "é", "∑", "\u202e", "𝑥", "exp(", "sum(", "ones(n,", "eye(", "-", "+",
          "/", "*", " if ", " for ", "{", "}", "$", ";", "X", "x", "n", "2", ".5", "e", "E-3"]


def mutate(text: str, rng: random.Random) -> str:
    """1-4 edits: insert a character or token, delete, swap, or duplicate a slice."""
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(5)
        pos = rng.randint(0, len(chars))
        if kind == 0:
            chars[pos:pos] = list(rng.choice(TOKENS))
        elif kind == 1 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif kind == 2 and len(chars) > 1:
            i, j = rng.randrange(len(chars)), rng.randrange(len(chars))
            chars[i], chars[j] = chars[j], chars[i]
        elif kind == 3:
            chars[pos:pos] = [chr(rng.randrange(32, 127))]
        elif chars:
            a = rng.randrange(len(chars))
            b = min(len(chars), a + rng.randint(1, 12))
            chars[pos:pos] = chars[a:b]
    return "".join(chars)


# -- parser ---------------------------------------------------------------------

def test_random_bytes():
    rng = random.Random(6)
    for i in range(N_BYTES):
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 80)))
        check_parse(data.decode("utf-8", errors="replace") if i % 2 else data.decode("latin-1"))


@settings(max_examples=500, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80))
def test_random_unicode(text):
    check_parse(text)


@settings(max_examples=200, derandomize=True, deadline=None, database=None)
@given(st.text(alphabet="Xxnm()+-*/@.T,'=0123456789 sumexplogaxis_fro", max_size=60))
def test_random_language_characters(text):
    """Text made of the language's own characters gets further into the parser."""
    check_parse(text)


def test_mutated_valid_expressions():
    rng = random.Random(66)
    for _ in range(N_MUTATIONS):
        text, symbols, dims = rng.choice(SEED_PROBLEMS)
        check_parse(mutate(text, rng), symbols, dims)


def test_the_mutations_reach_the_parser():
    """The mutated inputs are not all rejected the same way: some still parse,
    and the refusals come from several stages (a check that the fuzzer bites)."""
    rng = random.Random(66)
    parsed, kinds = 0, set()
    for _ in range(600):
        text, symbols, dims = rng.choice(SEED_PROBLEMS)
        try:
            parse(mutate(text, rng), symbols, dims)
            parsed += 1
        except MatcalcError as exc:
            kinds.add(type(exc).__name__)
    assert parsed >= 5
    assert {"ExprSyntaxError", "UnknownNameError", "ShapeError"} <= kinds, kinds


# Parsing is linear, about 10-20 us per node: 100,000-node inputs take 1-2 s,
# so the long inputs here stay at tens of thousands of nodes.
@pytest.mark.parametrize("text", [
    "x + " * 15_000 + "x",                        # long chains are loops
    "-" * 999 + "x",                              # just inside the depth limit
    "(" * 999 + "x" + ")" * 999,
    "(" * 10_000 + "x" + ")" * 10_000,            # far beyond it
    "exp(" * 10_000 + "x" + ")" * 10_000,
    "x" + ".T" * 15_000,
    "x ** " * 20_000 + "2",
    "sum(" * 3000 + "X" + ", axis=0)" * 3000,
    "(" * 100_000,
    ")" * 100_000,
    "1" * 100_000,
    "x" * 100_000,
    "é" * 100_000,
    "outer(x, " * 2000 + "x" + ")" * 2000,
    " " * 400_000 + "x",
    "x + " * 130_000 + "x",                       # over the length limit: refused at once
], ids=lambda t: f"{t[:12]!r}..{len(t)}")
def test_long_and_deep_inputs(text):
    check_parse(text)


def test_at_least_2000_inputs():
    assert N_BYTES + 500 + 200 + N_MUTATIONS + 16 >= 2000


# -- mutated documents through the YAML loader -------------------------------------

def test_mutated_documents():
    rng = random.Random(7)
    texts = [p.read_text() for p in sorted((REPO / "derivations").glob("*.yaml"))]
    for _ in range(N_YAML_MUTATIONS):
        text = mutate(rng.choice(texts), rng)
        start = time.process_time()
        try:
            load(text)
        except MatcalcError as exc:
            assert exc.message
        except Exception as exc:  # noqa: BLE001
            raise AssertionError(f"{type(exc).__name__}: {exc} for document {text!r}") from exc
        assert time.process_time() - start < SECONDS, text


# -- hostile YAML files through the CLI ------------------------------------------

def _cli_refuses(path, phrase: str):
    """Exit 2 with ``phrase`` on stderr and no traceback.  No wall-clock bound: the phrase
    says the file was refused before being expanded or read in full ("anchors", "bytes",
    "not a regular file"), and an input that blocked would hang the test, not pass it."""
    result = run_cli("derive", str(path))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert phrase in result.stderr, result.stderr
    return result


BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
symbols: {x: {shape: [3]}}
expr: sum(x)
"""


def test_billion_laughs(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS)
    _cli_refuses(path, "anchors")
    # an alias bomb inside a value the loader does look at
    path.write_text("symbols: {x: {shape: [3]}}\nexpr: sum(x)\nname: &a [x, x]\n"
                    "description: [*a, *a, *a]\n")
    _cli_refuses(path, "YAML error")


def test_ten_megabyte_file(tmp_path):
    path = tmp_path / "ten.yaml"
    path.write_text("symbols: {x: {shape: [3]}}\nexpr: " + "x + " * (10 * 2**20 // 4) + "x\n")
    _cli_refuses(path, "bytes")


@pytest.mark.parametrize("kind, text", [
    ("flow lists", "expr: " + "[" * 10_000 + "]" * 10_000 + "\n"),
    ("flow maps", "expr: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n"),
    ("block lists", "".join("  " * i + "-\n" for i in range(10_000))),
    ("expression", "symbols: {x: {shape: [3]}}\nexpr: " + "(" * 10_000 + "x" + ")" * 10_000 + "\n"),
])
def test_ten_thousand_deep(tmp_path, kind, text):
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    _cli_refuses(path, "error")


@pytest.mark.parametrize("dims, phrase", [
    ("{n: 1000000000000000000000000000000000000000}", "between 1 and"),
    ("{n: 1e308}", "n"),
    ("{n: .inf}", "n"),
    ("{n: .nan}", "n"),
    ("{n: -3}", "between 1 and"),
    ("{n: 0}", "between 1 and"),
    ("{n: 3.5}", "n"),
    ("{n: 0x7fffffffffffffff}", "between 1 and"),
    ("{n: [3]}", "n"),
])
def test_bad_sizes(tmp_path, dims, phrase):
    path = tmp_path / "dims.yaml"
    path.write_text(f"dims: {dims}\nsymbols:\n  x: {{shape: [n]}}\nexpr: sum(x)\n")
    _cli_refuses(path, phrase)


@pytest.mark.parametrize("shape", ["[-1]", "[0]", "[99999999999999999999999]", "[1e9]", "[n, -2]", "[.inf]"])
def test_bad_literal_dims(tmp_path, shape):
    path = tmp_path / "shape.yaml"
    path.write_text(f"dims: {{n: 3}}\nsymbols:\n  x: {{shape: {shape}}}\nexpr: sum(x)\n")
    _cli_refuses(path, "spec error")


@pytest.mark.parametrize("text, line", [
    ("dims: {n: 3, n: 4}\nsymbols:\n  x: {shape: [n]}\nexpr: sum(x)\n", 1),
    ("dims: {n: 3}\nsymbols:\n  x: {shape: [n]}\n  x: {shape: [n, n]}\nexpr: sum(x)\n", 4),
    ("dims: {n: 3}\nsymbols:\n  x: {shape: [n], shape: [n]}\nexpr: sum(x)\n", 3),
])
def test_duplicate_keys_in_nested_maps(tmp_path, text, line):
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    result = _cli_refuses(path, "twice")
    assert f"dup.yaml:{line}" in result.stderr


@pytest.mark.parametrize("data", [
    b"expr: sum(x)\xff\n",
    b"\xfe\xff\x00e\x00x\x00p\x00r",                      # UTF-16 with a BOM
    b"symbols: {x: {shape: [3]}}\nexpr: sum(\xc3x)\n",    # a broken UTF-8 sequence
    b"\x00" * 1000,
    bytes(range(256)) * 4,
])
def test_not_utf8_or_binary(tmp_path, data):
    path = tmp_path / "bytes.yaml"
    path.write_bytes(data)
    _cli_refuses(path, "error")


def test_bom_and_nul_in_text():
    for text in ["\ufeffsymbols: {x: {shape: [3]}}\nexpr: sum(x)\n",
                 "symbols: {x: {shape: [3]}}\nexpr: sum(x\x00)\n"]:
        try:
            matcalc.derive(text, verify=False)
        except MatcalcError as exc:
            assert exc.message


def test_endless_device_file():
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    _cli_refuses("/dev/zero", "not a regular file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_does_not_block(tmp_path):
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    _cli_refuses(path, "not a regular file")
