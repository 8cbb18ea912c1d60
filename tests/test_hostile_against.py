"""`matcalc check --against FILE.py:FUNCTION` with hostile user code (issue 12).

The user's file is run in a child process: whatever it does (loops forever,
exits, crashes the interpreter, prints, returns something that is not an
array), matcalc says so in one message with the right exit code: 2 when the
function cannot be compared (bad input), 1 when it returns an array that
differs, 0 only when it agrees.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from support import REPO, run_cli, run_subprocess

import matcalc
from matcalc.against import check_against

# J = sum(A * W * W): dJ/dW = 2 * A * W, small and quick to derive
SPEC = """\
name: hostile
dims: {n: 3, m: 2}
symbols:
  A: {shape: [n, m], props: [positive]}
  W: {shape: [n, m], props: [positive]}
expr: "sum(A * W * W)"
wrt: [W]
"""


def _files(tmp_path, source: str):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    user = tmp_path / "mine.py"
    user.write_text("import numpy as np\n" + textwrap.dedent(source))
    return spec, user


def check(tmp_path, source: str, function: str = "grad_W", *options: str):
    """Run `matcalc check` in-process on a user file holding ``source``."""
    spec, user = _files(tmp_path, source)
    return run_cli("check", str(spec), "--against", f"{user}:{function}", *options)


def check_process(tmp_path, source: str, function: str = "grad_W", *options: str):
    """The same as a real `python -m matcalc` process (for code that ends processes)."""
    spec, user = _files(tmp_path, source)
    return run_subprocess("check", str(spec), "--against", f"{user}:{function}", *options)


def no_traceback(result) -> bool:
    return "Traceback" not in (result.stdout + result.stderr)


# Guards, not regressions: these five (a right gradient, a right list, a file that fails
# to import, a missing file, an undefined name) behaved before; they keep behaving now
# that the user's code runs in a child process.

def test_a_right_gradient_still_agrees(tmp_path):
    result = check(tmp_path, "def grad_W(A, W):\n    return 2 * A * W\n")
    assert result.exit_code == 0 and "agrees" in result.stdout


def test_a_function_that_never_returns_is_stopped_after_the_timeout(tmp_path):
    proc = check_process(tmp_path, "def grad_W(A, W):\n    while True:\n        pass\n",
                         "grad_W", "--timeout", "1")
    assert proc.returncode == 2, proc.stderr
    assert "grad_W did not return within 1 s" in proc.stderr and "--timeout" in proc.stderr
    assert no_traceback(proc)


def test_a_module_that_never_finishes_importing_is_stopped(tmp_path):
    proc = check_process(tmp_path, "while True:\n    pass\ndef grad_W(A, W):\n    return 2 * A * W\n",
                         "grad_W", "--timeout", "1")
    assert proc.returncode == 2, proc.stderr
    assert "did not finish within 1 s" in proc.stderr and no_traceback(proc)


@pytest.mark.parametrize("timeout", ["0", "-1", "nan"])
def test_the_timeout_must_be_positive(tmp_path, timeout):
    result = check(tmp_path, "def grad_W(A, W):\n    return 2 * A * W\n", "grad_W", "--timeout", timeout)
    assert result.exit_code == 2 and "--timeout must be a positive number of seconds" in result.stderr


def test_help_documents_the_timeout_with_an_example():
    result = run_cli("check", "--help")
    assert result.exit_code == 0
    assert "--timeout" in result.stdout
    assert any("--against" in line and "--timeout" in line for line in result.stdout.splitlines())


@pytest.mark.parametrize("returned, says", [
    ("'oops'", "returned a str"),
    ("None", "returned None"),
    ("[[1.0, 2.0], [3.0]]", "not an array of numbers"),
    ("2 * A * W + 1j", "complex"),
    ("{'W': 2 * A * W}", "returned a dict"),
])
def test_a_return_value_that_is_not_an_array_of_numbers_is_bad_input(tmp_path, returned, says):
    result = check(tmp_path, f"def grad_W(A, W):\n    return {returned}\n")
    assert result.exit_code == 2, result.stdout + result.stderr
    assert says in result.stderr and "shape (3, 2)" in result.stderr and no_traceback(result)


def test_a_list_of_the_right_numbers_agrees(tmp_path):     # guard
    result = check(tmp_path, "def grad_W(A, W):\n    return (2 * A * W).tolist()\n")
    assert result.exit_code == 0 and "agrees" in result.stdout


def test_a_nan_gradient_differs(tmp_path):
    result = check(tmp_path, "def grad_W(A, W):\n    return np.full(W.shape, np.nan)\n")
    assert result.exit_code == 1 and "DIFFERS" in result.stdout
    assert "nan" in result.stdout and "agrees with" not in result.stdout


def test_one_nan_entry_differs(tmp_path):
    result = check(tmp_path, "def grad_W(A, W):\n    G = 2 * A * W\n    G[1, 0] = np.nan\n    return G\n")
    assert result.exit_code == 1 and "DIFFERS" in result.stdout and "(1, 0)" in result.stdout


def test_an_infinite_gradient_is_not_a_constant_factor(tmp_path):
    result = check(tmp_path, "def grad_W(A, W):\n    return 2 * A * W * np.inf\n")
    assert result.exit_code == 1 and "DIFFERS" in result.stdout
    assert "constant factor" not in result.stdout and "inf" in result.stdout


def test_a_zero_gradient_is_not_a_constant_factor(tmp_path):
    result = check(tmp_path, "def grad_W(A, W):\n    return 0 * W\n")
    assert result.exit_code == 1 and "constant factor" not in result.stdout


def test_the_diagnosis_comes_from_a_trial_that_differs(tmp_path):
    """Right on the first call, twice too large after: not "a constant factor of 1"."""
    result = check(tmp_path, "calls = []\n"
                             "def grad_W(A, W):\n"
                             "    calls.append(1)\n"
                             "    return 2 * A * W * (1 if len(calls) == 1 else 2)\n")
    assert result.exit_code == 1 and "constant factor of 2" in result.stdout


@pytest.mark.parametrize("where, source", [
    ("import", "import sys\nsys.exit(0)\ndef grad_W(A, W):\n    return 2 * A * W\n"),
    ("call", "import sys\ndef grad_W(A, W):\n    sys.exit(0)\n"),
])
def test_sys_exit_in_the_users_code_is_reported(tmp_path, where, source):
    result = check(tmp_path, source)
    assert result.exit_code == 2 and "called sys.exit(0)" in result.stderr and no_traceback(result)


def test_os_exit_in_the_users_function_cannot_end_matcalc(tmp_path):
    proc = check_process(tmp_path, "import os\ndef grad_W(A, W):\n    os._exit(0)\n")
    assert proc.returncode == 2 and "ended the process" in proc.stderr and no_traceback(proc)


def test_a_segfault_in_the_users_function_cannot_end_matcalc(tmp_path):
    proc = check_process(tmp_path, "import ctypes\ndef grad_W(A, W):\n    ctypes.string_at(0)\n")
    assert proc.returncode == 2 and "SIGSEGV" in proc.stderr and no_traceback(proc)


def test_a_base_exception_from_the_function_is_one_message(tmp_path):
    result = check(tmp_path, "def grad_W(A, W):\n    raise BaseException('nope')\n")
    assert result.exit_code == 2 and "grad_W raised BaseException: nope" in result.stderr
    assert no_traceback(result)


def test_keyboard_interrupt_raised_by_the_module_is_not_an_interrupt(tmp_path):
    result = check(tmp_path, "raise KeyboardInterrupt\n")
    assert result.exit_code == 2 and "failed: KeyboardInterrupt" in result.stderr


def test_a_wrong_signature_says_how_the_function_is_called(tmp_path):
    result = check(tmp_path, "def grad_W(X, W):\n    return 2 * W\n")
    assert result.exit_code == 2 and "TypeError" in result.stderr
    assert "keyword arguments A=..., W=..." in result.stderr


def test_printing_to_stdout_does_not_mix_with_the_report(tmp_path):
    proc = check_process(tmp_path, "print('hello from import')\n"
                                   "def grad_W(A, W):\n    print('hello from grad_W')\n    return 2 * A * W\n")
    assert proc.returncode == 0 and "hello" not in proc.stdout
    assert "hello from import" in proc.stderr and "hello from grad_W" in proc.stderr


def test_a_file_that_fails_to_import_is_one_message(tmp_path):     # guard
    result = check(tmp_path, "import no_such_module_here\n")
    assert result.exit_code == 2 and "importing" in result.stderr
    assert "ModuleNotFoundError" in result.stderr and no_traceback(result)


def test_a_path_that_does_not_exist(tmp_path):     # guard
    spec, _ = _files(tmp_path, "")
    result = run_cli("check", str(spec), "--against", f"{tmp_path / 'nope.py'}:grad_W")
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_a_spec_without_a_function_name(tmp_path):
    spec, user = _files(tmp_path, "def grad_W(A, W):\n    return 2 * A * W\n")
    result = run_cli("check", str(spec), "--against", f"{user}:")
    assert result.exit_code == 2 and "names no function" in result.stderr and "FILE.py:FUNCTION" in result.stderr


def test_a_name_that_is_not_callable(tmp_path):
    result = check(tmp_path, "grad_W = 3\n")
    assert result.exit_code == 2 and "grad_W is an int, not a function" in result.stderr


def test_a_name_the_file_does_not_define(tmp_path):     # guard
    result = check(tmp_path, "def grad_V(A, W):\n    return 2 * A * W\n")
    assert result.exit_code == 2 and "defines no 'grad_W'" in result.stderr


def _derivation():
    return matcalc.derive({"name": "hostile", "dims": {"n": 3, "m": 2},
                           "symbols": {"A": {"shape": ["n", "m"], "props": ["positive"]},
                                       "W": {"shape": ["n", "m"], "props": ["positive"]}},
                           "expr": "sum(A * W * W)", "wrt": ["W"]}, verify=False)


def test_the_in_process_api_takes_a_callable():
    d = _derivation()
    assert check_against(d, lambda A, W: 2 * A * W, "W").agrees
    report = check_against(d, lambda A, W: np.full(W.shape, np.nan), "W")
    assert not report.agrees and "nan" in report.diagnosis


def test_a_child_stopped_while_importing_is_not_left_running(tmp_path):
    from matcalc.errors import InputError
    from matcalc.usercode import UserProcess

    _, user = _files(tmp_path, "while True:\n    pass\n")
    process = UserProcess(f"{user}:grad_W", timeout=0.5)
    with pytest.raises(InputError, match="did not finish within 0.5 s"), process:
        pass
    assert process._process.exitcode is not None      # killed and reaped, not looping on


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")
def test_the_child_does_not_outlive_a_killed_matcalc(tmp_path):
    """matcalc killed (a CI job's timeout) while the user's function loops: the child goes too."""
    marker = tmp_path / "child.pid"
    spec, user = _files(tmp_path, f"import os\ndef grad_W(A, W):\n"
                                  f"    open({str(marker)!r}, 'w').write(str(os.getpid()))\n"
                                  f"    while True:\n        pass\n")
    parent = subprocess.Popen([sys.executable, "-m", "matcalc", "check", str(spec), "--against",
                               f"{user}:grad_W", "--timeout", "inf"], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    child = None
    try:
        child = _wait_for(lambda: (marker.exists() and marker.read_text() and int(marker.read_text()))
                          or parent.poll() is not None)
        assert child is not True, "matcalc ended before the user's function ran"
        parent.kill()
        parent.wait()
        assert _wait_for(lambda: not _alive(child)), "the child kept running the user's loop"
    finally:
        parent.kill()
        parent.wait()
        if child and child is not True and _alive(child):    # this test failed: do not leave the loop running
            os.kill(child, signal.SIGKILL)


def _wait_for(condition, limit: float = 120.0):
    """condition()'s first true value, checked until ``limit`` seconds pass (a bound, not a pace)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")        # a zombie is not running anything
    return not (status.exists() and "\nState:\tZ" in status.read_text())
