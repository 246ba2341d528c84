"""J, the judge process: it reads the tests and decides, trusting nothing the sample says.

Role: J runs under its own uid (the sample's + 1), so S cannot signal it, trace it or read its
fds. For HumanEval/MBPP (`judge_calls`) J evaluates the asserts with `_Stub`s that call into
S over a pipe and compares values rebuilt by `values.decode` with its own types only; for APPS
(`judge_apps`) it compares S's outputs with the reference harness's rules
(`apps_equal_stdin`, `apps_equal_call`). It reports one line per test on a pipe S never had
(`judge_main`; read by `watch.collect`), so a verdict is `pass` only when J saw every test pass.
"""

import os
import sys

from .confine import CFG, enter_child, first_line, no_int_digit_limit
from .values import Ref, Unjudgeable, decode, encode
from .wire import Gone, read_msg, write_msg

def exception_class(name):
    import builtins

    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        return cls
    return type(name, (Exception,), {})


class _Stub:
    """Stands for a function of the sample inside J: each call is a round trip to S."""

    def __init__(self, name, link):
        self.__name__ = name
        self._link = link

    def __call__(self, *args, **kwargs):
        req_w, resp_r = self._link
        mutable = any(type(a) in (list, dict, set, bytearray) for a in args)
        write_msg(req_w, {"n": self.__name__, "a": encode(list(args)), "k": encode(kwargs), "m": mutable})
        try:
            resp = read_msg(resp_r)
        except Gone:
            raise SampleGone() from None
        if "u" in resp:
            raise Unjudgeable(f"the sample's answer cannot be compared outside it: {resp['u']}")
        if "e" in resp:
            raise exception_class(str(resp["e"]))(str(resp.get("m", "")))
        if mutable and "a" in resp:
            for old, new in zip(args, decode(resp["a"])):
                if type(old) is list and type(new) is list:
                    old[:] = new
                elif type(old) is dict and type(new) is dict:
                    old.clear()
                    old.update(new)
                elif type(old) is set and type(new) is set:
                    old.clear()
                    old.update(new)
        return decode(resp["v"])


class SampleGone(Exception):
    """S exited or died while J was calling it."""


def judge_calls(job, tests, link, report):
    """J for HumanEval (function) and MBPP (assert): run the tests against stubs."""
    resp_r = link[1]
    no_int_digit_limit()
    try:
        hello = read_msg(resp_r)
    except Gone:
        report("G", "the sample exited before the tests ran")
        return
    if "load_error" in hello:
        report("F", hello["load_error"])
        return
    names = {n: (kind, mod) for n, kind, mod in hello["names"]}
    if job["kind"] == "function":
        ns = {"__name__": "__judge__"}
        try:
            exec(compile(tests["prompt"], "<prompt>", "exec"), ns)
        except BaseException:  # noqa: BLE001
            ns = {"__name__": "__judge__"}
        entry = tests["entry_point"]
        if names.get(entry, ("",))[0] != "callable":
            report("F", f"NameError: the program does not define {entry}()")
            return
        stub = _Stub(entry, link)
        ns[entry] = stub
        statements = [tests["test"] + "\n\ncheck(__candidate__)\n"]
        ns["__candidate__"] = stub
    else:
        ns = {"__name__": "__main__"}
        stdlib = getattr(sys, "stdlib_module_names", frozenset())
        import importlib

        for name, (kind, mod) in names.items():
            if kind == "module":
                if mod.split(".")[0] in stdlib:
                    try:
                        ns[name] = importlib.import_module(mod)
                    except BaseException:  # noqa: BLE001
                        pass
            elif kind == "callable":
                ns[name] = _Stub(name, link)
            else:
                ns[name] = Ref(name)
        statements = tests["asserts"]
    for i, stmt in enumerate(statements):
        try:
            exec(compile(stmt, f"<test {i}>", "exec"), ns)
        except SampleGone:
            report("G", "the sample process exited or died during the tests")
            return
        except Unjudgeable as exc:
            report("U", f"{exc} (test {i + 1})")
        except BaseException as exc:  # noqa: BLE001
            report("F", f"{first_line(exc)} (test {i + 1})")
        else:
            report("P", "")


def apps_equal_call(output, expected):
    if isinstance(expected, dict):
        try:
            expected = [{int(k): v for k, v in expected.items()}]
        except Exception:  # noqa: BLE001
            pass
    try:
        if isinstance(expected[0], dict):
            expected = [{int(k): v for k, v in expected[0].items()}]
    except Exception:  # noqa: BLE001
        pass
    if isinstance(output, tuple):
        output = list(output)
    ok = output == expected
    if isinstance(expected, list) and expected:
        ok = ok or output == expected[0]
    try:
        if isinstance(output[0], tuple):
            ok = ok or [list(x) for x in output] == expected[0]
    except Exception:  # noqa: BLE001
        pass
    return bool(ok)


