"""``matcalc serve`` as a server: ``POST /api/derive`` answers the object of
``matcalc derive --json`` (200) or the error (400); bodies over the limit are
refused (413); pathological expressions are answered within the budget while
the server goes on answering; many derivations at once; it listens on
127.0.0.1; nothing a field holds is ever executed.

One real server (uvicorn, worker processes) serves the whole module."""

from __future__ import annotations

import concurrent.futures
import importlib.util
import json
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from serve_support import listening_addresses, missing, running_server
from support import REPO, run_cli

pytestmark = pytest.mark.skipif(bool(missing()), reason=f"needs {', '.join(missing())} (matcalc-derive[serve])")

BUDGET_SECONDS = 20        # the server's --timeout here; every answer must come well within 30 s

QUADRATIC = {"name": "quadratic", "dims": {"n": 4},
             "symbols": {"x": {"shape": ["n"]}, "A": {"shape": ["n", "n"], "props": ["symmetric"]}},
             "expr": "x @ A @ x", "wrt": ["x"]}


@pytest.fixture(scope="module")
def server():
    with running_server("--timeout", str(BUDGET_SECONDS), "--workers", "2") as (url, process):
        yield url, process


@pytest.fixture(scope="module")
def client(server):
    import httpx

    with httpx.Client(base_url=server[0], timeout=60) as c:
        yield c


def derive(client, document, **kwargs):
    return client.post("/api/derive", json=document, **kwargs)


