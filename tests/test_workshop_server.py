"""The workshop server: offline front end, one model per browser session, and its command's errors.

The browser tests drive the page in Debian's Chromium (:mod:`browser`): they press the button labelled
``Step`` and read the step count in the element of class ``workshop-step``, which the page keeps.
"""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

import pytest

from browser import free_port, http_get, is_local, start_workshop
from diffusion_sim.cli import main
from diffusion_sim.workshop import server

SHOT = Path("/tmp/workshop-shot.png")
DEFAULT_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "default.yaml"


@pytest.fixture(autouse=True)
def _page_environment(monkeypatch):
    """``serve`` sets the page's environment variables: put them back after each test."""
    monkeypatch.setenv(server.SCENARIO_ENV, "")
    monkeypatch.setenv(server.SEED_ENV, "0")
    monkeypatch.setenv(server.BESIDE_ENV, "")


def step_count(page) -> int:
    text = page.locator(".workshop-step").inner_text(timeout=30_000)
    found = re.search(r"\d+", text)
    assert found, text
    return int(found[0])


def load(recorded, workshop):
    """Open the workshop page and wait for its Step button (failing with what the server printed)."""
    from playwright.sync_api import TimeoutError

    page = recorded.page
    page.goto(workshop.url)
    try:
        page.get_by_role("button", name="Step").wait_for(timeout=30_000)
    except TimeoutError:
        pytest.fail(f"no Step button on the page within 30 s; the server printed:\n{workshop.output()[1][-3000:]}")
    return page


def press_step(page, times: int = 1) -> None:
    from playwright.sync_api import expect

    for _ in range(times):
        before = step_count(page)
        page.get_by_role("button", name="Step").click()
        expect(page.locator(".workshop-step")).to_contain_text(str(before + 1), timeout=10_000)


# ------------------------------------------------------------------------------------------- in the browser


def test_page_loads_offline_with_no_console_errors(workshop, open_page, tmp_path):
    recorded = open_page()
    page = load(recorded, workshop)
    assert step_count(page) == 0
    page.wait_for_load_state("networkidle")
    page.wait_for_function("document.getAnimations().every(a => a.playState !== 'running')")  # Solara fades in
    page.screenshot(path=tmp_path / "workshop.png", full_page=True)
    shutil.copyfile(tmp_path / "workshop.png", SHOT)
    assert recorded.console_errors == []
    assert recorded.external_requests == []
    assert "not among the installed front-end assets" not in workshop.output()[1]


def test_the_recorders_catch_an_off_machine_request_and_a_console_error(workshop, open_page):
    recorded = open_page()
    page = load(recorded, workshop)
    outcome = page.evaluate(
        "fetch('https://cdn.example.invalid/npm/requirejs@2.3.6/require.js').then(() => 'loaded', () => 'blocked')"
    )
    page.evaluate("console.error('a console error')")
    assert outcome == "blocked"
    assert recorded.external_requests == ["https://cdn.example.invalid/npm/requirejs@2.3.6/require.js"]
    assert "a console error" in recorded.console_errors


def test_step_advances_the_counter(workshop, open_page):
    page = load(open_page(), workshop)
    press_step(page, 2)
    assert step_count(page) == 2


def test_two_sessions_have_their_own_models(workshop, open_page):
    first, second = load(open_page(), workshop), load(open_page(), workshop)
    press_step(first, 3)
    press_step(second, 1)
    assert (step_count(first), step_count(second)) == (3, 1)
    second.reload()
    second.get_by_role("button", name="Step").wait_for(timeout=30_000)
    assert step_count(first) == 3  # a new session elsewhere leaves this one alone


def test_a_missing_front_end_file_is_a_404_never_a_download(workshop):
    status, _ = http_get(workshop.url + "_solara/cdn/jquery@3.0.0/dist/jquery.js")
    assert status == 404
    assert "warning: the page asked for jquery@3.0.0/dist/jquery.js, which is not among" in workshop.output()[1]
    status, body = http_get(workshop.url + "_solara/cdn/requirejs@2.3.6/require.js")
    assert status == 200 and b"requirejs" in body


def test_the_server_says_where_the_page_is_and_stops_on_ctrl_c(tmp_path):
    started = start_workshop(tmp_path, str(DEFAULT_SCENARIO), "--seed", "7")
    assert started.started_in < 30
    out, err = started.stop()
    port = started.url.rsplit(":", 1)[1].strip("/")
    assert out.splitlines() == [
        f"workshop page: http://127.0.0.1:{port}/  ({DEFAULT_SCENARIO}, seed 7; Ctrl-C stops)",
        "workshop server stopped",
    ]
    assert started.process.returncode == 0
    assert err == ""


