"""Calibration: fit scenario parameters to observed adoption with ABC-SMC (see docs/calibration-method.md)."""
