"""Issue 12, streams and input: what hostile terminals, closed or full standard
output, odd encodings, odd YAML scalars and odd Python data do to matcalc.

Each test failed before the fix: empty output for COLUMNS=0, tracebacks for a
full disk and for an ASCII stream, exit 0 for a closed stdout, raw numpy errors
for bad seeds, a RecursionError for a dict that contains itself, YAML 1.1
readings (010 = 8, 1:30 = 90), no positions for dict documents.
"""

from __future__ import annotations

import errno
import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import numpy as np
import pytest
from support import REPO

import matcalc
from matcalc.errors import MatcalcError, SpecError

SOFTMAX = REPO / "derivations" / "softmax_regression.yaml"   # a result longer than 80 columns in full output
MLP = REPO / "derivations" / "mlp_two_layer.yaml"            # a result line longer than 80 columns with -q
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _env(**changes: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "PYTHONIOENCODING")}
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _matcalc(*args: str, env: dict | None = None, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    """``python -m matcalc ARGS`` with bytes out (so an encoding is what the child chose)."""
    return subprocess.run([sys.executable, "-m", "matcalc", *args], stdout=stdout, stderr=subprocess.PIPE, check=False,
                          stdin=subprocess.DEVNULL, cwd=REPO, env=env or _env(), timeout=300)


def _on_terminal(*args: str, env: dict) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal (100 x 40) as its standard output."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "matcalc", *args], stdout=slave, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, cwd=REPO, env={**env, "TERM": "xterm"})
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:     # EIO: the child is gone and the terminal closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    proc.stderr.read()
    code = proc.wait(timeout=300)
    return code, ANSI.sub("", b"".join(chunks).decode("utf-8")).replace("\r\n", "\n")


def _results(path: Path) -> list[str]:
    d = matcalc.derive(path, verify=False)
    return [r.text for r in d.results.values()]


# -- COLUMNS -------------------------------------------------------------------------

@pytest.mark.parametrize("columns", ["0", "5"])
def test_a_terminal_with_a_silly_columns_still_gets_the_derivation(columns):
    """COLUMNS=0 printed nothing at all; COLUMNS=5 broke every word over lines."""
    code, out = _on_terminal("derive", str(SOFTMAX), "--no-verify", env=_env(COLUMNS=columns))
    assert code == 0
    name = matcalc.derive(SOFTMAX, verify=False).name
    assert any(line.startswith(name) for line in out.splitlines()), out


@pytest.mark.parametrize("columns", ["0", "-5", "abc", "5", "9" * 5000], ids=["0", "-5", "abc", "5", "5000 digits"])
def test_piped_output_holds_each_result_on_one_line_whatever_columns_says(columns):
    proc = _matcalc("derive", str(SOFTMAX), "--no-verify", env=_env(COLUMNS=columns, LINES=columns))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode("utf-8").splitlines()
    for text in _results(SOFTMAX):
        assert any(line.rstrip().endswith(text) for line in lines), (text, lines)


def test_quiet_piped_results_are_one_line_each():
    """--quiet hard-wrapped at 80 columns, so a long result was not one parseable line."""
    proc = _matcalc("derive", str(MLP), "--no-verify", "--quiet", env=_env(COLUMNS="60"))
    assert proc.returncode == 0, proc.stderr
    d = matcalc.derive(MLP, verify=False)
    assert proc.stdout.decode().splitlines() == [f"{name}: {r.text}" for name, r in d.results.items()]
    assert max(len(r.text) for r in d.results.values()) > 60   # the case is one that wrapped


# -- standard output that cannot be written -------------------------------------------

@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("mode", [[], ["--json"]], ids=["report", "json"])
def test_a_full_disk_is_one_message_and_exit_2(mode):
    """A traceback and exit 1 ("verification failed") before."""
    with open("/dev/full", "w") as full:
        proc = _matcalc("derive", str(SOFTMAX), "--no-verify", *mode, stdout=full)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "Traceback" not in err
    assert err.strip().splitlines() == [f"error: cannot write to standard output: {os.strerror(errno.ENOSPC)}"]


@pytest.mark.parametrize("mode", [[], ["--json"]], ids=["report", "json"])
def test_a_closed_standard_output_is_an_error_not_silence(mode):
    """``matcalc derive F >&-`` exited 0 with nothing said."""
    proc = subprocess.run(["sh", "-c", 'exec "$0" -m matcalc derive "$@" >&-', sys.executable, str(SOFTMAX),
                           "--no-verify", *mode], stderr=subprocess.PIPE, cwd=REPO, env=_env(), timeout=300,
                          check=False)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "standard output" in err and "Traceback" not in err


# -- encodings -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def utf8_report() -> str:
    proc = _matcalc("derive", str(SOFTMAX), "--no-verify", env=_env(PYTHONIOENCODING="utf-8"))
    assert proc.returncode == 0
    return proc.stdout.decode("utf-8")


@pytest.mark.parametrize("env", [{"PYTHONIOENCODING": "ascii"}, {"PYTHONIOENCODING": "latin-1"},
                                 {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}], ids=["ascii", "latin-1", "C"])
def test_a_stream_that_cannot_encode_the_symbols_gets_ascii(env, utf8_report):
    """UnicodeEncodeError halfway through the output before; now the same report spelled in ASCII."""
    from matcalc.render.unicode import FORMS, to_ascii
    from matcalc.terminal import encodes

    child = _env(**env)
    encoding = subprocess.run([sys.executable, "-c", "import sys; print(sys.stdout.encoding)"], env=child,
                              capture_output=True, text=True, check=True).stdout.strip()
    proc = _matcalc("derive", str(SOFTMAX), "--no-verify", env=child)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    if encodes(encoding, FORMS):
        pytest.skip(f"here this environment gives {encoding}, which holds the symbols")
    assert proc.stdout.decode(encoding) == to_ascii(utf8_report)


# -- seeds ---------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["derive", "check", "gallery"])
def test_a_negative_seed_is_a_usage_error(command, tmp_path):
    """--seed -1 was an internal error (exit 3) from numpy."""
    (tmp_path / "case.yaml").write_text(SOFTMAX.read_text())
    args = {"derive": ["derive", str(SOFTMAX)], "gallery": ["gallery", str(tmp_path)],
            "check": ["check", str(SOFTMAX), "--against", f"{tmp_path / 'mine.py'}:grad_W"]}[command]
    proc = _matcalc(*args, "--seed", "-1")
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "--seed" in err and "Traceback" not in err


def test_the_api_refuses_a_seed_that_is_not_a_non_negative_integer():
    """seed=1.5 and -1 raised numpy's TypeError / ValueError; True was taken as 1.
    Any non-negative int works: numpy's default_rng spreads it through a SeedSequence."""
    for seed in (1.5, -1, True, "3", np.int64(-1)):
        with pytest.raises(SpecError, match="seed"):
            matcalc.derive(_doc(), seed=seed, verify=False)
    for seed in (np.int64(3), np.uint64(2**63), 2**70):
        assert matcalc.derive(_doc(), seed=seed).verified


# -- dict documents (the API, the web endpoint) --------------------------------------------

def _doc(**changes) -> dict:
    return {"dims": {"n": 3}, "symbols": {"x": {"shape": ["n"]}}, "expr": "sum(x * x)", **changes}


@pytest.mark.parametrize("where", ["top", "list", "symbols"])
def test_a_dict_that_contains_itself_is_a_clear_error(where):
    """RecursionError before."""
    doc = _doc()
    if where == "top":
        doc["symbols"]["y"] = doc
    elif where == "list":
        doc["wrt"] = ["x"]
        doc["wrt"].append(doc["wrt"])
    else:
        doc["symbols"]["x"]["props"] = doc["symbols"]
    with pytest.raises(SpecError, match="contains itself") as info:
        matcalc.derive(doc, verify=False)
    assert info.value.location.path


def test_errors_in_a_dict_say_where_by_key_path():
    with pytest.raises(MatcalcError) as info:
        matcalc.derive(_doc(symbols={"x": {"shape": ["n", "q"]}}), verify=False)
    assert info.value.location.path == "symbols.x.shape[1]"
    assert info.value.as_dict()["path"] == "symbols.x.shape[1]"


def test_errors_inside_a_dict_expression_carry_line_and_column():
    """line and column were None, the column only inside the `what` text."""
    expr = "sum(x * x)\n  + sum(q)"
    with pytest.raises(MatcalcError) as info:
        matcalc.derive(_doc(expr=expr), verify=False)
    second = expr.splitlines()[1]
    where = info.value.as_dict()
    assert (where["path"], where["line"], where["column"]) == ("expr", 2, second.index("q") + 1)


def test_numpy_integers_are_sizes_and_bools_floats_and_non_positive_ones_are_not():
    d = matcalc.derive(_doc(dims={"n": np.int64(3)}, symbols={"x": {"shape": ["n"]}, "y": {"shape": [np.int32(4)]}},
                            expr="sum(x) * sum(y)"), verify=False)
    assert d.problem.dims["n"] == 3 and type(d.problem.dims["n"]) is int
    assert d.problem.symbols["y"].shape == (4,)
    for bad in (np.bool_(True), True, np.float64(3.0), 3.0, np.int64(0), np.int64(-2)):
        with pytest.raises(SpecError):
            matcalc.derive(_doc(dims={"n": bad}), verify=False)


# -- YAML scalars ------------------------------------------------------------------------------

def _yaml(size: str, extra: str = "") -> str:
    return f"dims: {{n: {size}}}\nsymbols: {{x: {{shape: [n]}}}}\nexpr: sum(x * x)\n{extra}"


@pytest.mark.parametrize("size", ["", "~", "null", "1:30", "1_000", "9" * 5000, "!!int 1_0"],
                         ids=["empty", "~", "null", "1:30", "1_000", "5000 digits", "!!int 1_0"])
def test_sizes_that_yaml_1_1_read_silently_are_refused(size):
    """`n:` was 3, `1:30` was 90 (base 60), `1_000` 1000; 5,000 digits crashed (exit 3)."""
    with pytest.raises(SpecError):
        matcalc.derive(_yaml(size), verify=False)


@pytest.mark.parametrize("size, value", [("010", 10), ("0o17", 15)])
def test_integers_are_read_as_yaml_1_2(size, value):
    """010 was octal 8, and 0o17 was text."""
    assert matcalc.derive(_yaml(size), verify=False).problem.dims["n"] == value


@pytest.mark.parametrize("word", ["on", "off", "yes", "no"])
def test_yes_no_on_off_are_names_not_booleans(word):
    text = f"symbols: {{{word}: {{shape: []}}}}\nexpr: {word} * {word}\nwrt: [{word}]\ndescription: 2024-01-01\n"
    d = matcalc.derive(text, verify=False)
    assert list(d.results) == [word] and d.problem.description == "2024-01-01"


def test_order_is_an_integer_like_the_sizes():
    """order: 2.0 was accepted while n: 3.0 was refused."""
    text = "symbols: {x: {shape: [n]}}\ndims: [n]\nexpr: sum(x * x)\norder: 2.0\n"
    with pytest.raises(SpecError, match="order"):
        matcalc.derive(text, verify=False)


def test_standard_input_as_dash_says_it_is_not_supported():
    proc = _matcalc("derive", "-")
    assert proc.returncode == 2
    assert "standard input" in proc.stderr.decode()
