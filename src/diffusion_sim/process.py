"""Settings of a process that diffusion-sim owns (the command line, the benchmarks); never applied on import."""

from __future__ import annotations

import os

import numpy as np

__all__ = ["prefer_small_pages"]


def prefer_small_pages() -> bool:
    """Stop numpy asking the kernel for transparent huge pages for its large arrays; return whether it did.

    numpy marks every array of 4 MiB or more ``madvise(MADV_HUGEPAGE)``. Where the kernel's THP
    ``defrag`` setting is ``madvise`` (Debian's default, and this project's machines), a page fault
    in such an array may first compact memory to make a 2 MiB page, and batched runs allocate
    hundreds of megabytes of fresh arrays. ``benchmarks/compare.py`` (the district comparison, in a
    fresh process) measures the difference. numpy's own switch, ``NUMPY_MADVISE_HUGEPAGE``, wins
    when the user has set it; libraries importing diffusion-sim are never changed behind their back.
    """
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return False
    switch = getattr(getattr(getattr(np, "_core", None), "multiarray", None), "_set_madvise_hugepage", None)
    if switch is None:  # pragma: no cover - a numpy without the switch
        return False
    switch(False)
    return True
