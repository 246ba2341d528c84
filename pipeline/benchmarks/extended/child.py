"""The extended-test generator's child process: mutate, filter, and compute expected outputs.

Role: `pipeline.benchmarks.extended.generate` runs this file as a script (`python -s -P
child.py` in a clean environment, one process per task, under rlimits, PYTHONHASHSEED=0) with a
JSON job on stdin, because it executes code: the task's EvalPlus contract and reference and
HumanEval's canonical solution (trusted, but still confined to a child with CPU, memory and
per-input time limits). It imports only the stdlib and
`evalplus.gen.type_mut.TypedMutGen` (EvalPlus's type-aware mutation, Liu et al. 2023).

The loop is `TypedMutGen.generate`'s (pick a seed from the pool, 1-5 mutation steps, skip inputs
seen before, keep an input where the contract holds and feed it back as a seed), except that it
stops after a fixed number of attempts instead of a wall-clock hour, so that a seed gives the same
inputs on any machine, and that an input is kept only if, besides the contract holding:
the reference returns within the per-input CPU limit, the output and input render as source
that rebuilds them (`to_source`), and HumanEval's canonical solution agrees with the reference
under the task's tolerance (`EQUAL_SOURCE`, the comparison the generated `check` uses too).
Seeds (HumanEval's base inputs) that break the contract are dropped from the pool.

Output (stdout, JSON): {"inputs": [source of the argument tuple, ...], "outputs": [source, ...],
"counts": {reason: n}}.
"""

import copy
import json
import math
import random
import signal
import sys

#: The comparison of a candidate's output with the expected one (EvalPlus's: `==`, else floats,
#: also inside lists, tuples and dicts, within `atol` + 1e-7 relative; nan equals nan). Executed here and pasted into the
#: generated `check`, so the generator and the judge compare alike.
EQUAL_SOURCE = '''
def _plus_equal(out, exp, atol):
    try:
        if out == exp:
            return True
    except Exception:
        return False
    if isinstance(exp, float) and isinstance(out, (int, float)) and not isinstance(out, bool):
        if exp != exp:
            return out != out
        return abs(out - exp) <= atol + 1e-07 * abs(exp)
    if isinstance(exp, (list, tuple)) and isinstance(out, (list, tuple)):
        return len(out) == len(exp) and all(_plus_equal(o, e, atol) for o, e in zip(out, exp))
    if isinstance(exp, dict) and isinstance(out, dict):
        return out.keys() == exp.keys() and all(_plus_equal(out[k], exp[k], atol) for k in exp)
    return False
'''

MAX_SOURCE = 2000  # characters of an input's or output's source; longer ones are dropped
MAX_MULTI_STEP_SIZE = 5  # evalplus.gen.type_mut's


class _Slow(Exception):
    pass


def to_source(value, depth=0):
    """Python source that rebuilds `value` (None, bool, int, float incl. inf/nan, complex,
    str, bytes, list, tuple, dict, set); TypeError for anything else."""
    if depth > 50:
        raise TypeError("too deep")
    t = type(value)
    if value is None or t in (bool, int, str, bytes):
        return repr(value)
    if t is float:
        if value != value:
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else 'float("-inf")'
        return repr(value)
    if t is complex:
        return "complex(%s, %s)" % (to_source(value.real), to_source(value.imag))
    if t is list:
        return "[" + ", ".join(to_source(v, depth + 1) for v in value) + "]"
    if t is tuple:
        inner = ", ".join(to_source(v, depth + 1) for v in value)
        return "(" + inner + ("," if len(value) == 1 else "") + ")"
    if t is dict:
        return "{" + ", ".join(to_source(k, depth + 1) + ": " + to_source(v, depth + 1)
                               for k, v in value.items()) + "}"
    if t is set:
        return ("{" + ", ".join(sorted(to_source(v, depth + 1) for v in value)) + "}"
                if value else "set()")
    raise TypeError("cannot render %s" % t.__name__)


