"""Bad input and faults: one clear line, a non-zero exit, no traceback, nothing written, nothing left behind.

Some cases need the real thing: a read-only or full file system (a tiny tmpfs, mounted when the tests run
as root), a folder without write permission (root ignores permissions, so the command runs with the
DAC-override capabilities dropped), Ctrl-C and ``kill -9`` sent to a real process. Where a case cannot be
set up on this machine the test is skipped with the reason, and a closer in-process test still runs.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from diffusion_sim import atomic, interrupts, resources
from diffusion_sim.atomic import MARKER
from diffusion_sim.cli import main
from diffusion_sim.runner import OUTPUT_FILES

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "diffusion_sim.cli"]
SMALL = ["--set", "community.households=300", "--set", "community.villages=2", "--steps", "6"]


def cli(*args: str, cwd: Path | None = None, prefix: tuple[str, ...] = (), **kw) -> subprocess.CompletedProcess:
    """Run the command in a fresh process."""
    return subprocess.run([*prefix, *CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=600, **kw)


def one_error_line(err: str, *needles: str) -> str:
    """The single ``error:`` line of stderr, checked to contain every needle and no traceback."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def leftovers(folder: Path) -> list[str]:
    """Temporary entries of the atomic writer in a folder."""
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name)


def scenario_file(folder: Path, name: str, text: str) -> Path:
    f = folder / name
    f.write_text(text)
    return f


# ------------------------------------------------------------------------------- 1. seeds


@pytest.mark.parametrize("command", ["run", "compare"])
def test_a_seed_of_2_63_or_more_is_refused_at_parsing(command, tmp_path, capsys):
    out = tmp_path / "out"
    files = [] if command == "run" else ["a.yaml", "b.yaml"]  # never read: parsing fails first
    for seed in (2**63, 2**64 + 5):
        with pytest.raises(SystemExit) as info:
            main([command, *files, "--seed", str(seed), "--out", str(out)])
        assert info.value.code == 2
        one_error_line(capsys.readouterr().err, "--seed", "2**63 - 1", str(seed))
    assert not out.exists()


def test_the_largest_seed_runs_and_is_recorded(tmp_path):
    out = tmp_path / "out"
    assert main(["run", "--seed", str(2**63 - 1), "--out", str(out), "--no-figure", "--quiet", *SMALL]) == 0
    assert json.loads((out / "provenance.json").read_text())["seed"] == 2**63 - 1