def test_a_host_other_than_loopback_is_warned_about(tmp_path):
    # listens on every interface for the second it takes to start: the only way to see the real warning
    started = start_workshop(tmp_path, host="0.0.0.0")
    out, err = started.stop()
    port = started.url.rsplit(":", 1)[1].strip("/")
    assert f"workshop page: http://127.0.0.1:{port}/" in out
    assert err == (
        f"warning: --host 0.0.0.0 shares the page on the local network: anyone who can reach this machine on "
        f"port {port} can open it and run the model\n"
    )


# ------------------------------------------------------------------------------------------- before any server


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["workshop", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_a_bad_scenario_is_one_error_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("community:\n  households: 0\n")
    status, out, err = run_cli(capsys, str(bad), "--port", str(free_port()))
    assert (status, out) == (2, "")
    assert err == (
        f"error: {bad}: line 2: community.households: Input should be greater than or equal to 1 (got 0); "
        "expected int >= 1, <= 20000000\n"
    )
    status, out, err = run_cli(capsys, str(tmp_path / "nope.yaml"))
    assert (status, out, err) == (2, "", f"error: {tmp_path / 'nope.yaml'}: file not found\n")


def test_a_port_in_use_is_one_error_line(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, out, err = run_cli(capsys, "--port", str(port))
    assert (status, out) == (2, "")
    assert err == f"error: --port: port {port} is in use on 127.0.0.1; choose another with --port\n"


def test_bad_options_are_one_error_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["workshop", "--port", "70000"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == (
        "error: --port: expected a port from 1 to 65535, got 70000 (see 'diffusion-sim workshop --help')\n"
    )
    status, out, err = run_cli(capsys, "--host", "no-such-host.invalid", "--port", str(free_port()))
    assert (status, out, err) == (2, "", "error: --host: 'no-such-host.invalid' is not a host name or address "
                                         "this machine knows\n")  # fmt: skip


def test_missing_front_end_is_one_error_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(server.ASSETS_ENV, str(tmp_path))
    status, out, err = run_cli(capsys, "--port", str(free_port()))
    assert (status, out) == (2, "")
    missing = ", ".join(server.asset_packages())
    assert err == (
        f"error: the workshop page's front end is not installed in {tmp_path} (missing {missing}); install it "
        "once, while online, with './dev setup' (it uses npm)\n"
    )


# ------------------------------------------------------------------------------------------- pieces


def test_the_request_filter():
    for url in (
        "http://127.0.0.1:8765/",
        "ws://127.0.0.1:8765/jupyter/api/kernels/x/channels",
        "http://localhost/_solara/cdn/requirejs@2.3.6/require.js",
        "http://[::1]:8765/",
        "http://127.0.0.2/",
        "data:image/png;base64,AAAA",
        "blob:http://127.0.0.1:8765/0d1c",
        "about:blank",
    ):
        assert is_local(url), url
    for url in (
        "https://cdn.jsdelivr.net/npm/requirejs@2.3.6/require.js",
        "https://fonts.googleapis.com/css?family=Roboto",
        "https://solara.dev/static/public/success.html",
        "http://10.0.0.1:8765/",
        "http://192.168.1.20/",
        "http://localhost.example.com/",
        "http://127.0.0.1.nip.io/",
        "file:///etc/passwd",
    ):
        assert not is_local(url), url


def test_loopback_hosts():
    assert server.is_loopback("127.0.0.1") and server.is_loopback("localhost") and server.is_loopback("::1")
    assert not server.is_loopback("0.0.0.0") and not server.is_loopback("::")
    assert server.page_address("0.0.0.0", 8765) == "http://127.0.0.1:8765/"
    assert server.page_address("::1", 8765) == "http://[::1]:8765/"


def test_the_asset_list_covers_what_solara_asks_for():
    """Every versioned front-end package Solara's page (Vue 2) and the components a page may use load."""
    import ipyvue
    import solara

    root = Path(solara.__file__).parent
    assert ipyvue.__version__.startswith("1.")  # so the page is Vue 2: no solara-vuetify3-app
    template = (root / "server/templates/solara.html.j2").read_text()
    asked = set(re.findall(r"\{\{cdn\}\}/((?:@[\w.-]+/)?[\w.-]+@\d[\w.-]*)/", template))
    asked = {spec for spec in asked if "vuetify3" not in spec}
    fontawesome = re.search(r'fontawesome_path: str = "/([^/]+)/', (root / "server/settings.py").read_text())
    asked.add(fontawesome[1])
    for source in ("components/markdown.py", "widgets/vue/gridlayout.vue"):  # Markdown, GridDraggable (Mesa)
        asked |= set(re.findall(r"getCdn\(\)\}/((?:@[\w.-]+/)?[\w.-]+@\d[\w.-]*)/", (root / source).read_text()))
    assert asked == set(server.asset_packages())
