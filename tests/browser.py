"""Browser fixtures: the workshop server in a subprocess on 127.0.0.1, and Debian's Chromium driven by Playwright.

Pages opened with :func:`open_page` record their console errors and every request to a host other than this
machine. Such requests are blocked before they are sent, and Chromium resolves no host name but localhost
(``--host-resolver-rules``) and uses no proxy, so a test never sends traffic off the machine.

Chromium is Debian's ``/usr/bin/chromium`` (``playwright install`` cannot download a browser here); ``./dev
test`` installs it as root. Without it the tests skip, and fail when ``CI`` is set.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--no-proxy-server", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]  # fmt: skip
"""The flags of MACHINE-NOTES, then: no proxy, and no host but localhost and 127.0.0.1 resolves."""

LOCAL_SCHEMES = {"data", "blob", "about"}  # never fetched from a host


def is_local(url: str) -> bool:
    """Whether a request to ``url`` stays on this machine: a loopback address or localhost (or no host at all)."""
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    host = parts.hostname
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_LOCAL_ONLY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy for 127.0.0.1


def http_get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    """GET a URL on this machine (never through a proxy): status and body."""
    assert is_local(url), url
    try:
        with _LOCAL_ONLY.open(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@dataclass
class WorkshopServer:
    """A ``diffusion-sim workshop`` process, its page's address and its output files."""

    process: subprocess.Popen
    url: str
    stdout: Path
    stderr: Path
    started_in: float = 0.0

    def output(self) -> tuple[str, str]:
        """What the process printed so far (stdout, stderr)."""
        return self.stdout.read_text(encoding="utf-8"), self.stderr.read_text(encoding="utf-8")

    def stop(self) -> tuple[str, str]:
        """Stop the server as Ctrl-C does (kill it after 10 s); return its output."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.output()


def start_workshop(folder: Path, *args: str, host: str = "127.0.0.1", timeout: float = 60) -> WorkshopServer:
    """Start ``diffusion-sim workshop ARGS --host HOST --port P`` (a free port) and wait until its page answers."""
    port = free_port()
    out, err = folder / f"workshop-{port}.out", folder / f"workshop-{port}.err"
    command = [sys.executable, "-m", "diffusion_sim.cli", "workshop", *args, "--host", host, "--port", str(port)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    t0 = time.perf_counter()
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, env=env)
    server = WorkshopServer(process, f"http://127.0.0.1:{port}/", out, err)
    deadline = t0 + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the workshop server exited with status {process.returncode}: {server.output()}")
        try:
            if http_get(server.url + "readyz", timeout=2)[0] == 200 and "workshop page:" in server.output()[0]:
                break
        except OSError:
            pass
        if time.perf_counter() > deadline:
            server.stop()
            raise RuntimeError(f"the workshop server did not answer within {timeout} s: {server.output()}")
        time.sleep(0.1)
    server.started_in = time.perf_counter() - t0
    return server


@pytest.fixture(scope="module")
def workshop(tmp_path_factory):
    """The workshop server on the built-in scenario, on 127.0.0.1 and a free port, for a test module."""
    server = start_workshop(tmp_path_factory.mktemp("workshop"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium, launched by Playwright."""
    if not Path(CHROMIUM).exists():  # ./dev test installs it; in CI its absence is a failure, not a skip
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (./dev test installs Debian's chromium as root)", pytrace=False)
        pytest.skip("needs Debian's Chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class RecordedPage:
    """A page in its own browser context (its own session), with what it did that a test must not see."""

    page: object  # playwright.sync_api.Page
    console_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)


@pytest.fixture
def open_page(browser):
    """Open a page in a new browser context; return it with its console errors and its off-machine requests.

    A request to a host other than this machine is recorded and aborted before it is sent.
    """
    contexts = []

    def open_(viewport: dict | None = None) -> RecordedPage:
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800})
        contexts.append(context)
        page = context.new_page()
        recorded = RecordedPage(page)

        def on_request(request):
            if not is_local(request.url):
                recorded.external_requests.append(request.url)

        def on_websocket(ws):
            if not is_local(ws.url):
                recorded.external_requests.append(ws.url)

        page.on("request", on_request)
        page.on("websocket", on_websocket)
        page.on("console", lambda msg: msg.type == "error" and recorded.console_errors.append(msg.text))
        page.on("pageerror", lambda exc: recorded.console_errors.append(f"uncaught: {exc}"))
        context.route(lambda url: not is_local(url), lambda route: route.abort("blockedbyclient"))
        return recorded

    yield open_
    for context in contexts:
        context.close()