# -------------------------------------------------------------------------- 2. --out faults


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a tiny tmpfs (root only); yields a function ``mount(size, read_only)`` returning its folder."""
    mounted = []

    def mount(size: str, read_only: bool = False) -> Path:
        point = tmp_path / f"fs{len(mounted)}"
        point.mkdir()
        opts = f"size={size}" + (",ro" if read_only else "")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(point)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


@pytest.mark.parametrize("command", ["run", "compare", "schema"])
def test_an_empty_out_is_refused(command, tmp_path, capsys):
    files = {"run": [], "compare": ["a.yaml", "b.yaml"], "schema": []}[command]
    with pytest.raises(SystemExit) as info:
        main([command, *files, "--out", ""])
    assert info.value.code == 2
    expected = "expected a file name" if command == "schema" else "expected a folder name"
    one_error_line(capsys.readouterr().err, "--out", expected)


def test_out_below_a_file_is_refused_before_running(tmp_path, capsys, monkeypatch):
    import diffusion_sim.runner as runner

    monkeypatch.setattr(runner, "run", lambda *a, **k: pytest.fail("ran although the output cannot be written"))
    (tmp_path / "file.txt").write_text("keep me")
    assert main(["run", "--out", str(tmp_path / "file.txt" / "sub"), *SMALL]) == 2
    one_error_line(capsys.readouterr().err, "--out", "file.txt", "is a file, not a folder")
    assert (tmp_path / "file.txt").read_text() == "keep me"


def test_out_on_a_read_only_file_system(tmpfs, capsys):
    ro = tmpfs("1m", read_only=True)
    assert main(["run", "--out", str(ro / "res"), *SMALL]) == 2  # refused before running
    one_error_line(capsys.readouterr().err, "--out", str(ro / "res"), "read-only file system")
    assert main(["schema", "--out", str(ro / "s.json")]) == 2
    one_error_line(capsys.readouterr().err, "--out", "s.json", "Read-only file system")
    assert list(ro.iterdir()) == []


def test_out_on_a_full_file_system_leaves_nothing(tmpfs, capsys):
    full = tmpfs("64k")
    assert main(["run", "--out", str(full / "res"), *SMALL]) == 2  # steps.csv alone is larger
    one_error_line(capsys.readouterr().err, "--out", str(full / "res"), "No space left on device")
    assert list(full.iterdir()) == []  # the temporary folder is gone
    filler = full / "filler"
    with pytest.raises(OSError), open(filler, "wb") as f:
        while True:
            f.write(b"x" * 4096)
            f.flush()
    assert main(["schema", "--out", str(full / "s.json")]) == 2
    one_error_line(capsys.readouterr().err, "--out", "s.json", "No space left on device")
    assert [p.name for p in full.iterdir()] == ["filler"]


def test_enospc_while_writing_becomes_one_line_and_nothing_is_left(tmp_path, monkeypatch, capsys):
    """The same as the full file system, without a mount: the writer raises ENOSPC half-way."""
    import diffusion_sim.runner as runner

    calls = []
    real = runner.write_frame

    def write_frame(frame, parquet_path, csv_path):
        calls.append(parquet_path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(frame, parquet_path, csv_path)

    monkeypatch.setattr(runner, "write_frame", write_frame)
    out = tmp_path / "res"
    assert main(["run", "--out", str(out), *SMALL]) == 2
    one_error_line(capsys.readouterr().err, "--out", str(out), "No space left on device", "free some space")
    assert list(tmp_path.iterdir()) == []


def test_out_in_a_folder_without_write_permission(read_only_folder):
    locked, drop = read_only_folder.path, read_only_folder.prefix
    done = cli("run", "--out", str(locked / "res"), *SMALL, prefix=drop)
    assert done.returncode == 2
    one_error_line(done.stderr, "--out", "no permission to write there")
    done = cli("schema", "--out", str(locked / "s.json"), prefix=drop)
    assert done.returncode == 2
    one_error_line(done.stderr, "--out", "Permission denied")
    assert list(locked.iterdir()) == []


# ------------------------------------------------------------------------------ 3. memory


def test_a_population_too_large_for_memory_is_refused_before_it_is_built(tmp_path, monkeypatch, capsys):
    import diffusion_sim.community as community

    monkeypatch.setattr(community, "generate_population", lambda *a: pytest.fail("built it anyway"))
    out = tmp_path / "out"
    big = ["--set", "community.households=200000", "--set", "community.villages=100000"]
    big += ["--set", "community.leaders.religious=1000"]  # 100,700,000 agents, 5e10 council ties
    assert main(["run", *big, "--out", str(out)]) == 2
    one_error_line(capsys.readouterr().err, "community", "100,700,000 agents", "of memory", "fewer replicates")
    assert not out.exists()


def test_an_address_space_limit_is_respected(tmp_path):
    """20 million households under ``ulimit -v`` (4 GB): refused before building, naming the limit."""
    out = tmp_path / "out"
    args = " ".join(["run", "--set", "community.households=20000000", "--out", str(out)])
    done = subprocess.run(
        ["bash", "-c", f"ulimit -v 4000000 && exec {sys.executable} -m diffusion_sim.cli {args}"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 2, done.stderr
    one_error_line(done.stderr, "20,000,056 agents", "address-space limit (ulimit -v)")
    assert not out.exists()


def test_memory_limits_include_the_address_space_limit():
    code = (
        "import resource; resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, resource.RLIM_INFINITY)); "
        "from diffusion_sim.resources import memory_limits, available_memory; "
        "limits = dict(memory_limits()); a = limits['address-space limit (ulimit -v)']; "
        "print(0 < a < 6 * 2**30, available_memory() <= a)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "True"]


def test_a_memory_error_anywhere_becomes_one_line(tmp_path, monkeypatch, capsys):
    import diffusion_sim.runner as runner

    def run(*a, **k):
        raise MemoryError

    monkeypatch.setattr(runner, "run", run)
    out = tmp_path / "out"
    assert main(["run", "--out", str(out), *SMALL]) == 2
    one_error_line(capsys.readouterr().err, "out of memory", "fewer replicates")
    assert not out.exists()


def test_the_model_refuses_replicates_that_do_not_fit(monkeypatch, small_scenario):
    from diffusion_sim.errors import UserError
    from diffusion_sim.model import DiffusionModel

    monkeypatch.setattr(resources, "memory_limits", lambda: [("test limit", 20_000_000)])
    DiffusionModel(small_scenario, replicates=range(2), create_agents=False)  # fits
    with pytest.raises(UserError, match=r"replicates: .* agents x 1000 replicate\(s\) need about"):
        DiffusionModel(small_scenario, replicates=range(1000), create_agents=False)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"community.villages": 3, "community.households": 7, "community.leaders.youth": 4},
        {"community.health_workers": 0, "community.leaders.religious": 0, "network.kin.degree": 9.0},
    ],
)
def test_expected_agents_and_ties_are_known_before_building(overrides):
    from diffusion_sim.community import build_community
    from diffusion_sim.network.build import expected_ties
    from diffusion_sim.population import expected_agents
    from diffusion_sim.scenario import Scenario, apply_overrides

    sc = apply_overrides(Scenario(), overrides)
    c = build_community(sc, 3)
    assert expected_agents(sc) == c.n
    ties = sum(len(e) for e in c.network.layers.values())
    assert ties <= expected_ties(sc) <= 4 * ties + 100  # an upper bound of what the builders draw


# ------------------------------------------------------------------------------ 4. Ctrl-C


def _numpy_loaded(pid: int) -> bool:
    try:
        return "_multiarray_umath" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.parametrize("after", [0.0, 1.0, 2.5, 4.0])
def test_ctrl_c_exits_130_quietly_and_writes_nothing(tmp_path, after):
    """SIGINT while importing (0 s after numpy loads), building, or in the compiled step (the run is long)."""
    out = tmp_path / "res"
    args = ["run", "--set", "community.households=200000", "--steps", "100000", "--out", str(out)]
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(6000):  # wait (up to a minute) until the command is importing numpy, inside main()
            if _numpy_loaded(proc.pid) or proc.poll() is not None:
                break
            time.sleep(0.01)
        time.sleep(after)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        proc.kill()
    # 130, or (rarely, when the signal is still pending as the interpreter exits) death by SIGINT, which a
    # shell reports as 130 too: either way the user sees exit status 130 and the one word below
    assert proc.returncode in (130, -signal.SIGINT), stderr
    assert stderr.strip().splitlines()[-1] == "interrupted"
    assert "Traceback" not in stderr and "Error" not in stderr
    assert list(tmp_path.iterdir()) == []  # no output folder, no temporary folder


def test_the_first_ctrl_c_waits_for_a_safe_point_and_the_second_does_not():
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt), interrupts.deferred_interrupts():
        signal.raise_signal(signal.SIGINT)  # runs the handler now: only a flag
        assert interrupts.interrupt_pending()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)  # the second interrupts at once
        interrupts.check()  # the safe point raises the first
    assert not interrupts.interrupt_pending()
    assert signal.getsignal(signal.SIGINT) is before
    with pytest.raises(KeyboardInterrupt), interrupts.deferred_interrupts():  # pending at the end: raised there
        signal.raise_signal(signal.SIGINT)


def test_ctrl_c_while_writing_moves_nothing_into_place(tmp_path, monkeypatch, capsys):
    import diffusion_sim.runner as runner

    real = runner.write_frame

    def write_frame(*a):
        real(*a)
        signal.raise_signal(signal.SIGINT)  # Ctrl-C half-way through writing

    monkeypatch.setattr(runner, "write_frame", write_frame)
    out = tmp_path / "res"
    assert main(["run", "--out", str(out), *SMALL]) == 130
    assert capsys.readouterr().err == "interrupted\n"
    assert list(tmp_path.iterdir()) == []


def test_a_ctrl_c_that_python_drops_still_interrupts_the_command(tmp_path, monkeypatch, capsys):
    """A KeyboardInterrupt raised in a weakref callback (as during an import, seen in CI) is not lost."""
    import weakref

    from diffusion_sim import runner

    class Thing:
        pass

    def dropped_interrupt(*a):
        thing = Thing()
        ref = weakref.ref(thing, lambda ref: (_ for _ in ()).throw(KeyboardInterrupt))
        del thing
        return ref  # the callback raises; Python can only pass the exception to sys.unraisablehook

    real = runner.write_frame

    def write_frame(*a):
        dropped_interrupt()
        real(*a)

    monkeypatch.setattr(runner, "write_frame", write_frame)
    out = tmp_path / "res"
    assert main(["run", "--out", str(out), *SMALL]) == 130
    assert capsys.readouterr().err == "interrupted\n"  # not "Exception ignored in ..." and a traceback
    assert list(tmp_path.iterdir()) == []
    assert not interrupts.interrupt_pending()  # forgotten once the command has ended
    with interrupts.remember_interrupts():
        dropped_interrupt()
        assert interrupts.interrupt_pending()
        with pytest.raises(KeyboardInterrupt):
            interrupts.check()


def test_an_interrupt_surfacing_as_a_system_error_is_an_interrupt(tmp_path, monkeypatch, capsys):
    import diffusion_sim.runner as runner

    def run(*a, **k):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise SystemError("CPUDispatcher(visit_and_convert) returned a result with an exception set") from None

    monkeypatch.setattr(runner, "run", run)
    assert main(["run", "--out", str(tmp_path / "res"), *SMALL]) == 130
    assert capsys.readouterr().err == "interrupted\n"
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ 5. silent acceptances


LATE = """name: late
schedule:
  steps: 20
