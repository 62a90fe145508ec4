"""Small exception classes: each message names the bad value and the fix in one line.

Pages turn them into `st.error(...)`; the CLI turns them into `error: ...` and exit status 2.
"""

from __future__ import annotations


class PlannerError(Exception):
    """Base class for every error a user can cause and fix."""


class StoreError(PlannerError):
    """The store file cannot be opened, is corrupt, foreign, or too new."""


class StoreBusy(StoreError):
    """Another process is writing the store right now."""


class NotFound(PlannerError):
    """A named rep, account, scenario, plan or model does not exist."""


class BadInput(PlannerError):
    """An argument or a value is out of range or malformed."""


class ImportFileError(PlannerError):
    """A file given to the importer cannot be used at all (nothing is written)."""


class NotEnoughData(PlannerError):
    """There is too little data for the requested operation."""


class Forbidden(PlannerError):
    """The caller's role or scope does not allow this read or write."""
