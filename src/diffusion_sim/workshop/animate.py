"""``diffusion-sim animate``: a GIF or MP4 of a scenario's network filling with adopters, for slides.

The scenario runs through the one run path (:func:`diffusion_sim.runner.run`), which hands the model to a
callback after each step; a frame is drawn from its state every ``every`` steps (and at the last step) by
:class:`~diffusion_sim.workshop.picture.NetworkPicture`. Everything that can be checked is checked before the
run: the file name and format, the place it goes, the scenario, the size of the community and the number
of frames. The file is written atomically: the whole animation, or nothing.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path

from diffusion_sim.cli import _add_set_option, _command, _non_negative_int, _positive_float, _positive_int, _seed
from diffusion_sim.errors import UserError

__all__ = [
    "ANIMATE_EPILOG",
    "FORMATS",
    "MAX_AGENTS",
    "MAX_FPS",
    "MIN_FPS",
    "MAX_FRAMES",
    "Animation",
    "add_animate",
    "animate",
    "cmd_animate",
    "frame_steps",
]

FORMATS = {".gif": "GIF", ".mp4": "MP4"}
"""File extensions the command writes, and their formats."""

MAX_AGENTS = 20_000
"""Largest community drawn: every agent is a marker in every frame, and beyond this the picture is a blur
of overlapping markers and ties (and a frame takes seconds). Larger scenarios are refused, not sampled, so
that what is shown is the model's run, whole."""

MAX_FRAMES = 500
"""Most frames in one animation: a GIF's frames are held until the file is written, 0.9 MB each."""

MIN_FPS, MAX_FPS = 0.1, 50.0
"""Slowest and fastest frame rates: browsers play GIF frames shorter than 20 ms at 10 frames per second."""

MP4_HINT = "pip install 'diffusion-sim[workshop]'"

ANIMATE_EPILOG = f"""\
examples:
  diffusion-sim animate scenarios/default.yaml --out diffusion.gif
  diffusion-sim animate scenarios/religious_leaders_ipc.yaml --out leaders.mp4 --fps 6
  diffusion-sim animate scenarios/default.yaml --out quick.gif --steps 26 --every 2 --seed 3
  diffusion-sim animate scenarios/default.yaml --out small.gif --set community.households=1000

Draws the community's network at each step (or every K steps, and the last): villages as clusters,
households as dots, leaders and health workers as larger shapes in the middle of their village, coloured
by whether they practise the behaviour, with the adoption curve of all and of marginalised households.
Frames are 1280x720. A GIF is always possible; an MP4 needs imageio-ffmpeg ({MP4_HINT}).
Communities of more than {MAX_AGENTS:,} agents are refused (the picture would be a blur).
"""


def _fps(text: str) -> float:
    v = _positive_float(text)
    if not MIN_FPS <= v <= MAX_FPS:
        raise argparse.ArgumentTypeError(f"expected {MIN_FPS:g} to {MAX_FPS:g} frames per second, got {text}")
    return v


def add_animate(sub: argparse._SubParsersAction) -> None:
    """The ``animate`` sub-command's arguments."""
    p = _command(
        sub,
        "animate",
        "draw a scenario's run as a GIF or MP4 for slides",
        "Run one scenario and draw its network filling with adopters, step by step, as a GIF or MP4.",
        ANIMATE_EPILOG,
    )
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--out", required=True, metavar="FILE", help="the animation: FILE.gif or FILE.mp4")
    p.add_argument("--seed", type=_seed, default=0, help="master seed, 0 <= SEED < 2**63 (default 0)")
    p.add_argument(
        "--steps", type=_non_negative_int, default=None, help="number of steps (default: the scenario's schedule.steps)"
    )
    p.add_argument("--fps", type=_fps, default=4.0, help=f"frames per second, {MIN_FPS:g} to {MAX_FPS:g} (default 4)")
    p.add_argument("--every", type=_positive_int, default=1, metavar="K", help="a frame every K steps (default 1)")
    _add_set_option(p, "override a parameter by dotted path, e.g. --set community.households=1000 (repeatable)")


def frame_steps(steps: int, every: int) -> list[int]:
    """The steps drawn: 0, every, 2 every, ..., and always the last step."""
    return sorted(set(range(0, steps + 1, every)) | {steps})


@dataclass(frozen=True)
class Animation:
    """What :func:`animate` wrote."""

    path: Path
    format: str
    frames: int
    steps: list[int]
    size: tuple[int, int]
    fps: float
    agents: int
    seconds: float


