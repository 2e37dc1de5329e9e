"""Animations for slides: the network layout, the picture's vocabulary, and `diffusion-sim animate`."""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from diffusion_sim.cli import main
from diffusion_sim.community import build_community, single_layer_community
from diffusion_sim.runner import run
from diffusion_sim.scenario import Scenario, apply_overrides
from diffusion_sim.scenario.schema import AGENT_TYPES, LEADER_KINDS
from diffusion_sim.workshop import style
from diffusion_sim.workshop.animate import MAX_AGENTS, frame_steps
from diffusion_sim.workshop.layout import network_layout, tie_pairs
from diffusion_sim.workshop.picture import FRAME_SIZE, MARKERS

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = str(ROOT / "scenarios" / "default.yaml")
SMALL = ["--set", "community.households=300", "--set", "community.villages=3"]
NETWORK_PX = 600  # the network is drawn in the frame's left 627 pixels, all text to the right of them


def one_error_line(err: str, *needles: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def gif_frames(path: Path) -> list[np.ndarray]:
    with Image.open(path) as im:
        frames = []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB")))
    return frames


@pytest.fixture
def no_run(monkeypatch):
    """Fail the test if the scenario is run (every check must come first)."""
    import diffusion_sim.runner as runner

    monkeypatch.setattr(runner, "run", lambda *a, **k: pytest.fail("ran although the animation cannot be written"))


# ----------------------------------------------------------------------------------- layout


def _community(households: int = 1000, villages: int = 5, seed: int = 0):
    sc = apply_overrides(Scenario(), {"community.households": households, "community.villages": villages})
    return build_community(sc, seed)


def test_layout_is_finite_inside_the_unit_square_and_deterministic():
    c = _community()
    xy = network_layout(c, seed=3)
    assert xy.shape == (c.n, 2)
    assert np.isfinite(xy).all()
    assert xy.min() >= 0 and xy.max() <= 1
    assert np.array_equal(xy, network_layout(c, seed=3))
    assert not np.array_equal(xy, network_layout(c, seed=4))
    assert len(np.unique(xy.round(9), axis=0)) == c.n  # nobody drawn on top of anybody


@pytest.mark.parametrize("households, villages", [(1000, 5), (1003, 7), (200, 1), (50, 12)])
def test_every_agent_is_nearer_its_own_village_than_any_other(households, villages):
    c = _community(households, villages)
    xy = network_layout(c)
    v = c.population.village
    centres = np.array([xy[v == k].mean(axis=0) for k in range(villages)])
    nearest = np.argmin(((xy[:, None, :] - centres[None, :, :]) ** 2).sum(-1), axis=1)
    assert np.array_equal(nearest, v)
    # and the villages do not touch: the closest two agents of different villages are further apart than
    # the typical distance between neighbours inside a village
    if villages > 1:
        from scipy.spatial import cKDTree

        inside = np.median(cKDTree(xy).query(xy, k=2)[0][:, 1])
        for a in range(villages):
            others = cKDTree(xy[v != a])
            assert others.query(xy[v == a])[0].min() > 2 * inside


def test_leaders_and_health_workers_sit_in_the_middle_of_their_village():
    c = _community(1200, 4)
    xy = network_layout(c)
    pop = c.population
    for k in range(4):
        members = pop.village == k
        homes = members & (pop.role == 0)
        middle = xy[homes].mean(axis=0)
        reach = np.sqrt(((xy[homes] - middle) ** 2).sum(1)).max()
        special = np.sqrt(((xy[members & (pop.role != 0)] - middle) ** 2).sum(1))
        assert special.max() < 0.3 * reach


def test_ties_are_listed_once_whatever_the_layers():
    c = single_layer_community(4, [(0, 1), (1, 0), (2, 3), (3, 3)])
    assert tie_pairs(c).tolist() == [[0, 1], [2, 3]]
    xy = network_layout(c)
    assert xy.shape == (4, 2) and np.isfinite(xy).all()
    lonely = single_layer_community(3, [])
    assert np.isfinite(network_layout(lonely)).all()


def test_tied_households_sit_nearer_each_other_than_untied_ones():
    """The force layout does something: on a ring (neighbours only) ties are far shorter than random pairs."""
    sc = apply_overrides(
        Scenario(),
        {"community.households": 400, "community.villages": 1, "network.kin.enabled": False,
         "network.inter_village.enabled": False},
    )  # fmt: skip
    c = build_community(sc, 0)
    xy = network_layout(c)
    homes = c.population.role == 0
    pairs = tie_pairs(c)
    pairs = pairs[homes[pairs[:, 0]] & homes[pairs[:, 1]]]
    tie = np.linalg.norm(xy[pairs[:, 0]] - xy[pairs[:, 1]], axis=1).mean()
    rng = np.random.default_rng(0)
    a, b = rng.choice(np.flatnonzero(homes), (2, 2000))
    random = np.linalg.norm(xy[a] - xy[b], axis=1).mean()
    assert tie < 0.5 * random


# ------------------------------------------------------------------------------------ style


def test_every_kind_and_state_has_its_own_look_and_label():
    assert [k.name for k in style.KINDS] == list(AGENT_TYPES)
    assert {f"{kind}_leader" for kind in LEADER_KINDS} <= {k.name for k in style.KINDS}
    for field in ("shape", "label"):
        values = [getattr(k, field) for k in style.KINDS]
        assert len(set(values)) == len(values), field
    for field in ("colour", "label", "name"):
        values = [getattr(s, field) for s in style.STATES]
        assert len(set(values)) == len(values), field
    assert [s.code for s in style.STATES] == list(range(len(style.STATES)))
    assert [k.code for k in style.KINDS] == list(range(len(style.KINDS)))
    hexes = [s.colour for s in style.STATES] + [c.colour for c in style.CURVES]
    hexes += [style.MARGINALISED.colour, style.TIE.colour] + [k.outline for k in style.KINDS if k.outline]
    assert all(re.fullmatch(r"#[0-9A-F]{6}", h) for h in hexes), hexes
    assert {k.shape for k in style.KINDS} <= set(style.SHAPES) == set(MARKERS)
    assert len({style.SHAPE_SYMBOLS[k.shape] for k in style.KINDS}) == len(style.KINDS)  # the page's legend
    assert json.loads(json.dumps(style.vocabulary()))["states"][style.GAVE_UP]["name"] == "gave_up"


def test_adoption_states_and_agent_style():
    adopted = np.array([False, True, True, False, False, True])
    now = np.array([False, False, True, True, False, True])  # agent 3: "now" but not adopted is not adopted
    gave_up = np.array([False, False, False, False, True, True])  # agent 5 adopted again: practising
    codes = style.adoption_states(adopted, now, gave_up)
    assert codes.tolist() == [style.NOT_ADOPTED, style.ADOPTED, style.ADOPTED_NOW, style.NOT_ADOPTED, style.GAVE_UP,
                              style.ADOPTED_NOW]  # fmt: skip
    c = _community(100, 2)
    pop = c.population
    n = pop.n
    look = style.agent_style(pop, np.ones(n, bool), np.zeros(n, bool), np.zeros(n, bool))
    assert (look["kind"] == pop.agent_type).all()
    assert set(look["fill"]) == {style.STATES[style.ADOPTED].colour}
    hw = pop.role == 2
    assert set(look["shape"][hw]) == {style.KINDS[-1].shape}
    marg = pop.marginalised & (pop.role == 0)
    assert marg.any() and set(look["outline"][marg]) == {style.MARGINALISED.colour}
    assert set(look["outline"][(pop.role == 0) & ~marg]) == {""}


# ------------------------------------------------------------------------------ the run path


def test_run_hands_the_model_to_the_callbacks_at_every_step():
    sc = apply_overrides(Scenario(), {"community.households": 200, "community.villages": 2})
    seen = []
    result = run(
        sc, 5, steps=4, agents=False,
        on_start=lambda m: seen.append(("start", m.steps, int(m.adopted.sum()))),
        on_step=lambda m: seen.append(("step", m.steps, int(m.adopted.sum()))),
    )  # fmt: skip
    assert [s[:2] for s in seen] == [("start", 0), ("step", 1), ("step", 2), ("step", 3), ("step", 4)]
    adopters = result.steps.query("metric == 'adopters' and group == 'all'")["value"].tolist()
    assert [s[2] for s in seen] == adopters


# ---------------------------------------------------------------------------------- animate


def test_frame_steps():
    assert frame_steps(6, 1) == [0, 1, 2, 3, 4, 5, 6]
    assert frame_steps(6, 4) == [0, 4, 6]
    assert frame_steps(0, 3) == [0]


def test_gif_has_a_frame_per_drawn_step_and_the_network_changes(tmp_path, capsys):
    out = tmp_path / "spread.gif"
    assert main(["animate", DEFAULT, "--out", str(out), *SMALL, "--steps", "8", "--every", "3", "--fps", "5"]) == 0
    assert f"wrote {out}: GIF, 4 frames" in capsys.readouterr().out
    frames = gif_frames(out)
    assert len(frames) == len(frame_steps(8, 3)) == 4
    with Image.open(out) as im:
        assert im.size == FRAME_SIZE
        assert im.info["duration"] == 200
        assert im.info["loop"] == 0
    first, last = frames[0][:, :NETWORK_PX], frames[-1][:, :NETWORK_PX]
    assert (first != last).any(axis=2).sum() > 100  # agents changed colour, not only the text
    assert (frames[-1] == frames[0]).all(axis=2).mean() > 0.5  # the rest is the same picture
    # the picture's own colours come through exactly: white paper, a practising household
    assert tuple(frames[0][2, 2]) == (255, 255, 255)
    blue = tuple(int(style.STATES[style.ADOPTED].colour[i : i + 2], 16) for i in (1, 3, 5))
    assert (frames[-1][:, :NETWORK_PX] == blue).all(axis=2).sum() > 50
    assert [p.name for p in tmp_path.iterdir()] == ["spread.gif"]  # no temporary file left


def test_mp4_has_the_right_frames_and_length(tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="the workshop extra's imageio-ffmpeg writes MP4")
    out = tmp_path / "deck" / "spread.MP4"  # a missing folder is created; the extension's case does not matter
    assert main(["animate", DEFAULT, "--out", str(out), *SMALL, "--steps", "5", "--fps", "2"]) == 0
    assert out.stat().st_size > 1000
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert frames == len(frame_steps(5, 1)) == 6
    assert seconds == pytest.approx(3.0, abs=0.01)
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    assert tuple(meta["size"]) == FRAME_SIZE
    reader.close()


def test_mp4_without_imageio_ffmpeg_says_how_to_install_it(tmp_path, capsys, monkeypatch, no_run):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import fails as when not installed
    out = tmp_path / "spread.mp4"
    assert main(["animate", DEFAULT, "--out", str(out), *SMALL]) == 2
    one_error_line(capsys.readouterr().err, "spread.mp4", "imageio-ffmpeg", "pip install 'diffusion-sim[workshop]'")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name, needle",
    [("spread.png", "got '.png'"), ("spread", "got no extension"), ("spread.gif.txt", "got '.txt'")],
)
def test_a_wrong_extension_is_refused_before_running(name, needle, tmp_path, capsys, no_run):
    assert main(["animate", DEFAULT, "--out", str(tmp_path / name), *SMALL]) == 2
    one_error_line(capsys.readouterr().err, name, "--out", "expected a file name ending in .gif or .mp4", needle)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_or_bad_scenario_is_refused(tmp_path, capsys, no_run):
    out = tmp_path / "spread.gif"
    assert main(["animate", str(tmp_path / "nope.yaml"), "--out", str(out)]) == 2
    one_error_line(capsys.readouterr().err, "nope.yaml", "file not found")
    bad = tmp_path / "bad.yaml"
    bad.write_text("community:\n  househlds: 10\n")
    assert main(["animate", str(bad), "--out", str(out)]) == 2
    one_error_line(capsys.readouterr().err, "bad.yaml", "househlds")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_out_below_a_file_or_on_a_folder_is_refused(tmp_path, capsys, no_run):
    (tmp_path / "file.txt").write_text("keep me")
    assert main(["animate", DEFAULT, "--out", str(tmp_path / "file.txt" / "a.gif"), *SMALL]) == 2
    one_error_line(capsys.readouterr().err, "--out", "is a file, not a folder")
    (tmp_path / "taken.gif").mkdir()
    assert main(["animate", DEFAULT, "--out", str(tmp_path / "taken.gif"), *SMALL]) == 2
    one_error_line(capsys.readouterr().err, "--out", "is a folder; expected a file name ending in .gif")
    assert (tmp_path / "file.txt").read_text() == "keep me"


