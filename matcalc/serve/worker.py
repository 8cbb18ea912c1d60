"""Every derivation in a fresh worker process, with a time and a memory budget.

A request's job (:data:`matcalc.serve.jobs.JOBS`) runs in a process forked from
a *fork server* that has imported matcalc once (so a worker starts in
milliseconds, not the seconds sympy takes to import).  The worker limits its
own address space (``RLIMIT_AS``) and sends ``(status, object)`` back through a
pipe; the server waits at most the time budget, then kills it.  Whatever one
request does -- nest 5,000 levels, sum 10,000 terms, exhaust its memory, crash
-- it ends that one process: the server goes on answering the others.

Worker processes, not threads: a derivation holds the GIL for seconds, and
matcalc keeps a little state per derivation (``matcalc.shapes.known_sizes``),
which processes keep apart.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from dataclasses import dataclass

MiB = 1 << 20


@dataclass(frozen=True)
class Budget:
    """What one derivation may use: ``seconds`` of wall-clock time and
    ``memory`` bytes of address space beyond what the worker starts with."""

    seconds: float = 20.0
    memory: int = 2048 * MiB


@dataclass(frozen=True)
class Answer:
    """A worker's answer: the HTTP status and the JSON object."""

    status: int
    body: dict


_context = None


def context():
    """The fork server's context, started with matcalc imported (once per server)."""
    global _context
    if _context is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["matcalc.serve.jobs", "matcalc.pipeline", "matcalc.serve.page"])
        _context = ctx
    return _context


def warm_up() -> None:
    """Start the fork server now (it imports matcalc: a few seconds), not at the
    first request."""
    from multiprocessing import forkserver

    context()
    forkserver.ensure_running()


def run(job: str, payload, budget: Budget | None = None) -> Answer:
    """Run ``JOBS[job](payload)`` in a fresh worker within ``budget`` (blocking)."""
    budget = budget or Budget()
    ctx = context()
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_work, args=(job, payload, send, budget.memory), daemon=True)
    process.start()
    send.close()
    try:
        if receive.poll(budget.seconds):
            try:
                status, body = receive.recv()
                return Answer(status, body)
            except EOFError:                 # the worker ended without an answer
                pass
        else:
            return Answer(422, _budget_error(
                f"the derivation took longer than its time budget of {budget.seconds:g} s and was stopped",
                "try a smaller expression, or start the server with a larger --timeout"))
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receive.close()
    return _ended(process.exitcode, budget)


def _ended(code: int | None, budget: Budget) -> Answer:
    """The answer for a worker that died without one: killed (SIGKILL: the system
    ran out of memory) or crashed."""
    if code == -signal.SIGKILL:
        return Answer(422, _budget_error(
            "the derivation was stopped: it needed more memory than the machine could give",
            "try a smaller expression"))
    return Answer(500, _budget_error(f"the worker process ended unexpectedly (exit code {code})",
                                     "this is a bug in matcalc, not in your input", kind="internal error"))


def _work(job: str, payload, send, memory: int) -> None:
    """In the worker: limit memory, run the job, send the answer."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # Ctrl-C is the server's to handle
    _limit_memory(memory)
    try:
        from .jobs import JOBS
        answer = JOBS[job](payload)
    except MemoryError:
        answer = (422, _budget_error(f"the derivation needed more than its memory budget of "
                                     f"{memory // MiB:,} MiB and was stopped",
                                     "try a smaller expression, or start the server with a larger --memory"))
    except RecursionError:
        answer = (422, _budget_error("the expression is too deeply nested to derive", None))
    except Exception as exc:       # a bug: one line, never a traceback in the page
        answer = (500, _budget_error(f"internal error: {type(exc).__name__}: {exc}",
                                     "this is a bug in matcalc, not in your input", kind="internal error"))
    try:
        send.send(answer)
    except MemoryError:
        send.send((422, _budget_error("the answer was larger than the memory budget", None)))
    send.close()


def _limit_memory(extra: int) -> None:
    """``RLIMIT_AS`` = the address space the worker has now + ``extra``: numpy's
    and OpenBLAS's reservations at import are not counted against the budget."""
    import resource

    try:
        with open(f"/proc/{os.getpid()}/statm") as f:
            now = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        now = 0
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = now + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _budget_error(message: str, hint: str | None, kind: str = "budget") -> dict:
    return {"error": {"kind": kind, "message": message, "hint": hint, "line": None, "column": None,
                      "file": None, "path": None,
                      "text": f"{kind}: {message}" + (f"\nhint: {hint}" if hint else "")}}
