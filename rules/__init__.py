"""Pure reconciliation and screening rules (DataFrames in, findings out; no I/O, no Prefect)."""

from rules.reconcile import reconcile, run_rules

__all__ = ["reconcile", "run_rules"]