def _allclose(a, b):
    return all(abs(x - y) <= 1e-8 + 1e-5 * abs(y) for x, y in zip(a, b))


def apps_equal_stdin(text, expected):
    """The comparison chain of the APPS reference testing_util for standard-input problems.

    `output` is the captured stdout split into lines, `gt` the expected text; each step is tried
    in the reference's order, on the progressively transformed values."""
    output = text.splitlines()
    gt = "\n".join(expected) if isinstance(expected, list) else expected
    joined = "\n".join(output)
    if joined.strip() == gt.strip():
        return True
    if "\n".join(o.strip() for o in output).strip() == gt.strip():
        return True
    if output == [gt]:
        return True
    gt = [x.strip() for x in gt.split("\n") if x]
    if output == [gt] or output == gt:
        return True
    output = [o for o in output if o]
    ok = output == [gt] or output == gt
    try:
        of = [float(e) for e in output]
        gf = [float(e) for e in gt]
        ok = ok or (len(of) == len(gf) and _allclose(of, gf))
    except (ValueError, OverflowError):
        pass
    if ok:
        return True
    gt_sets = [set(x.split()) for x in gt]
    if output == gt_sets:
        return True
    out_sets = [set(o.split()) for o in output]
    out_sets = [s_ for s_ in out_sets if s_]
    ok = set(frozenset(s_) for s_ in out_sets) == set(frozenset(s_) for s_ in gt_sets)
    try:
        ok = ok or (
            set(frozenset(round(float(t), 3) for t in s_) for s_ in out_sets)
            == set(frozenset(round(float(t), 3) for t in s_) for s_ in gt_sets)
        )
    except (ValueError, OverflowError):
        pass
    return bool(ok)


def judge_apps(job, tests, results, report):
    outputs = tests["outputs"]
    for i, res in enumerate(results):
        if res is None:
            report("F", "")
            continue
        state, payload = res
        if state == "unjudgeable":
            report("U", payload)
            continue
        if state != "ok":
            report("F", payload)
            continue
        try:
            if job["kind"] == "stdin":
                good = apps_equal_stdin(payload, outputs[i])
            else:
                good = apps_equal_call(decode(payload), outputs[i])
        except Unjudgeable as exc:
            report("U", str(exc))
            continue
        except Exception as exc:  # noqa: BLE001
            report("F", first_line(exc))
            continue
        report("P" if good else "F", "" if good else f"wrong answer on test {i + 1}")


def judge_main(job, link, results, result_w):
    """Body of J: read the tests (message B) from stdin, judge, report lines on result_w.

    The lines are written in one go at the end (one wake-up of the server per sample); when
    the server stops S at its deadline, J's next call fails at once and J still reports."""
    lines = []

    def report(mark, detail):
        lines.append((mark + detail.replace("\n", " ")[:300] + "\n").encode())

    try:
        os.lseek(0, 0, os.SEEK_SET)
        tests = read_msg(0)
    except BaseException as exc:  # noqa: BLE001
        os.write(result_w, b"Xcould not read the tests: " + first_line(exc).encode() + b"\n")
        os._exit(1)
    if job["kind"] == "function":
        total = 1
    elif job["kind"] == "assert":
        total = len(tests["asserts"])
    else:
        total = len(tests["outputs"])
    lines.append(b"R%d\n" % total)
    try:
        if job["kind"] in ("function", "assert"):
            judge_calls(job, tests, link, report)
        else:
            judge_apps(job, tests, results, report)
        lines.append(b"D\n")
    finally:
        data = memoryview(b"".join(lines))
        while data:
            data = data[os.write(result_w, data):]
    os._exit(0)


def fork_judge(job, link, results, uid, timeout_s, tests_fd, extra_keep=()):
    """Fork J under `uid` with the tests (`tests_fd`) as its stdin; returns (pid, report pipe)."""
    result_r, result_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            keep = [result_w, *extra_keep]
            enter_child(keep, uid, timeout_s + 1, CFG.get("judge_memory_mb", 0),
                        0, stdin_fd=tests_fd, oom=500)
            if CFG.get("isolate"):
                os.chdir("/")
            judge_main(job, link, results, result_w)
        except BaseException:  # noqa: BLE001
            pass
        os._exit(1)
    os.close(result_w)
    return pid, result_r