def test_a_derivation_is_the_json_of_the_command_line(client, tmp_path):
    answer = derive(client, QUADRATIC)
    assert answer.status_code == 200
    got = answer.json()
    assert got["results"]["x"]["matrix"] == "2 * A @ x"
    assert got["verification"]["x"]["passed"] is True
    (tmp_path / "quadratic.yaml").write_text(json.dumps(QUADRATIC))      # JSON is YAML
    cli = run_cli("derive", str(tmp_path / "quadratic.yaml"), "--json")
    assert cli.exit_code == 0
    assert got == json.loads(cli.stdout)
    # the emitted module computes the gradient: 2 A x
    (tmp_path / "quadratic.py").write_text(got["code"])
    spec = importlib.util.spec_from_file_location("quadratic", tmp_path / "quadratic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4))
    a = a + a.T
    x = rng.standard_normal(4)
    np.testing.assert_allclose(module.grad_x(x=x, A=a), 2 * a @ x)


def test_bad_input_is_400_with_message_line_column_and_hint(client):
    answer = derive(client, {**QUADRATIC, "expr": "x @ A @ foo(x)"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert "unknown function 'foo'" in error["message"]
    assert (error["line"], error["column"]) == (1, 9)         # in the expression
    assert "matcalc functions" in error["hint"]
    assert error["path"] == "expr"


def test_bodies_that_are_not_an_expr_yaml_object(client):
    # a string would be a path to matcalc.derive: it is refused, never read
    assert derive(client, "/etc/passwd").status_code == 400
    assert derive(client, [QUADRATIC]).status_code == 400
    answer = client.post("/api/derive", content=b'{"expr": ', headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.json()["error"]["column"] == 10
    # a form another web site could post without asking: not JSON, refused
    assert client.post("/api/derive", content=json.dumps(QUADRATIC)).status_code == 415


def test_sixteen_concurrent_derivations_are_all_right(client):
    documents = [{**QUADRATIC, "name": f"q{i}", "dims": {"n": 2 + i % 5}} for i in range(8)] + \
                [{**QUADRATIC, "name": f"t{i}", "expr": "trace(X.T @ A @ X)", "wrt": ["X"], "dims": {"n": 3, "m": 2 + i},
                  "symbols": {"X": {"shape": ["n", "m"]}, "A": {"shape": ["n", "n"]}}} for i in range(8)]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda d: derive(client, d), documents))
    assert [a.status_code for a in answers] == [200] * 16
    for document, answer in zip(documents, answers):
        got = answer.json()
        assert got["name"] == document["name"]
        assert all(v["passed"] for v in got["verification"].values())
        expected = "2 * A @ x" if document["expr"] == "x @ A @ x" else "(A + A.T) @ X"
        assert next(iter(got["results"].values()))["matrix"] == expected


def test_a_20_mb_body_is_refused_413_within_seconds(server, client):
    started = time.monotonic()
    body = b'{"expr": "' + b"x" * 20_000_000 + b'"}'
    answer = client.post("/api/derive", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert "limit" in answer.json()["error"]["message"]
    # sent without a Content-Length (chunked): refused by the bytes that arrive
    def chunks():
        for _ in range(20):
            yield b"x" * 1_000_000
    answer = client.post("/api/derive", content=chunks(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert time.monotonic() - started < 10
    assert derive(client, QUADRATIC).status_code == 200


def _raw_413(url: str) -> bytes:
    """A client that announces 20 MB and sends none of it hears 413 at once."""
    host, port = urlsplit(url).hostname, urlsplit(url).port
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"POST /api/derive HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 20000000\r\n\r\n")
        return s.recv(200)


def test_413_comes_before_the_body(server):
    assert _raw_413(server[0]).startswith(b"HTTP/1.1 413")


@pytest.mark.parametrize("expr, why", [
    ("(" * 5000 + "x" + ")" * 5000, "nests more than"),
    ("exp(" * 5000 + "x" + ")" * 5000, "nests more than"),
    (" + ".join(["x @ x"] * 10_000), None),
    (" + ".join(f"{i + 1} * sum(x * x)" for i in range(10_000)), None),
], ids=["5000-deep parentheses", "5000-deep exp", "10000-term sum", "10000 distinct terms"])
def test_pathological_expressions_are_answered_within_30_s(client, expr, why):
    document = {"dims": {"n": 3}, "symbols": {"x": {"shape": ["n"]}}, "expr": expr}
    started = time.monotonic()
    answer = derive(client, document)
    seconds = time.monotonic() - started
    assert seconds < 30, seconds
    assert answer.status_code in (200, 400, 422), answer.text
    if why is not None:
        assert answer.status_code == 400 and why in answer.json()["error"]["message"]
    elif answer.status_code == 200:        # derived: the sum of the terms' gradients
        assert answer.json()["verification"]["x"]["passed"]
    else:
        assert answer.json()["error"]["message"]
    assert derive(client, QUADRATIC).status_code == 200        # still answering


def test_a_derivation_past_the_time_budget_is_422_and_the_server_answers_others(tmp_path):
    # a budget of 1 s (the smallest) against a derivation that takes longer
    heavy = {"dims": {"n": 3}, "symbols": {"x": {"shape": ["n"]}},
             "expr": " + ".join(f"{i + 1} * sum(exp(x) * x)" for i in range(4000))}
    import httpx

    with running_server("--timeout", "1") as (url, _), httpx.Client(base_url=url, timeout=60) as c:
        answer = c.post("/api/derive", json=heavy)
        assert answer.status_code == 422
        assert "time budget of 1 s" in answer.json()["error"]["message"]
        assert c.post("/api/derive", json=QUADRATIC).status_code == 200


def test_it_listens_on_127_0_0_1_only(server):
    port = urlsplit(server[0]).port
    assert urlsplit(server[0]).hostname == "127.0.0.1"
    assert listening_addresses(port) == ["127.0.0.1"]


def test_another_host_name_is_refused(client):
    # a web page that points a name of its own at 127.0.0.1 (DNS rebinding) is not answered
    answer = client.post("/api/derive", json=QUADRATIC, headers={"Host": "evil.example"})
    assert answer.status_code == 400


MARK = "matcalc_serve_injection_mark"
ATTEMPTS = {
    "expr": f"__import__('os').system('touch {MARK}')",
    "name": f"x; __import__('os').system('touch {MARK}')",
    "dims": {f"__import__('os').system('touch {MARK}')": 3},
    "dims value": {"n": f"__import__('os').system('touch {MARK}')"},
    "symbol name": {f"os.system('touch {MARK}')": {"shape": ["n"]}},
    "shape": {"x": {"shape": [f"__import__('os').system('touch {MARK}')"]}},
    "props": {"x": {"shape": ["n"], "props": [f"__import__('os').system('touch {MARK}')"]}},
    "wrt": [f"__import__('os').system('touch {MARK}')"],
    "order": f"__import__('os').system('touch {MARK}')",
    "let": {"y": f"exec('import os; os.system(\"touch {MARK}\")')"},
    "domain": [f"eval('open(\"{MARK}\", \"w\")') > 0"],
    "seed": f"__import__('os').system('touch {MARK}')",
}
FIELD_OF = {"dims value": "dims", "symbol name": "symbols", "shape": "symbols", "props": "symbols"}


@pytest.mark.parametrize("field", list(ATTEMPTS))
def test_an_injection_attempt_in_every_field_is_refused_and_nothing_runs(client, field):
    key = FIELD_OF.get(field, field)
    document = {**QUADRATIC, key: ATTEMPTS[field]}
    answer = derive(client, document)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["message"]
    assert not (REPO / MARK).exists() and not Path(MARK).exists()


def test_page_fields_with_a_yaml_tag_are_refused_and_nothing_runs(client):
    fields = {"expr": "x @ x", "dims": "n: 3", "wrt": "x", "order": "1",
              "symbols": f"x: !!python/object/apply:os.system ['touch {MARK}']"}
    answer = client.post("/api/page", json=fields)
    assert answer.status_code == 200          # the page's answer: the error, beside the Symbols field
    error = answer.json()["error"]
    assert error["field"] == "symbols" and "tags" in error["message"]
    assert not (REPO / MARK).exists()


def test_a_description_is_text_never_run_nor_markup(client):
    text = f"<script>alert(1)</script> __import__('os').system('touch {MARK}')"
    answer = client.post("/api/page", json={"expr": "x @ x", "symbols": "x: {shape: [n]}", "dims": "n: 3",
                                            "wrt": "x", "order": "1"})
    assert answer.status_code == 200 and "derivation" in answer.json()
    answer = derive(client, {**QUADRATIC, "description": text})
    assert answer.status_code == 200
    assert not (REPO / MARK).exists()


def test_the_page_and_its_files_are_served_with_no_outside_source(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert client.get("/static/../app.py").status_code == 404
    text = page.text + client.get("/static/app.js").text + client.get("/static/style.css").text
    text = text.replace("http://www.w3.org/1998/Math/MathML", "")     # a namespace's name, not fetched
    assert "http://" not in text and "https://" not in text and "//cdn" not in text


def test_a_check_past_the_memory_budget_is_refused_clearly(client):
    # 60,000 x 60,000 outer products: matcalc's check measures what it would need
    # against the worker's address-space limit and says so, instead of swapping
    huge = {"dims": {"n": 60000}, "symbols": {"x": {"shape": ["n"]}}, "expr": "sum(outer(x, x) * outer(x, x))"}
    answer = derive(client, huge)
    assert answer.status_code == 400
    assert "GiB of memory" in answer.json()["error"]["message"]
    assert derive(client, QUADRATIC).status_code == 200


def test_a_port_in_use_is_one_clear_error():
    from matcalc.cli import app
    from typer.testing import CliRunner

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "--port 0" in result.output


def test_only_loopback_addresses_count_as_local():
    from matcalc.serve.command import _loopback

    assert _loopback("127.0.0.1") and _loopback("::1")
    assert not _loopback("0.0.0.0") and not _loopback("192.0.2.7")


def test_help_shows_examples():
    result = run_cli("serve", "--help")
    assert result.exit_code == 0
    assert "matcalc serve --port 9000" in result.stdout and "/api/derive" in result.stdout
