"""The web application: the page and its two endpoints (Starlette).

========================  ==================================================
``GET /``                 the page (``static/index.html``; its script and CSS
                          under ``/static/``: nothing from elsewhere)
``POST /api/derive``      body: an expr.yaml document as JSON.  200: the object
                          of ``matcalc derive --json``; 400: ``{"error":
                          {"message", "line", "column", "hint", ...}}``
``POST /api/page``        the page's own request: its fields as typed (see
                          :mod:`matcalc.serve.page`); a mistake in them is
                          answered 200 with ``{"error": ...}``, shown beside
                          its field
``GET /api/version``      ``{"matcalc": "0.1.0"}``
========================  ==================================================

Other answers: 413 for a body over :data:`MAX_BODY` bytes (by its
Content-Length, and by the bytes that arrive when it has none); 415 for a body
that is not ``application/json`` (so another web site's form cannot post to
it); 422 for a derivation past its time or memory budget; 503 when
:data:`MAX_WAITING` requests are already waiting for a worker.
"""

from __future__ import annotations

import json
from importlib import resources

from ..version import __version__
from .worker import Budget, run

MAX_BODY = 2_000_000          # bytes: an expr.yaml is at most 1,000,000 (yamlsource.MAX_FILE_BYTES)
MAX_WAITING = 64              # requests waiting for a worker
STATIC = {"app.js": "text/javascript", "style.css": "text/css"}
HEADERS = {  # the page loads nothing from elsewhere, and says so to the browser
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
LOCAL_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]


class Refused(Exception):
    """A request answered before any worker sees it."""

    def __init__(self, status: int, message: str, hint: str | None = None, line=None, column=None):
        super().__init__(message)
        self.status, self.message, self.hint, self.line, self.column = status, message, hint, line, column

    def body(self) -> dict:
        text = f"error: {self.message}" + (f"\nhint: {self.hint}" if self.hint else "")
        return {"error": {"kind": "error", "message": self.message, "line": self.line,
                          "column": self.column, "hint": self.hint, "file": None, "path": None,
                          "text": text}}


def create_app(budget: Budget | None = None, workers: int = 2, hosts: list[str] | None = None):
    """The Starlette application.  ``workers``: derivations at once (each in its
    own process); ``hosts``: the Host headers answered (None: any; a server on
    127.0.0.1 answers only its own names, so another site cannot reach it by
    pointing a name of its own at 127.0.0.1)."""
    import anyio
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    budget = budget or Budget()
    limiter = anyio.CapacityLimiter(workers)
    waiting = [0]

    def static(name: str) -> bytes:
        return resources.files(__package__).joinpath("static", name).read_bytes()

    async def index(request):
        return Response(static("index.html"), media_type="text/html", headers=HEADERS)

    async def asset(request):
        name = request.path_params["name"]
        if name not in STATIC:
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(static(name), media_type=STATIC[name], headers=HEADERS)

    async def version(request):
        return JSONResponse({"matcalc": __version__})

    def endpoint(job: str):
        async def answer(request):
            try:
                payload = _json(await _body(request, MAX_BODY), request.headers.get("content-type", ""))
                if waiting[0] >= MAX_WAITING:
                    raise Refused(503, "the server is busy: too many derivations are waiting",
                                  "try again in a moment")
            except Refused as refused:
                return JSONResponse(refused.body(), status_code=refused.status,
                                    headers={"Connection": "close"} if refused.status == 413 else None)
            waiting[0] += 1
            try:
                done = await anyio.to_thread.run_sync(run, job, payload, budget, limiter=limiter)
            finally:
                waiting[0] -= 1
            # the page's own request answers a mistake in its fields as a normal answer (200),
            # the error beside the field; /api/derive keeps the 400 of the contract
            status = 200 if job == "page" and done.status == 400 else done.status
            return JSONResponse(done.body, status_code=status)
        return answer

    routes = [Route("/", index), Route("/static/{name}", asset), Route("/api/version", version),
              Route("/api/derive", endpoint("derive"), methods=["POST"]),
              Route("/api/page", endpoint("page"), methods=["POST"])]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=hosts)] if hosts else []
    return Starlette(routes=routes, middleware=middleware)


async def _body(request, limit: int) -> bytes:
    """The request's body, refused (413) past ``limit`` bytes: at once by its
    Content-Length, else as soon as that many bytes have arrived."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        if not length.isdigit():
            raise Refused(400, f"Content-Length is not a number: {length[:40]!r}")
        raise Refused(413, f"the body is {int(length):,} bytes; the limit is {limit:,}",
                      "an expr.yaml document is at most 1,000,000 bytes")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise Refused(413, f"the body is more than {limit:,} bytes; the limit is {limit:,}",
                          "an expr.yaml document is at most 1,000,000 bytes")
    return bytes(data)


def _json(data: bytes, content_type: str):
    """The body as a JSON object (an expr.yaml document, or the page's fields)."""
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise Refused(415, "the body must be JSON, sent as Content-Type: application/json")
    try:
        value = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise Refused(400, f"the body is not UTF-8 (byte {exc.start + 1})") from None
    except json.JSONDecodeError as exc:
        raise Refused(400, f"the body is not valid JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from None
    except RecursionError:
        raise Refused(400, "the body nests too deeply") from None
    if not isinstance(value, dict):
        kind = {"list": "an array", "str": "a string", "bool": "true or false", "NoneType": "null"}.get(
            type(value).__name__, "a number")
        raise Refused(400, f"the body must be a JSON object (an expr.yaml document), not {kind}",
                      'e.g. {"symbols": {"x": {"shape": ["n"]}}, "expr": "x @ x"}')
    return value