def test_out_in_a_folder_without_write_permission(read_only_folder):
    locked, drop = read_only_folder.path, read_only_folder.prefix
    cmd = [*drop, sys.executable, "-m", "diffusion_sim.cli", "animate", DEFAULT, "--out", str(locked / "a.gif")]
    done = subprocess.run([*cmd, *SMALL], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    one_error_line(done.stderr, "--out", "a.gif", "no permission to write there")
    assert list(locked.iterdir()) == []


def test_a_failure_while_writing_leaves_no_partial_file(tmp_path, capsys, monkeypatch):
    from diffusion_sim.workshop.picture import NetworkPicture

    real = NetworkPicture.frame
    drawn = []

    def frame(self, step, *args):
        drawn.append(step)
        if len(drawn) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, step, *args)

    monkeypatch.setattr(NetworkPicture, "frame", frame)
    for name in ("spread.gif", "spread.mp4"):
        if name.endswith(".mp4"):
            pytest.importorskip("imageio_ffmpeg")
        drawn.clear()
        assert main(["animate", DEFAULT, "--out", str(tmp_path / name), *SMALL, "--steps", "5"]) == 2
        one_error_line(capsys.readouterr().err, name, "No space left on device")
        assert list(tmp_path.iterdir()) == []


def test_large_communities_and_too_many_frames_are_refused_before_anything_is_built(
    tmp_path, capsys, monkeypatch, no_run
):
    import diffusion_sim.community as community

    monkeypatch.setattr(community, "generate_population", lambda *a: pytest.fail("built it anyway"))
    out = tmp_path / "big.gif"
    assert main(["animate", DEFAULT, "--out", str(out), "--set", "community.households=30000"]) == 2
    one_error_line(capsys.readouterr().err, "default.yaml", f"{MAX_AGENTS:,}", "30,")
    assert main(["animate", DEFAULT, "--out", str(out), *SMALL, "--steps", "5000"]) == 2
    one_error_line(capsys.readouterr().err, "5,001 frames", "--every")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fps", ["0", "-1", "51", "x"])
def test_a_bad_frame_rate_is_refused(fps, capsys):
    with pytest.raises(SystemExit) as info:
        main(["animate", DEFAULT, "--out", "a.gif", "--fps", fps])
    assert info.value.code == 2
    one_error_line(capsys.readouterr().err, "--fps")


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["animate", "--help"])
    text = capsys.readouterr().out
    assert "diffusion-sim animate scenarios/default.yaml --out diffusion.gif" in text
    assert "diffusion-sim[workshop]" in text