def _check_out(out: str) -> tuple[Path, str]:
    """The output file's absolute path and format, checked before anything runs."""
    from diffusion_sim.atomic import check_output_path

    if not out.strip():
        raise UserError(f"expected a file name ending in .gif or .mp4, got {out!r}", field="--out")
    suffix = Path(out).suffix.lower()
    if suffix not in FORMATS:
        got = f"'{suffix}'" if suffix else "no extension"
        raise UserError(f"expected a file name ending in .gif or .mp4, got {got}", source=out, field="--out")
    fmt = FORMATS[suffix]
    if fmt == "MP4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise UserError(
                f"writing MP4 needs the imageio-ffmpeg package, which is not installed: {MP4_HINT} "
                "(or write a .gif, which needs nothing more)",
                source=out,
                field="--out",
            ) from None
    path = check_output_path(out)
    if path.is_dir():
        raise UserError(f"is a folder; expected a file name ending in {suffix}", source=out, field="--out")
    return path, fmt


def animate(
    scenario,
    out: str,
    *,
    seed: int = 0,
    fps: float = 4.0,
    every: int = 1,
    source: str = "scenario",
) -> Animation:
    """Run ``scenario`` (its ``schedule.steps``) and write its animation to ``out`` (.gif or .mp4).

    Raises :class:`UserError` (nothing written) for a wrong file name or format, a place that cannot be
    written, a community of more than :data:`MAX_AGENTS` agents or more than :data:`MAX_FRAMES` frames.
    """
    from diffusion_sim.atomic import atomic_file
    from diffusion_sim.community import build_community
    from diffusion_sim.population import expected_agents
    from diffusion_sim.resources import check_scenario_memory
    from diffusion_sim.runner import run
    from diffusion_sim.workshop.layout import network_layout
    from diffusion_sim.workshop.picture import FRAME_SIZE, NetworkPicture

    t0 = time.perf_counter()
    path, fmt = _check_out(out)
    steps = scenario.schedule.steps
    drawn = frame_steps(steps, every)
    if len(drawn) > MAX_FRAMES:
        raise UserError(
            f"{len(drawn):,} frames is more than the {MAX_FRAMES:,} an animation may have; draw every "
            f"{math.ceil(steps / (MAX_FRAMES - 1))} steps or more (--every) or fewer steps (--steps)",
            source=source,
        )
    _check_agents(expected_agents(scenario), source)
    check_scenario_memory(scenario, 1, source=source)
    community = build_community(scenario, seed)
    _check_agents(community.n, source)  # an imported community is counted once read

    positions = network_layout(community, seed)
    title = f"{scenario.name}: {scenario.behaviour.name}"
    picture = NetworkPicture(
        community, positions, title=title, steps=steps, days_per_step=scenario.schedule.days_per_step
    )
    wanted = set(drawn)
    last = [-1]  # the step of the last frame: "just started" means since then

    with atomic_file(path, parents=True) as tmp:
        writer = _GifWriter(tmp, fps) if fmt == "GIF" else _Mp4Writer(tmp, fps, FRAME_SIZE, out)

        def draw(model) -> None:
            t = model.steps
            if t not in wanted:
                return
            adopted = model.adopted[:, 0]
            started = model.new[:, 0] | (model.adopted_at[:, 0] > last[0])
            writer.add(picture.frame(t, adopted, started, model.abandoned_at[:, 0] >= 0))
            last[0] = t

        try:
            run(scenario, seed, agents=False, on_start=draw, on_step=draw, community=community)
            writer.close()
        finally:
            writer.abort()
    return Animation(path, fmt, len(drawn), drawn, FRAME_SIZE, fps, community.n, time.perf_counter() - t0)


def _check_agents(n: int | None, source: str) -> None:
    if n is not None and n > MAX_AGENTS:
        raise UserError(
            f"the community has {n:,} agents; an animation draws at most {MAX_AGENTS:,} (every agent is a "
            "marker in every frame, and more would be a blur): use a smaller community, e.g. "
            "--set community.households=5000",
            source=source,
        )


