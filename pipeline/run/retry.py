"""Retries of run-directory I/O: transient object-storage errors retried with bounded backoff.

Role in the pipeline: `pipeline.run.storage` calls every read, write, listing and probe of a
remote run directory (s3://, gs://) through `call`. An error that a later attempt can cure
(S3 throttling `503 SlowDown`, a `500`/`502`/`504`, a connection reset or refused, a timeout) is
logged (logger `budget_realloc.storage`, naming the object, the attempt and the error) and the
call is tried again after an exponential backoff with jitter, at most `attempts` times and at
most `deadline_s` seconds in all; any other error, or a transient one that outlasts the budget,
is raised as `StorageError` naming the object, so a shard fails with that message in the
manifest and `resume` redoes it once the store answers again. pyarrow's AWS SDK already retries
a request a few times itself; this is the layer above it, for faults that last longer.

Local paths are not retried (a full or read-only disk does not heal by waiting): their
`ENOSPC`, `EROFS`, `EDQUOT` and `EACCES` are raised as `StorageError` naming the path and saying
that nothing finished was changed and `resume` completes the run once space or permission is
back (`local_error`).

`BUDGET_REALLOC_STORAGE_RETRIES` (attempts) and `BUDGET_REALLOC_STORAGE_BACKOFF_S` (first
backoff) override the defaults, e.g. for tests that need a persistent fault to fail fast.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

log = logging.getLogger("budget_realloc.storage")
T = TypeVar("T")


class StorageError(OSError):
    """A table file is missing, unreadable or corrupt, or the store or disk refused it; the
    message names the file (`pipeline.run.storage` raises and re-exports it)."""


#: error texts of faults that a later attempt can cure (pyarrow's S3 and GCS messages)
TRANSIENT = re.compile(
    r"SlowDown|Throttl|TooManyRequests|RequestTimeout|ServiceUnavailable|InternalError|"
    r"HTTP response code:? ?(?:429|5\d\d)|HTTP status (?:429|5\d\d)|"
    r"AWS Error (?:SLOW_DOWN|NETWORK_CONNECTION|INTERNAL_FAILURE|SERVICE_UNAVAILABLE|THROTTLING|"
    r"REQUEST_TIMEOUT|REQUEST_TIME_TOO_SKEWED)|"
    r"Connection reset|connection was reset|Broken pipe|Connection refused|Couldn't connect|"
    r"Failed to connect|Unable to connect|connection (?:closed|aborted)|Recv failure|"
    r"Send failure|timed out|timeout was reached|Timeout|curlCode: ?(?:7|18|28|52|55|56)\b|"
    r"Empty reply|unexpected EOF|Network|network",
)

#: local errno -> what the user sees
_LOCAL = {28: "no space left on device", 122: "disk quota exceeded",
          30: "read-only file system", 13: "permission denied"}
_ERRNO_TEXT = re.compile(r"\[?[Ee]rrno (\d+)\]?")
_LOCAL_TEXT = {"No space left on device": 28, "Disk quota exceeded": 122,
               "Read-only file system": 30, "Permission denied": 13}


@dataclass(frozen=True)
class Policy:
    """How often and how long to retry one storage call."""

    attempts: int = 6
    backoff_s: float = 0.2  # before the 2nd attempt; doubled each time
    max_backoff_s: float = 5.0
    deadline_s: float = 120.0  # no new attempt starts after this many seconds

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based), with jitter."""
        base = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
        return base * (0.5 + random.random() / 2)


def policy() -> Policy:
    """The default policy, with the environment's overrides."""
    kw = {}
    if os.environ.get("BUDGET_REALLOC_STORAGE_RETRIES"):
        kw["attempts"] = max(1, int(os.environ["BUDGET_REALLOC_STORAGE_RETRIES"]))
    if os.environ.get("BUDGET_REALLOC_STORAGE_BACKOFF_S"):
        kw["backoff_s"] = float(os.environ["BUDGET_REALLOC_STORAGE_BACKOFF_S"])
    return Policy(**kw)


def is_transient(exc: BaseException) -> bool:
    """Whether a later attempt may succeed: a throttled, failed or dropped request."""
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError)):
        return False
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    return isinstance(exc, OSError) and bool(TRANSIENT.search(str(exc)))


def call(what: str, uri: str, fn: Callable[[], T], *, pol: Policy | None = None) -> T:
    """`fn()`, retried while it fails transiently; `what` and `uri` name it in logs and errors.

    Raises `StorageError` naming `uri` when the retries are spent or the deadline passed; any
    non-transient error propagates unchanged (the caller decides what it means)."""
    pol = pol or policy()
    start = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001  (classified below; others re-raised as they are)
            if not is_transient(exc):
                raise
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            elapsed = time.monotonic() - start
            if attempt >= pol.attempts or elapsed >= pol.deadline_s:
                raise StorageError(
                    f"{uri}: {what} failed after {attempt} attempts in {elapsed:.1f} s "
                    f"(object storage kept failing: {first}); nothing finished was changed: "
                    "`budget-realloc resume RUN_DIR` redoes it once the store answers") from exc
            wait = min(pol.delay(attempt), max(0.0, pol.deadline_s - elapsed))
            log.warning("%s %s: attempt %d/%d failed (%s); retrying in %.2f s",
                        what, uri, attempt, pol.attempts, first, wait)
            time.sleep(wait)


def local_errno(exc: BaseException) -> int | None:
    """The errno of a local disk error that waiting cannot cure (full, read-only, denied)."""
    code = getattr(exc, "errno", None)
    if code in _LOCAL:
        return code
    text = str(exc)
    for m in _ERRNO_TEXT.finditer(text):
        if int(m.group(1)) in _LOCAL:
            return int(m.group(1))
    return next((c for t, c in _LOCAL_TEXT.items() if t in text), None)


def local_error(what: str, path: str, exc: BaseException):
    """A StorageError naming `path` for a full, read-only or forbidden local run directory, or
    None for any other error."""
    code = local_errno(exc)
    if code is None:
        return None
    return StorageError(
        f"{path}: {what} failed: {_LOCAL[code]} (errno {code}); nothing finished was changed "
        "(files are written under a temporary name and renamed); free space or fix the "
        "directory's permissions, then `budget-realloc resume RUN_DIR`")
