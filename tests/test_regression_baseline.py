"""The committed regression baseline holds: any change to the dynamics of a shipped scenario fails here.

Refresh after an intended change with ``./dev baseline`` (see ``tests/regression_baseline.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from regression_baseline import compute, read, scenario_files


def test_every_shipped_scenario_is_in_the_baseline():
    names = {str(p.relative_to(p.parents[1] if p.parent.name == "district" else p.parent)) for p in scenario_files()}
    assert set(read()["scenario"]) == names


def test_outcomes_equal_the_committed_baseline():
    old, now = read(), compute()
    assert list(old.columns) == list(now.columns), "columns changed: refresh with ./dev baseline"
    assert old[["scenario", "replicate"]].equals(now[["scenario", "replicate"]])
    for col in old.columns[2:]:
        a, b = old[col].to_numpy(float), now[col].to_numpy(float)
        # CSV keeps 17 significant digits, so equal numbers round-trip exactly; 1e-13 allows only the last bit
        ok = np.isclose(a, b, rtol=1e-13, atol=0.0, equal_nan=True)
        bad = now.loc[~ok, ["scenario", "replicate"]].assign(committed=a[~ok], now=b[~ok])
        assert ok.all(), f"{col} changed (refresh with ./dev baseline if intended):\n{bad.to_string()}"
    pd.testing.assert_frame_equal(old, now, check_exact=False, rtol=1e-13, check_dtype=False)