class _GifWriter:
    """Frames kept as palette images (one fixed palette, so colours do not flicker), written at the end."""

    def __init__(self, tmp: Path, fps: float):
        self.target = tmp
        self.duration = max(20, round(1000 / fps / 10) * 10)  # GIF delays are in hundredths of a second
        self.frames: list = []
        self.palette = None
        self.exact: list[int] = []

    def add(self, rgb) -> None:
        import numpy as np
        from PIL import Image

        image = Image.fromarray(rgb)
        if self.palette is None:
            self.palette, self.exact = _palette(image)
        frame = image.quantize(palette=self.palette, dither=Image.Dither.NONE)
        # Pillow's nearest-colour search is approximate (white came out as 252, 252, 252): the picture's own
        # colours get their own palette entries exactly
        index = np.array(frame)
        packed = (rgb[:, :, 0].astype(np.uint32) << 16) | (rgb[:, :, 1].astype(np.uint32) << 8) | rgb[:, :, 2]
        for i, colour in enumerate(self.exact):
            index[packed == colour] = i
        frame = Image.fromarray(index, "P")
        frame.putpalette(self.palette.getpalette())
        self.frames.append(frame)

    def close(self) -> None:
        first, *rest = self.frames
        first.save(
            self.target, format="GIF", save_all=True, append_images=rest, duration=self.duration, loop=0, optimize=True
        )
        self.frames = []

    def abort(self) -> None:
        self.frames = []


def _palette(image):
    """A 255-colour palette image (and the picture's own colours as 0xRRGGBB, its first entries).

    The picture's own colours are in it exactly, the rest adapted to the first frame.

    The 256th index is left free: Pillow makes a frame's unchanged pixels transparent with it, so that each
    frame stores only what changed (a GIF of the default scenario shrinks several times).
    """
    from PIL import Image

    from diffusion_sim.workshop import style

    exact = ["#FFFFFF", "#000000", style.TIE.colour, style.MARGINALISED.colour]
    exact += [s.colour for s in style.STATES] + [c.colour for c in style.CURVES]
    exact = list(dict.fromkeys(c.upper() for c in exact))
    rgb = [int(c[i : i + 2], 16) for c in exact for i in (1, 3, 5)]
    adapted = image.quantize(colors=255 - len(exact), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette = Image.new("P", (1, 1))
    palette.putpalette(rgb + adapted.getpalette()[: 3 * (255 - len(exact))])
    return palette, [int(c[1:], 16) for c in exact]


class _Mp4Writer:
    """Frames streamed to ffmpeg (imageio-ffmpeg's own binary) as H.264 in an MP4 container."""

    def __init__(self, tmp: Path, fps: float, size: tuple[int, int], shown: str):
        import imageio_ffmpeg

        self.shown = shown
        self.gen = imageio_ffmpeg.write_frames(
            str(tmp), size, fps=fps, codec="libx264", pix_fmt_out="yuv420p", macro_block_size=16,
            ffmpeg_log_level="error", output_params=["-f", "mp4"],
        )  # fmt: skip
        try:
            self.gen.send(None)  # starts ffmpeg
        except (OSError, RuntimeError) as err:
            self.gen = None
            raise self._error(err) from None

    def add(self, rgb) -> None:
        try:
            self.gen.send(rgb.tobytes())
        except (OSError, RuntimeError) as err:
            raise self._error(err) from None

    def close(self) -> None:
        gen, self.gen = self.gen, None
        try:
            gen.close()
        except (OSError, RuntimeError) as err:
            raise self._error(err) from None

    def abort(self) -> None:
        if self.gen is not None:
            gen, self.gen = self.gen, None
            try:
                gen.close()
            except (OSError, RuntimeError):
                pass

    def _error(self, err: Exception) -> UserError:
        """The complaint of ffmpeg, in one line."""
        lines = [s.strip() for s in str(err).splitlines() if s.strip()]
        reason = next((s for s in reversed(lines) if "No space" in s or "Permission" in s), lines[0] if lines else "")
        return UserError(f"ffmpeg could not write the video ({reason[:200]})", source=self.shown, field="--out")


def cmd_animate(args: argparse.Namespace) -> int:
    """``diffusion-sim animate``."""
    from diffusion_sim.interrupts import deferred_interrupts
    from diffusion_sim.scenario import apply_overrides, load_scenario

    _check_out(args.out)  # before reading the scenario: a wrong name is the first thing to say
    scenario = load_scenario(args.scenario)
    if args.overrides:
        scenario = apply_overrides(scenario, args.overrides)
    if args.steps is not None:
        scenario = apply_overrides(scenario, {"schedule.steps": args.steps}, source="--steps")
    with deferred_interrupts():  # Ctrl-C stops between steps; nothing is written
        a = animate(scenario, args.out, seed=args.seed, fps=args.fps, every=args.every, source=args.scenario)
    size = f"{a.size[0]}x{a.size[1]}"
    print(
        f"wrote {args.out}: {a.format}, {a.frames} frames ({size}, {a.fps:g} per second) of {a.agents:,} agents "
        f"over {a.steps[-1]} steps in {a.seconds:.1f} s"
    )
    return 0
