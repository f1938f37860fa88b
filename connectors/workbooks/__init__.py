"""Reading the cells' monthly workbooks (contract.md §2).

``parse_workbook`` reads one file with python-calamine and validates every sheet; it never
raises: a file-level fault (not an xlsx, corrupt, empty, password-protected, a required sheet or
header missing, merged header cells) becomes ``WorkbookResult.error``, a Vietnamese sentence
naming the file. ``read_submissions`` parses a folder in parallel and concatenates.

One module per job, each importing only those above it in this list:
- ``naming``: file names fit for a line, the cell code a name carries (one cell, one voice);
- ``results``: FileFault, a batch of workbooks validated together and its split per workbook;
- ``checks``: an untrusted file checked before any reader sees it (kind, size, zip parts, sheet
  extent); its limits (``MAX_*``) live there;
- ``listing``: the submissions folder, which files are read and which skipped, checksums;
- ``reader``: one workbook read into raw sheet columns;
- ``validate``: Pandera validation of many workbooks at once, ``parse_workbook``;
- ``workers``: the guarded worker processes (memory limit, die with the parent, a crashing
  chunk halved down to the one file);
- ``folder``: ``read_submissions``.
"""

from __future__ import annotations

from connectors.workbooks.checks import _precheck, _read_limited
from connectors.workbooks.folder import read_submissions
from connectors.workbooks.listing import _checksum, identical_copies, list_submissions, skipped_results
from connectors.workbooks.naming import cell_of_name, name_agrees, name_codes, safe_name, safe_source
from connectors.workbooks.results import ChunkRows, FileFault, notes_frame
from connectors.workbooks.validate import parse_workbook
from connectors.workbooks.workers import _CRASHED, _parse_all, close_worker_pool, worker_pool

# The limits (MAX_*) are not re-exported: a test that lifts one patches
# ``connectors.workbooks.checks``, where ``_precheck`` reads it.
__all__ = [
    "ChunkRows",
    "FileFault",
    "_CRASHED",
    "_checksum",
    "_parse_all",
    "_precheck",
    "_read_limited",
    "cell_of_name",
    "close_worker_pool",
    "identical_copies",
    "list_submissions",
    "name_agrees",
    "name_codes",
    "notes_frame",
    "parse_workbook",
    "read_submissions",
    "safe_name",
    "safe_source",
    "skipped_results",
    "worker_pool",
]
