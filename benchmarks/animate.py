"""Animation benchmark: time of the network layout, of one frame, and of `diffusion-sim animate`.

Run ``./dev bench animate`` (or ``.venv/bin/python benchmarks/animate.py``). Measures

* :func:`diffusion_sim.workshop.layout.network_layout` at 1,000, 5,000 and 20,000 households (8 villages)
  and at 5,000 in one village: the first call in this process (which loads the compiled force layout from
  numba's cache, or compiles it) and the median of 5 more (target: under 1 s at 5,000 households);
* one frame of the built-in default scenario (4,056 agents);
* the whole command on the built-in default scenario (52 steps, 53 frames) as GIF and, if imageio-ffmpeg
  is installed, MP4, each in a fresh process.

A measuring script, not a test: nothing here asserts on time.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _layout() -> None:
    from diffusion_sim.community import build_community
    from diffusion_sim.scenario import Scenario, apply_overrides
    from diffusion_sim.workshop.layout import network_layout

    for households, villages in ((1000, 8), (5000, 8), (5000, 1), (20000, 8)):
        sc = apply_overrides(Scenario(), {"community.households": households, "community.villages": villages})
        c = build_community(sc, 0)
        t = time.perf_counter()
        network_layout(c, 0)
        first = time.perf_counter() - t
        warm = []
        for seed in range(1, 6):
            t = time.perf_counter()
            network_layout(c, seed)
            warm.append(time.perf_counter() - t)
        print(
            f"layout {households:>6,} households, {villages} villages ({c.n:,} agents): "
            f"first {first:.3f} s, then median {statistics.median(warm):.3f} s"
        )


def _frame() -> None:
    import numpy as np

    from diffusion_sim.community import build_community
    from diffusion_sim.scenario import Scenario
    from diffusion_sim.workshop.layout import network_layout
    from diffusion_sim.workshop.picture import NetworkPicture

    sc = Scenario()
    c = build_community(sc, 0)
    t = time.perf_counter()
    pic = NetworkPicture(c, network_layout(c, 0), title="benchmark", steps=52, days_per_step=7.0)
    built = time.perf_counter() - t
    rng = np.random.default_rng(0)
    times = []
    for step in range(20):
        adopted = rng.random(c.n) < step / 20
        t = time.perf_counter()
        pic.frame(step, adopted, adopted & (rng.random(c.n) < 0.1), np.zeros(c.n, bool))
        times.append(time.perf_counter() - t)
    print(f"picture of {c.n:,} agents: built in {built:.2f} s, a frame in {statistics.median(times) * 1000:.0f} ms")


def _command() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for ext in ("gif", "mp4"):
            if ext == "mp4":
                try:
                    import imageio_ffmpeg  # noqa: F401
                except ImportError:
                    print("mp4: imageio-ffmpeg is not installed; skipped")
                    continue
            out = Path(tmp) / f"default.{ext}"
            cmd = [sys.executable, "-m", "diffusion_sim.cli", "animate", str(ROOT / "scenarios" / "default.yaml")]
            t = time.perf_counter()
            done = subprocess.run([*cmd, "--out", str(out)], capture_output=True, text=True)
            wall = time.perf_counter() - t
            print(done.stdout.strip() or done.stderr.strip())
            if done.returncode == 0:
                print(f"  {ext}: {wall:.1f} s in a fresh process (imports included), {out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    _layout()
    _frame()
    _command()
