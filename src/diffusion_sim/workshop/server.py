"""The workshop server: ``diffusion-sim workshop`` serves the Solara page :mod:`diffusion_sim.workshop.app`.

What the page is given. :func:`serve` sets two environment variables before the server starts, and the page
reads them with :func:`page_settings` (the scenario is loaded and validated once per process):

- ``DIFFUSION_SIM_WORKSHOP_SCENARIO``: the scenario file (an absolute path), or empty for the built-in workshop
  scenario (:func:`~diffusion_sim.scenario.presets.workshop_scenario`, 1,000 households);
- ``DIFFUSION_SIM_WORKSHOP_BESIDE``: a second scenario file drawn beside the first (absolute path), or empty;
- ``DIFFUSION_SIM_WORKSHOP_SEED``: the master seed, a decimal integer (default 0).

The same variables work under ``solara run src/diffusion_sim/workshop/app.py``.

Offline. Solara's page loads its front end (Vue, Vuetify, RequireJS, fonts, KaTeX, ...) through the server's
``/_solara/cdn/`` route, which would download each missing file from a CDN. The workshop serves them from
:func:`assets_folder`, where ``./dev setup`` unpacked the npm packages listed in ``front_end_assets.txt``
(once, while online), and replaces the download by an error: a file that is not installed is a 404 and a
warning, never a request to the internet. Solara's telemetry and version check are off.

Exposure. The server listens on 127.0.0.1 unless ``--host`` says otherwise; any other host shares the page
(and the model it runs) with whoever can reach this machine, and the command says so.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from diffusion_sim.errors import UserError

if TYPE_CHECKING:
    from diffusion_sim.scenario import Scenario

__all__ = [
    "ASSETS_ENV",
    "SCENARIO_ENV",
    "SEED_ENV",
    "PageSettings",
    "asset_packages",
    "assets_folder",
    "check_assets",
    "is_loopback",
    "open_listener",
    "page_settings",
    "serve",
]

SCENARIO_ENV = "DIFFUSION_SIM_WORKSHOP_SCENARIO"
"""The scenario file the page runs (an absolute path); empty or unset: the built-in workshop scenario."""
BESIDE_ENV = "DIFFUSION_SIM_WORKSHOP_BESIDE"
"""A second scenario file drawn beside the first on the same seed (an absolute path); empty or unset: none."""
SEED_ENV = "DIFFUSION_SIM_WORKSHOP_SEED"
"""The master seed of the page's models (a decimal integer; unset: 0)."""
ASSETS_ENV = "DIFFUSION_SIM_WORKSHOP_ASSETS"
"""Overrides :func:`assets_folder` (a folder laid out like the default one)."""

APP_MODULE = "diffusion_sim.workshop.app"
ASSET_LIST = Path(__file__).with_name("front_end_assets.txt")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765

# ----------------------------------------------------------------------------------------- the page's inputs


@dataclass(frozen=True)
class PageSettings:
    """What the workshop page runs: a validated scenario, where it came from, and the seed."""

    scenario: Scenario
    source: str
    seed: int
    beside: Scenario | None = None
    beside_source: str = ""


def page_settings() -> PageSettings:
    """The page's scenario and seed, from :data:`SCENARIO_ENV` and :data:`SEED_ENV` (loaded once per value)."""
    key = (os.environ.get(SCENARIO_ENV, ""), os.environ.get(SEED_ENV, "0"), os.environ.get(BESIDE_ENV, ""))
    if key not in _loaded:
        _loaded[key] = _load_settings(*key)
    return _loaded[key]


_loaded: dict[tuple[str, str, str], PageSettings] = {}  # (scenario, seed, beside) -> settings; serve() puts its own


def _load_settings(path: str, seed_text: str, beside: str = "") -> PageSettings:
    from diffusion_sim.resources import check_scenario_memory
    from diffusion_sim.scenario import load_scenario
    from diffusion_sim.scenario.presets import workshop_scenario

    try:
        seed = int(seed_text)
    except ValueError:
        raise UserError(f"expected a non-negative integer, got {seed_text!r}", source=SEED_ENV) from None
    if not 0 <= seed < 2**63:
        raise UserError(f"expected an integer from 0 to 2**63 - 1, got {seed}", source=SEED_ENV)
    scenario = load_scenario(path) if path else workshop_scenario()
    source = path or "built-in workshop scenario"
    check_scenario_memory(scenario, 1, source=source)  # one model per browser session
    second = load_scenario(beside) if beside else None
    if second is not None:
        check_scenario_memory(second, 1, source=beside)
    return PageSettings(scenario, source, seed, second, beside)


# ----------------------------------------------------------------------------------------- front-end assets


