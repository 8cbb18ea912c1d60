"""No user text is ever executed: not the expression, not the YAML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import matcalc
from matcalc.errors import MatcalcError
from support import REPO, run_cli, run_subprocess


def _payloads(target: Path) -> list[str]:
    """Expressions that would create ``target`` if anything handed them to Python."""
    t = str(target)
    return [
        f"open('{t}', 'w').write('1')",
        f"__import__('os').system('touch {t}')",
        f"__import__('pathlib').Path('{t}').touch()",
        f"exec(\"open('{t}', 'w')\")",
        f"eval(\"open('{t}', 'w')\")",
        f"[open('{t}', 'w') for _ in [1]]",
        f"(lambda: open('{t}', 'w'))()",
        f"sum(X) + open('{t}', 'w').write('1')",
        f"X.__class__.__mro__[1].__subclasses__() and open('{t}', 'w')",
        f"getattr(__builtins__, 'open')('{t}', 'w')",
        f"sum(X) if open('{t}', 'w') else 0",
    ]


def _doc(expr: str) -> str:
    quoted = expr.replace("\\", "\\\\").replace('"', '\\"')
    return f'dims: {{n: 3, m: 2}}\nsymbols:\n  X: {{shape: [n, m]}}\nexpr: "{quoted}"\n'


@pytest.mark.parametrize("index", range(len(_payloads(Path("/x")))))
def test_expression_is_not_executed(tmp_path, index):
    target = tmp_path / "pwned"
    expr = _payloads(target)[index]
    path = tmp_path / "evil.yaml"
    path.write_text(_doc(expr))
    result = run_cli("derive", str(path))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    with pytest.raises(MatcalcError):
        matcalc.derive(path)
    with pytest.raises(MatcalcError):
        matcalc.derive({"symbols": {"X": {"shape": ["n", "m"]}}, "dims": {"n": 3, "m": 2}, "expr": expr})
    assert not target.exists()


@pytest.mark.parametrize("yaml_text", [
    "expr: !!python/object/apply:os.system ['touch {t}']\nsymbols: {{X: {{shape: [2]}}}}\n",
    "expr: sum(X)\nsymbols: !!python/object/apply:os.system ['touch {t}']\n",
    "expr: sum(X)\nsymbols: {{X: {{shape: [2]}}}}\nname: !!python/object/new:os.system ['touch {t}']\n",
    "!!python/object/apply:subprocess.call [['touch', '{t}']]\n",
    "expr: !!python/name:os.system\nsymbols: {{X: {{shape: [2]}}}}\n",
    "name: x\ndims: {{n: !!python/object/apply:os.system ['touch {t}']}}\nsymbols: {{X: {{shape: [n]}}}}\n"
    "expr: sum(X)\n",
])
def test_yaml_tags_are_not_executed(tmp_path, yaml_text):
    target = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(yaml_text.format(t=target))
    result = run_cli("derive", str(path))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not target.exists()


def test_real_process_executes_nothing(tmp_path):
    target = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(_doc(f"__import__('os').system('touch {target}')"))
    proc = run_subprocess("derive", str(path), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert not target.exists()


FORBIDDEN_CALLS = re.compile(r"(?<![\w.])(eval|exec|sympify|parse_expr|compile)\(|yaml\.load\(|"
                             r"yaml\.unsafe_load|yaml\.full_load|FullLoader|UnsafeLoader|"
                             r"(?<![\w.])Loader=yaml\.Loader")


def _source_files():
    return sorted((REPO / "matcalc").rglob("*.py"))


def test_source_never_evaluates_text():
    """grep: the package has no eval(, exec(, sympify(, parse_expr(, compile( or yaml.load(.

    Generated numpy code may be executed by the engine (that is code matcalc
    wrote, not user text), so this looks only at the parser and loader side.
    """
    user_facing = ["parse.py", "spec.py", "yamlsource.py", "errors.py", "shapes.py", "ir.py", "cli.py", "props.py",
                   "pipeline.py", "__init__.py", "__main__.py"]
    checked = 0
    for path in _source_files():
        if path.parent.name == "ops" or path.name in user_facing and path.parent.name == "matcalc":
            text = path.read_text()
            code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
            assert not FORBIDDEN_CALLS.search(code), f"{path}: {FORBIDDEN_CALLS.search(code).group()}"
            checked += 1
    assert checked >= 10


def test_no_sympify_of_strings_anywhere():
    """No module turns a string into sympy or Python code."""
    pattern = re.compile(r"\b(sympify|parse_expr)\s*\(|\bS\(\s*['\"]|yaml\.load\(|yaml\.unsafe_load")
    for path in _source_files():
        code = "\n".join(line.split("#", 1)[0] for line in path.read_text().splitlines())
        assert not pattern.search(code), path


def test_spec_uses_the_safe_loader():
    text = (REPO / "matcalc" / "yamlsource.py").read_text()
    assert "yaml.SafeLoader" in text
