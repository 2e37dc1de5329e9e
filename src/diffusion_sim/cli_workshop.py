"""``diffusion-sim workshop``: its options (the server is :mod:`diffusion_sim.workshop.server`).

Kept apart from the server so that building the command line imports nothing heavy.
"""

from __future__ import annotations

import argparse

from diffusion_sim.cli import _command, _positive_int, _seed

__all__ = ["WORKSHOP_EPILOG", "add_workshop", "cmd_workshop", "port"]

WORKSHOP_EPILOG = """\
examples:
  diffusion-sim workshop                             # the built-in workshop scenario at http://127.0.0.1:8765/
  diffusion-sim workshop scenarios/home_visits_feedback.yaml --seed 3 --port 8800
  diffusion-sim workshop scenarios/baseline.yaml --beside scenarios/religious_leaders_ipc.yaml
  diffusion-sim workshop --host 0.0.0.0              # share the page with the room (the local network)

Each browser tab that opens the page runs its own copy of the model. The page works with no internet:
its front end is installed once, while online, by './dev setup'. Ctrl-C stops the server.
"""


def add_workshop(sub: argparse._SubParsersAction) -> None:
    """The ``workshop`` sub-command's arguments."""
    p = _command(
        sub,
        "workshop",
        "serve the workshop page (the model in a browser, offline)",
        "Serve the workshop page: run a scenario step by step in a browser, with no internet needed.",
        WORKSHOP_EPILOG,
    )
    p.add_argument(
        "scenario", nargs="?", help="scenario YAML file (default: the built-in workshop community, 1,000 households)"
    )
    p.add_argument(
        "--beside",
        metavar="SCENARIO",
        help="a second scenario file to draw beside the first on the same seed (default: the first without the "
        "trainer's switches)",
    )
    p.add_argument("--seed", type=_seed, default=0, help="master seed of the page's models (default 0)")
    p.add_argument("--port", type=port, default=8765, help="port to listen on (default 8765)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 shares the page on the network)",
    )


def port(text: str) -> int:
    """A TCP port number, 1 to 65535."""
    v = _positive_int(text)
    if v > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {v}")
    return v


def cmd_workshop(args: argparse.Namespace) -> int:
    """``diffusion-sim workshop``: check everything, then serve the page until Ctrl-C."""
    from diffusion_sim.workshop.server import serve

    return serve(args.scenario, args.seed, host=args.host, port=args.port, beside=args.beside)