def _rebuilds(source, value, equal):
    env = {}
    exec("_v = " + source, env)
    return equal(env["_v"], value, 0.0) and type(env["_v"]) is type(value)


def _call(fn, args, cpu_s, counts):
    """fn(*deepcopy(args)) with a CPU-time limit (ITIMER_PROF: load on the machine does not
    change which inputs pass, but its speed does). Each call past the limit adds one to
    `counts["slow"]`: a task with such calls may keep other inputs on a faster machine."""
    def alarm(*_):
        raise _Slow()

    old = signal.signal(signal.SIGPROF, alarm)
    signal.setitimer(signal.ITIMER_PROF, cpu_s)
    try:
        return fn(*copy.deepcopy(args))
    except _Slow:
        counts["slow"] += 1
        raise
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)


def _define(code, entry_point):
    env = {}
    exec(code, env)
    return env[entry_point]


def run(job):
    from evalplus.gen.type_mut import TypedMutGen

    random.seed(job["seed"])
    ep, prompt = job["entry_point"], job["prompt"]
    guarded = _define(prompt + job["contract"] + job["reference"], ep)
    reference = _define(prompt + job["reference"], ep)
    canonical = _define(prompt + job["canonical"], ep)
    env = {}
    exec(EQUAL_SOURCE, env)
    equal = env["_plus_equal"]
    atol, cpu_s, cap = job["atol"], job["cpu_s"], job["cap"]
    counts = {"attempts": 0, "seen": 0, "contract": 0, "error": 0, "render": 0,
              "disagree": 0, "kept": 0, "seeds_dropped": 0, "slow": 0}

    def holds(args):
        try:
            _call(guarded, args, cpu_s, counts)
            return True
        except BaseException:  # noqa: BLE001 - any failure of the guarded reference: invalid
            return False

    seeds = []
    for args in job["base_inputs"]:
        if holds(args):
            seeds.append(args)
        else:
            counts["seeds_dropped"] += 1
    inputs, outputs, seen = [], [], set()
    for args in seeds:
        seen.add(str(args))
    if not seeds:
        return {"inputs": [], "outputs": [], "counts": counts}
    gen = TypedMutGen(seeds, ep, prompt + job["contract"] + job["reference"])
    while len(inputs) < cap and counts["attempts"] < job["attempts"]:
        counts["attempts"] += 1
        new = gen.seed_selection()
        for _ in range(random.randint(1, MAX_MULTI_STEP_SIZE)):
            new = gen.mutate(new)
        key = str(new)
        if key in seen:
            counts["seen"] += 1
            continue
        seen.add(key)
        if not holds(new):
            counts["contract"] += 1
            continue
        gen.typed_fetch(new)
        gen.seed_pool.append(new)
        try:
            expected = _call(reference, new, cpu_s, counts)
            got = _call(canonical, new, cpu_s, counts)
        except BaseException:  # noqa: BLE001
            counts["error"] += 1
            continue
        try:
            in_src, out_src = to_source(tuple(new)), to_source(expected)
            if (len(in_src) > MAX_SOURCE or len(out_src) > MAX_SOURCE
                    or not _rebuilds(in_src, tuple(new), equal)
                    or not _rebuilds(out_src, expected, equal)):
                raise TypeError("too long or not rebuilt")
        except (TypeError, ValueError, RecursionError, SyntaxError):
            counts["render"] += 1
            continue
        if not equal(got, expected, atol):
            counts["disagree"] += 1
            continue
        inputs.append(in_src)
        outputs.append(out_src)
        counts["kept"] += 1
    return {"inputs": inputs, "outputs": outputs, "counts": counts}


def main():
    job = json.loads(sys.stdin.read())
    sys.setrecursionlimit(5000)
    out = run(job)
    sys.stdout.write(json.dumps(out))


if __name__ == "__main__":
    main()
