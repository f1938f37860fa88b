"""Publication of a run's results: committee workbooks, CSV/JSON files, the board report, Prefect artifacts.

Kept import-free on purpose: the workbook writer's worker processes import
``connectors.publish._workbook`` and must not pay for pandas or Prefect.
"""