interventions:
  - type: home_visits
  - type: media_campaign
    start: 5
  - type: leader_training
    start: 18
    fixed_cost: 1000
"""


def test_an_intervention_starting_after_the_last_step_is_refused(tmp_path, capsys):
    f = scenario_file(tmp_path, "late.yaml", LATE.replace("start: 18", "start: 30"))
    assert main(["validate", str(f)]) == 2
    one_error_line(capsys.readouterr().err, str(f), "line 9: interventions.2.start", "only 20 steps", "(got 30)")


def test_steps_from_the_command_line_are_checked_against_the_interventions(tmp_path, capsys):
    f = scenario_file(tmp_path, "late.yaml", LATE)
    out = tmp_path / "out"
    assert main(["validate", str(f)]) == 0
    capsys.readouterr()
    assert main(["run", str(f), "--steps", "10", "--out", str(out)]) == 2
    one_error_line(capsys.readouterr().err, "--steps: interventions.2.start", "only 10 steps", "(got 18)")
    assert main(["validate", str(f), "--set", "schedule.steps=10"]) == 2
    one_error_line(capsys.readouterr().err, "interventions.2.start")
    assert main(["compare", str(f), str(f), "--steps", "10", "--out", str(out)]) == 2
    one_error_line(capsys.readouterr().err, "--steps: interventions.2.start")
    assert not out.exists()


def test_more_villages_than_households_is_refused(tmp_path, capsys):
    f = scenario_file(tmp_path, "v.yaml", "community:\n  households: 10\n  villages: 12\n")
    assert main(["validate", str(f)]) == 2
    one_error_line(capsys.readouterr().err, "line 3: community.villages", "only 10 households", "(got 12)")


@pytest.mark.parametrize(
    ("seeding", "needle"),
    [
        ("{type: seeding, count: 400}", "interventions.0.count: the community has only 314 agents"),
        ("{type: seeding, budget: 5000, cost_per_seed: 10}", "interventions.0.budget: it buys 500 seeds"),
    ],
)
def test_more_seeds_than_agents_is_refused(tmp_path, capsys, seeding, needle):
    f = scenario_file(
        tmp_path, "s.yaml", f"community: {{households: 300, villages: 2}}\ninterventions:\n  - {seeding}\n"
    )
    assert main(["validate", str(f)]) == 2
    one_error_line(capsys.readouterr().err, needle)
    ok = scenario_file(tmp_path, "ok.yaml", f.read_text().replace("400", "314").replace("5000", "3140"))
    assert main(["validate", str(ok)]) == 0


def test_the_shipped_scenarios_still_validate(capsys):
    files = sorted(str(p) for p in (ROOT / "scenarios").glob("*.yaml"))
    assert main(["validate", *files]) == 0
    assert capsys.readouterr().out.count("ok  ") == len(files)


# -------------------------------------------------------------------- 6. left-over temp folders


def _has_files(folder: Path) -> bool:
    try:
        return any(folder.iterdir())
    except OSError:  # moved into place meanwhile
        return False


def test_kill_9_while_writing_leaves_a_temp_folder_that_the_next_run_removes(tmp_path):
    out = tmp_path / "res"
    caught = None
    for replicates in (40, 120, 300):  # slower writing on each try, until the kill lands while it writes
        args = ["run", "--set", "community.households=10000", "--replicates", str(replicates), "--steps", "3"]
        proc = subprocess.Popen([*CLI, *args, "--no-figure", "--quiet", "--out", str(out)])
        try:
            while proc.poll() is None:
                temp = [p for p in tmp_path.iterdir() if p.name.startswith(".res.tmp-")]
                if temp and _has_files(temp[0]):  # writing has begun
                    proc.send_signal(signal.SIGKILL)
                    caught = temp[0]
                    break
                time.sleep(0.002)
            proc.wait(timeout=600)
        finally:
            proc.kill()
        if caught is not None:
            break
        shutil.rmtree(out, ignore_errors=True)
    assert caught is not None, "never caught the command while it wrote"
    assert caught.name.startswith(f".res.tmp-{proc.pid}-")
    assert caught.exists() and not out.exists()  # what kill -9 leaves: a hidden, half-written folder
    assert main(["run", "--out", str(out), "--no-figure", "--quiet", *SMALL]) == 0
    assert not caught.exists() and leftovers(tmp_path) == []
    assert (out / "steps.parquet").exists()


def test_leftovers_of_live_processes_are_kept_unless_a_day_old(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    mine = tmp_path / f".res.tmp-{os.getpid()}-aaaa"
    gone = tmp_path / f".res.tmp-{dead_pid}-bbbb"
    old = tmp_path / f".res.tmp-{os.getpid()}-cccc"
    other = tmp_path / f".other.tmp-{dead_pid}-dddd"  # another target's: not ours to judge here
    for p in (mine, gone, old, other):
        p.mkdir()
        (p / "steps.parquet").write_bytes(b"PAR1")
    day_ago = time.time() - atomic.LEFTOVER_AGE - 60
    os.utime(old, (day_ago, day_ago))
    removed = atomic.remove_leftovers(tmp_path, "res")
    assert sorted(p.name for p in removed) == sorted([gone.name, old.name])
    assert mine.exists() and other.exists() and not gone.exists() and not old.exists()


def test_a_schema_file_leftover_is_removed_by_the_next_write(tmp_path, capsys):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".s.json.tmp-{int(dead.stdout)}-abcd"
    stale.write_text("{ half")
    assert main(["schema", "--out", str(tmp_path / "s.json")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]
    assert json.loads((tmp_path / "s.json").read_text())["title"]


# ------------------------------------------------------------- 7. whose output folder it is


def _two_scenarios(tmp_path: Path) -> list[str]:
    a = scenario_file(tmp_path, "a.yaml", "name: a\ncommunity: {households: 300, villages: 2}\nschedule: {steps: 6}\n")
    b = scenario_file(tmp_path, "b.yaml", "extends: a.yaml\nname: b\ninterventions:\n  - {type: home_visits}\n")
    return [str(a), str(b)]


def test_compare_into_a_run_folder_is_refused_and_the_run_kept(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["run", "--out", str(out), "--quiet", *SMALL]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert json.loads((out / MARKER).read_text())["command"] == "run"
    files = _two_scenarios(tmp_path)
    assert main(["compare", *files, "--replicates", "2", "--no-progress", "--out", str(out)]) == 2
    one_error_line(
        capsys.readouterr().err, f"error: {out}: --out: holds the output of 'diffusion-sim run'", "another folder"
    )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert leftovers(tmp_path) == []


def test_run_into_a_compare_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "cmp"
    files = _two_scenarios(tmp_path)
    assert main(["compare", *files, "--replicates", "2", "--no-progress", "--out", str(out)]) == 0
    assert json.loads((out / MARKER).read_text())["command"] == "compare"
    capsys.readouterr()
    assert main(["run", "--out", str(out), *SMALL]) == 2
    one_error_line(capsys.readouterr().err, "holds the output of 'diffusion-sim compare'", f"{out}-run")
    assert not (out / "agents.parquet").exists()
    assert main(["compare", *files, "--replicates", "3", "--no-progress", "--out", str(out)]) == 0  # its own: fine


def test_a_folder_with_a_users_files_is_refused_and_left_alone(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    assert main(["run", "--out", str(out), *SMALL]) == 2
    one_error_line(capsys.readouterr().err, "holds files diffusion-sim did not write (notes.txt)", "never replaced")
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    # an earlier run's folder to which the user added a file: refused too, nothing removed
    run_out = tmp_path / "res"
    assert main(["run", "--out", str(run_out), "--quiet", *SMALL]) == 0
    (run_out / "notes.txt").write_text("my notes")
    assert main(["run", "--out", str(run_out), "--no-figure", *SMALL]) == 2
    one_error_line(capsys.readouterr().err, "(notes.txt)")
    assert (run_out / "adoption_by_role.png").exists() and (run_out / "notes.txt").exists()


def test_an_empty_folder_and_an_older_unmarked_run_folder_are_accepted(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["run", "--out", str(empty), "--quiet", *SMALL]) == 0
    assert (empty / "steps.parquet").exists()
    (empty / MARKER).unlink()  # as written before the marker existed
    (empty / "adoption_by_role.png").unlink()
    assert main(["compare", *_two_scenarios(tmp_path), "--out", str(empty)]) == 2
    one_error_line(capsys.readouterr().err, "holds the output of 'diffusion-sim run'")
    assert main(["run", "--out", str(empty), "--quiet", *SMALL]) == 0
    assert json.loads((empty / MARKER).read_text())["command"] == "run"


# ---------------------------------------------------------------------- 8. one atomic writer


def test_one_module_writes_outputs_atomically():
    """Temporary names, renames into place and temp folders live in diffusion_sim.atomic only."""
    src = ROOT / "src" / "diffusion_sim"
    for path in src.rglob("*.py"):
        if path.name == "atomic.py":
            continue
        text = path.read_text()
        for needle in ("os.replace(", "os.rename(", "mkdtemp", "mkstemp", ".tmp"):
            assert needle not in text, f"{path.relative_to(src)} has its own atomic writing ({needle})"


def test_the_writers_file_lists_are_the_commands(tmp_path):
    from diffusion_sim.compare import COMPARE_FILES
    from diffusion_sim.experiment.store import STORE_FILES

    assert atomic.COMMAND_FILES["run"] == OUTPUT_FILES and atomic.COMMAND_FILES["compare"] == COMPARE_FILES
    assert set(STORE_FILES) <= set(atomic.COMMAND_FILES["experiment"])


def test_atomic_folder_streams_files_and_commits_only_on_success(tmp_path):
    out = tmp_path / "res"
    with pytest.raises(RuntimeError), atomic.atomic_folder(out, command="run", managed=OUTPUT_FILES) as tmp:
        (tmp / "steps.csv").write_text("half")
        raise RuntimeError("the run failed")
    assert list(tmp_path.iterdir()) == []
    with atomic.atomic_folder(tmp_path / "a" / "b" / "res", command="run", managed=OUTPUT_FILES) as tmp:
        assert tmp.parent == tmp_path / "a" / "b" and tmp.name.startswith(f".res.tmp-{os.getpid()}-")
        (tmp / "steps.csv").write_text("done")
    assert (tmp_path / "a" / "b" / "res" / "steps.csv").read_text() == "done"
    with pytest.raises(RuntimeError), atomic.atomic_folder(tmp_path / "x" / "y", command="run") as tmp:
        raise RuntimeError
    assert not (tmp_path / "x").exists()  # parents created for a failed write are removed again