def asset_packages() -> list[str]:
    """The npm packages (``name@version``) the page's front end is made of, from ``front_end_assets.txt``."""
    lines = (line.strip() for line in ASSET_LIST.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def assets_folder() -> Path:
    """Where ``./dev setup`` installs the front end: ``share/diffusion-sim/solara-cdn`` in the virtualenv."""
    override = os.environ.get(ASSETS_ENV)
    return Path(override) if override else Path(sys.prefix) / "share" / "diffusion-sim" / "solara-cdn"


def check_assets(folder: Path) -> None:
    """Refuse to start when a package of the front end is not installed in ``folder``."""
    missing = [p for p in asset_packages() if not (folder / p / "package.json").is_file()]
    if missing:
        raise UserError(
            f"the workshop page's front end is not installed in {folder} (missing {', '.join(missing)}); "
            "install it once, while online, with './dev setup' (it uses npm)"
        )


def _check_solara() -> None:
    """Refuse to start without the ``workshop`` extra (Solara with ipyvue < 2, which the front end is for).

    Checked without importing Solara, which reads its settings from the environment when first imported.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        ipyvue = version("ipyvue")
        version("solara")
    except PackageNotFoundError as err:
        raise UserError(
            f"the workshop needs the 'workshop' extra ({err.name} is missing): pip install 'diffusion-sim[workshop]'"
        ) from None
    if not ipyvue.startswith("1."):
        raise UserError(
            f"the workshop's front end is built for ipyvue 1 (installed: {ipyvue}); "
            "pip install 'ipyvue<2' 'ipyvuetify<2'"
        )


class OfflineAssetMissing(RuntimeError):
    """The page asked for a front-end file that is not installed (the workshop never downloads one)."""


def _refuse_download(url: str) -> bytes:
    """Stands in for Solara's CDN download: report the missing file and fail (the browser gets a 404)."""
    import solara.settings

    path = url.removeprefix(str(solara.settings.assets.cdn))
    print(f"warning: the page asked for {path}, which is not among the installed front-end assets", file=sys.stderr)
    raise OfflineAssetMissing(f"{path} is not installed; the workshop never downloads from the internet")


def _configure_solara(folder: Path) -> None:
    """Point Solara at the page, the installed assets and offline settings; must run before Solara is imported."""
    os.environ.update(
        {
            "SOLARA_APP": APP_MODULE,
            "SOLARA_MODE": "production",  # no check that calls solara.dev, no auto-restart
            "SOLARA_ASSETS_PROXY": "True",
            "SOLARA_ASSETS_PROXY_CACHE_DIR": str(folder),
            "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
            "MPLBACKEND": "Agg",
        }
    )
    import warnings

    import solara.server.cdn_helper
    import solara.server.settings
    import solara.settings

    # plain http to a name other than localhost (127.0.0.1, a room's network) is how the page is served: the
    # session cookie is SameSite=Lax, which is what Solara falls back to, warning on every first visit
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https", category=UserWarning)

    # Solara reads the environment when it is first imported; set the values too in case it already was
    solara.settings.assets.proxy = True
    solara.server.settings.assets.proxy_cache_dir = folder
    solara.server.settings.main.mode = "production"
    solara.server.settings.telemetry.mixpanel_enable = False
    solara.server.cdn_helper.fetch_from_cdn = _refuse_download


# ----------------------------------------------------------------------------------------- address and port


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) means this machine only."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def open_listener(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (the server listens on it), or a :class:`UserError` saying why not.

    Binding here, before the server starts, checks the port and keeps it: no other program can take it
    between the check and the start.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError):
        raise UserError(f"{host!r} is not a host name or address this machine knows", source="--host") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port left in TIME_WAIT is free
        sock.bind(address)
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise UserError(f"port {port} is in use on {host}; choose another with --port", source="--port") from None
        if err.errno in (errno.EACCES, errno.EPERM):
            raise UserError(f"no permission to listen on port {port}; choose one above 1023", source="--port") from None
        if err.errno == errno.EADDRNOTAVAIL:
            raise UserError(f"{host} is not an address of this machine", source="--host") from None
        raise UserError(f"cannot listen on {host}:{port}: {err.strerror}") from None
    return sock


def page_address(host: str, port: int) -> str:
    """The page's address as a browser on this machine opens it (a wildcard host becomes 127.0.0.1)."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


# ----------------------------------------------------------------------------------------- the server


def serve(
    scenario: str | None, seed: int, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, beside: str | None = None
) -> int:
    """Check everything, then serve the workshop page until interrupted; return the exit status.

    Every check that can fail (the scenario, the ``workshop`` extra, the front end, the port) raises a
    :class:`UserError` before a server starts.
    """
    settings = _load_settings(scenario or "", str(seed), beside or "")  # errors name the files as given
    os.environ[SCENARIO_ENV] = str(Path(scenario).absolute()) if scenario else ""
    os.environ[SEED_ENV] = str(seed)
    os.environ[BESIDE_ENV] = str(Path(beside).absolute()) if beside else ""
    _loaded[(os.environ[SCENARIO_ENV], os.environ[SEED_ENV], os.environ[BESIDE_ENV])] = settings  # what was checked
    _check_solara()
    folder = assets_folder()
    check_assets(folder)
    listener = open_listener(host, port)
    try:
        _configure_solara(folder)
        import solara.server.starlette
        import uvicorn

        address = page_address(host, port)
        loopback = is_loopback(host)

        class _Server(uvicorn.Server):
            async def startup(self, sockets=None):
                await super().startup(sockets)
                if self.started:  # the page answers from now on
                    print(f"workshop page: {address}  ({settings.source}, seed {settings.seed}; Ctrl-C stops)")
                    if not loopback:
                        print(
                            f"warning: --host {host} shares the page on the local network: anyone who can reach "
                            f"this machine on port {port} can open it and run the model",
                            file=sys.stderr,
                        )
                    sys.stdout.flush()

        config = uvicorn.Config(
            solara.server.starlette.app,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,  # open pages keep their websocket; do not wait for them
        )
        try:
            _Server(config).run(sockets=[listener])
        except KeyboardInterrupt:
            pass
        print("workshop server stopped", flush=True)
        return 0
    finally:
        listener.close()
