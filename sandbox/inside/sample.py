"""S, the sample process: it loads the program and then only answers.

Role: for HumanEval/MBPP jobs (`serve_calls`) S is a fresh fork that never saw the tests: it
says what the program defines, then answers J's calls over a pipe, each value tagged by
`values.encode` (values that cannot cross stay here as handles J may pass back). For APPS
(`run_case`) S runs the program on one test input: stdin programs print, call-based ones
send their answer. S runs under the sample's uid (`confine`); nothing it says is trusted.
"""

import os
import sys

from .confine import first_line, no_int_digit_limit
from .values import Uncrossable, decode, encode
from .wire import Gone, read_msg, write_msg

def load(program, name, filename="<sample>"):
    g = {} if name is None else {"__name__": name}
    exec(compile(program, filename, "exec"), g)
    return g


def load_sample(job):
    """S's start: the job's program loaded, with no limit on int-to-str digits."""
    no_int_digit_limit()
    return load(job["program"], job.get("module_name"))


def serve_calls(job, req_r, resp_w):
    """S for function/assert jobs: load the program, say what it defines, answer calls."""
    try:
        g = load_sample(job)
    except BaseException as exc:  # noqa: BLE001 - report anything, including SystemExit
        write_msg(resp_w, {"load_error": first_line(exc)})
        os._exit(0)
    names = []
    for k, v in list(g.items()):
        if k.startswith("__"):
            continue
        if type(v) is type(os):
            names.append([k, "module", getattr(v, "__name__", "")])
        elif callable(v):
            names.append([k, "callable", ""])
        else:
            names.append([k, "value", ""])
    write_msg(resp_w, {"names": names})
    handles = {}  # values that cannot cross, kept for J to pass back
    while True:
        try:
            req = read_msg(req_r)
        except Gone:
            os._exit(0)
        try:
            args = decode(req["a"], g, handles)
            kwargs = decode(req["k"], g, handles)
            result = g[req["n"]](*args, **kwargs)
            try:
                out = {"v": encode(result, handles)}
                if req.get("m"):
                    out["a"] = encode(args, handles)
            except (Uncrossable, RecursionError) as exc:
                out = {"u": first_line(exc)}
        except BaseException as exc:  # noqa: BLE001
            msg = str(exc).strip().splitlines()
            out = {"e": type(exc).__name__, "m": (msg[0] if msg else "")[:300]}
        write_msg(resp_w, out)


def run_case(job, index, out_w):
    """S for one APPS test case: stdin programs print to out_w; call-based write the value."""
    no_int_digit_limit()
    if job["kind"] == "stdin":
        try:
            g = load(job["program"], "tmp_sol")
            code = g["code"]
        except BaseException as exc:  # noqa: BLE001
            os.write(2, first_line(exc).encode())
            os._exit(3)
        try:
            code()
        except SystemExit:
            pass
        except BaseException:  # noqa: BLE001
            try:
                sys.stdout.flush()
            except BaseException:  # noqa: BLE001
                pass
            os._exit(1)
        try:
            sys.stdout.flush()
        except BaseException:  # noqa: BLE001
            os._exit(1)
        os._exit(0)
    # call-based
    try:
        g = load(job["program"], "tmp_sol")
        if "class Solution" in job["solution_text"]:
            target = g["Solution"]()
        else:
            target = None
        method = getattr(target, job["entry"]) if target is not None else g[job["entry"]]
    except BaseException as exc:  # noqa: BLE001
        write_msg(out_w, {"load_error": first_line(exc)})
        os._exit(0)
    inputs = job["inputs"][index]
    try:
        if isinstance(inputs[0], dict):
            inputs = [{int(k): v for k, v in inputs[0].items()}]
    except Exception:  # noqa: BLE001
        pass
    try:
        output = method(*inputs)
        try:
            msg = {"v": encode(output)}
        except (Uncrossable, RecursionError) as exc:
            msg = {"u": first_line(exc)}
    except BaseException as exc:  # noqa: BLE001
        msg = {"e": first_line(exc)}
    write_msg(out_w, msg)
    os._exit(0)
