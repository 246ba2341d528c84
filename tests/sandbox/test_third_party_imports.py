"""A sample may import the third-party packages the sandbox's python3 has (numpy, pandas, scipy,
matplotlib, requests, boto3: docs/sandbox.md, installed by `make sysdeps`), and it gets the
verdict the reference harness gives it: a correct sample that imports pandas or draws with
matplotlib passes in the bwrap sandbox, under its own uid.

(Before the fix, bwrap created the sandbox's /etc 0700, so a sample's uid could not follow
libblas.so.3 -> /etc/alternatives/...: pandas and scipy failed with ImportError, and matplotlib
found no matplotlibrc, which Debian keeps in /etc.)
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

import schemas
from sandbox.config import SandboxConfig
from sandbox.executor import Executor
from tests.sandbox.conftest import samples_for

PROBLEM = {
    "benchmark": "humaneval", "task_id": "HumanEval/mean", "prompt": "def mean(xs):\n",
    "tests": "def check(candidate):\n    assert candidate([1, 2, 3]) == 2.0\n"
             "    assert candidate([4.0]) == 4.0\n",
    "test_setup": "", "entry_point": "mean", "io_kind": "function", "difficulty": None,
    "fewshot_ids": [], "stop": ["\ndef"], "reference": "    return sum(xs) / len(xs)\n",
    "starter_code": "",
}

COMPLETIONS = {
    "pandas": "    import pandas as pd\n    return float(pd.Series(xs).mean())\n",
    "scipy": "    from scipy import stats\n    return float(stats.describe(xs).mean)\n",
    # no backend chosen: pyplot falls back to Agg without a display, as in the reference run
    "matplotlib": ("    import io\n    import matplotlib.pyplot as plt\n"
                   "    fig, ax = plt.subplots()\n    ax.plot(xs)\n    buf = io.BytesIO()\n"
                   "    fig.savefig(buf, format='png')\n    plt.close(fig)\n"
                   "    assert buf.getvalue()[:4] == b'\\x89PNG'\n"
                   "    return sum(xs) / len(xs)\n"),
    "requests": "    import requests\n    return sum(xs) / len(xs)\n",
    "boto3": "    import boto3\n    return sum(xs) / len(xs)\n",
}


def _host_has(module: str) -> bool:
    python = shutil.which("python3", path="/usr/bin")
    return python is not None and subprocess.run(
        [python, "-c", f"import {module}"], capture_output=True, timeout=120).returncode == 0


@pytest.fixture(scope="module")
def bwrap_executor():
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (make sysdeps)")
    with Executor(SandboxConfig(backend="bwrap", workers=1, timeout_s=10.0)) as ex:
        yield ex


@pytest.mark.parametrize("module", list(COMPLETIONS))
def test_a_correct_sample_importing_an_allowed_package_passes_in_the_bwrap_sandbox(
        bwrap_executor, module):
    if not _host_has(module):
        pytest.skip(f"/usr/bin/python3 cannot import {module}: run `make sysdeps` as root")
    samples = samples_for([PROBLEM, PROBLEM], [COMPLETIONS[module], "    return 0\n"])
    verdicts = bwrap_executor.execute(schemas.from_rows([PROBLEM], "problems"), samples)
    status = verdicts.column("status").to_pylist()
    assert status == ["pass", "fail"], verdicts.column("detail").to_pylist()


def test_a_package_outside_the_list_is_a_plain_module_not_found_failure(bwrap_executor):
    samples = samples_for([PROBLEM], ["    import no_such_package_xyz\n    return sum(xs) / len(xs)\n"])
    verdicts = bwrap_executor.execute(schemas.from_rows([PROBLEM], "problems"), samples)
    assert verdicts.column("status").to_pylist() == ["fail"]
    assert "ModuleNotFoundError" in verdicts.column("detail")[0].as_py()


def test_pandas_and_matplotlib_programs_run_in_the_scientific_zygote_and_leave_the_sample_home_usable():
    """The first job of a fresh worker is a pandas program: it runs in the scientific zygote,
    which imports pandas for it and nothing it was not asked for (the server itself imports
    none of it), and the plain program after it, run by the server, still gets its work
    directory (the zygote's imports wrote to a home of their own, not to the sample's, which
    would then refuse the sample's uid)."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (make sysdeps)")
    if not _host_has("pandas"):
        pytest.skip("/usr/bin/python3 cannot import pandas: run `make sysdeps` as root")
    problems = schemas.from_rows([PROBLEM], "problems")
    with Executor(SandboxConfig(backend="bwrap", workers=1, timeout_s=10.0, dedup=False)) as ex:
        first = ex.execute(problems, samples_for([PROBLEM], [COMPLETIONS["pandas"]]))
        state = ex.workers[0].ping()
        then = ex.execute(problems, samples_for([PROBLEM, PROBLEM],
                                                ["    return sum(xs) / len(xs)\n", "    return 0\n"]))
    assert first.column("status").to_pylist() == ["pass"], first.column("detail").to_pylist()
    assert (state["zygotes"], state["numpy"]) == ({"scientific": ["pandas"]}, False)
    assert then.column("status").to_pylist() == ["pass", "fail"], then.column("detail").to_pylist()
