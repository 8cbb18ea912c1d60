"""A real ``matcalc serve`` for the server and browser tests: started on a free
port (``--port 0``; the address is read from the line it prints once it
listens), stopped at the end."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import select
import subprocess
import sys
import time

from support import REPO

SERVE_MODULES = ("starlette", "uvicorn", "latex2mathml", "httpx")
STARTUP_SECONDS = 60       # the fork server imports matcalc (sympy) before the line is printed


def missing(modules=SERVE_MODULES) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


@contextlib.contextmanager
def running_server(*options: str):
    """``matcalc serve --port 0 OPTIONS`` in a subprocess; yields (url, process)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}      # this tree's matcalc, not an installed one
    process = subprocess.Popen([sys.executable, "-m", "matcalc", "serve", "--port", "0", *options],
                               cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = _address(process)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def _address(process) -> str:
    """The URL from the server's first line, waiting on its stdout (no sleeps)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    line = ""
    while not line.endswith("\n"):
        left = deadline - time.monotonic()
        ready, _, _ = select.select([process.stdout], [], [], max(0.0, left))
        if not ready:
            raise AssertionError(f"matcalc serve printed no address within {STARTUP_SECONDS} s")
        chunk = process.stdout.readline()
        if not chunk:
            raise AssertionError(f"matcalc serve ended: {process.stderr.read()}")
        line += chunk
    found = re.search(r"http://\S+/", line)
    assert found, line
    return found.group(0)


def listening_addresses(port: int) -> list[str]:
    """The local addresses of the sockets that listen on ``port`` (from /proc/net)."""
    out = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            address, hexport = local.split(":")
            if state == "0A" and int(hexport, 16) == port:      # 0A: LISTEN
                out.append(_address_text(address, width))
    return out


def _address_text(hexaddress: str, width: int) -> str:
    raw = bytes.fromhex(hexaddress)
    words = [raw[i:i + 4][::-1] for i in range(0, len(raw), 4)]    # each 32-bit word little-endian
    data = b"".join(words)
    import ipaddress
    return str(ipaddress.ip_address(data)) if width == 8 else str(ipaddress.IPv6Address(data))
