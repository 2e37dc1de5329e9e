"""A folder this test's commands may not write into, even when the tests run as root."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class ReadOnlyFolder:
    """``path`` is read-only; a command run with ``prefix`` in front cannot write into it."""

    path: Path
    prefix: tuple[str, ...]


@pytest.fixture
def read_only_folder(tmp_path):
    """Root ignores permissions, so as root the commands run without the capabilities that let it."""
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv (util-linux) is needed to drop root's permission override")
        prefix = (
            "setpriv",
            "--bounding-set=-dac_override,-dac_read_search",
            "--inh-caps=-dac_override,-dac_read_search",
        )
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        probe = subprocess.run([*prefix, "sh", "-c", f"touch {locked}/probe"], capture_output=True)
        if probe.returncode == 0:
            pytest.skip("this system lets the process write into a read-only folder anyway")
        yield ReadOnlyFolder(locked, prefix)
    finally:
        locked.chmod(0o755)
