"""Probe extraction: the checks an execution-based ranker may run without the hidden tests.

Role in the pipeline: the input of the `probe` stage (issue 16). A *probe* is one check run on
a candidate program inside the sandbox; its outcome (a value, an exception, a timeout, an
assert that held or not) is what output-agreement (MBR-exec / AlphaCode clustering), the
prompt-example filter and CodeT's dual agreement rank on. Two probe sets, the values of
`schemas.PROBE_SETS`:

* ``prompt_examples``: the examples the prompt itself shows, with their shown outputs:
  - HumanEval: the docstring's ``>>> expr`` lines with the output line(s) under them, and the
    one-line ``f(x) ==> y`` / ``f(x) == y`` / ``f(x) ➞ y`` / ``f(x) => y`` / ``f(x) -> y``
    forms (`humaneval_examples`);
  - APPS: the statement's sample Input/Output blocks (``-----Example(s)-----`` with ``Input`` /
    ``Output`` paragraphs, ``-----Sample Input N-----`` / ``-----Sample Output N-----``) for
    standard-input problems, and LeetCode-style ``Input: a = 1, b = [2]`` / ``Output: 3`` lines
    for call-based ones (`apps_examples`);
  - MBPP: the paper's prompt shows the task's three test asserts themselves, so MBPP's prompt
    examples ARE its hidden tests (`mbpp_examples` returns them as assert probes and says so):
    a prompt-example filter on MBPP ranks with the very tests that score it, and a report that
    uses it must say that it is not a test-free ranker there.
* ``generated_tests``: model-written asserts (CodeGen-16B's for HumanEval, from CodeT's
  released test-case file), parsed as CodeT's authors do (`codet_test_cases` here; the file is read per task by
  `pipeline.run.generated_tests`).

Everything here is pure text processing on trusted data (the benchmark's prompts) or parsing
(`ast.parse` / `compile`, which never run what they parse) of the model-written test file:
nothing of a model's text is executed in this process. Expected outputs are kept as source
text (a Python literal, or the shown stdout); the sandbox compares them.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.benchmarks.base import DataError

#: probe kinds: an expression whose value is the outcome; an APPS call (args as a JSON list);
#: an APPS standard-input run (the input text); an assert statement
PROBE_KINDS = ("expr", "args", "stdin", "assert")


@dataclass(frozen=True)
class Probe:
    """One check: `code` per `kind` (see PROBE_KINDS) and the output the prompt shows for it
    (a Python literal's source for expr/args, the stdout text for stdin; None for asserts and
    for examples whose shown output is not a literal)."""

    kind: str
    code: str
    expected: str | None = None


# --------------------------------------------------------------------------- HumanEval

#: what may stand between an example call and its shown output on one docstring line
_ARROW = re.compile(r"^(?:==>|➞|=>|->|→|==|=|#\s*returns?|returns?|should\s+return)\s*", re.I)
#: LeetCode-style examples ("Input: ..." then "Output: ...") in HumanEval and APPS statements
_CALL_EXAMPLE = re.compile(r"^\s*Input\s*:\s*(.+?)\s*\n\s*Output\s*:\s*(.+?)\s*$", re.M)
_QUOTES = (">>>", '"' * 3, "'" * 3)


def _is_expr(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


def _literal(text: str) -> str | None:
    """`text` as a Python literal's source when it is one (the shown output of an example;
    JSON-style ``true`` / ``false`` read as ``True`` / ``False``), else None."""
    text = text.strip().rstrip(",;.").strip()
    text = {"true": "True", "false": "False"}.get(text, text)
    try:
        ast.literal_eval(text)
        return ast.unparse(ast.parse(text, mode="eval").body)  # comments and spacing dropped
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        return None


def _canonical(code: str) -> str:
    """An expression's source as `ast.unparse` writes it (a trailing comment dropped)."""
    return ast.unparse(ast.parse(code, mode="eval").body)


def _literal_args(call: str) -> bool:
    """Whether every argument of the call `call` is a literal (so `is_happy(a)`, a docstring
    that forgot its quotes, is not taken for an example)."""
    node = ast.parse(call, mode="eval").body
    try:
        for arg in list(node.args) + [k.value for k in node.keywords]:
            ast.literal_eval(arg)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return False
    return True


def _docstring_lines(prompt: str, entry_point: str) -> list[str]:
    """The lines of the prompt from `def <entry_point>` on (its docstring and body)."""
    m = re.search(rf"^def {re.escape(entry_point)}\s*\(", prompt, re.M)
    return prompt[m.start():].split("\n") if m else prompt.split("\n")


def _call_prefix(text: str, entry_point: str) -> int:
    """Length of the shortest prefix of `text` that is a call of `entry_point`, else 0."""
    for k in range(len(entry_point) + 2, len(text) + 1):
        if text[k - 1] == ")" and _is_expr(text[:k]):
            node = ast.parse(text[:k], mode="eval").body
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                return k
    return 0


def humaneval_examples(prompt: str, entry_point: str) -> list[Probe]:
    """The examples in a HumanEval prompt's docstring, in order, as `expr` probes.

    * ``>>> expr`` followed by its output line(s) (up to a blank line or the next ``>>>``);
      a ``>>>`` line with no output under it, or a non-literal one, gets expected None;
    * one-line ``f(x) <sep> y`` forms, where the left side is a call of `entry_point`, `sep`
      one of ``==>``, ``➞``, ``=>``, ``->``, ``==``, ``=``, ``# returns``, ``returns``,
      ``should return`` (an optional leading ``for`` dropped), and the right side a literal;
    * ``Input: <args>`` / ``Output: <literal>`` pairs, as a call of `entry_point` on <args>.

    Codes and expected outputs are written back by `ast.unparse` (comments dropped); the
    arguments of the non-``>>>`` forms must be literals. Duplicates (same call) are kept
    once. Only trusted prompt text is parsed (`ast`), never run.
    """
    lines = _docstring_lines(prompt, entry_point)
    probes: list[Probe] = []
    seen: set[str] = set()

    def add(code: str, expected: str | None) -> None:
        if not _is_expr(code):
            return
        code = _canonical(code)
        if code not in seen:
            seen.add(code)
            probes.append(Probe("expr", code, expected))

    i = 0
    while i < len(lines):
        text = lines[i].strip()
        if text.startswith(">>>"):
            code = text[3:].strip()
            out = []
            j = i + 1
            while j < len(lines):
                nxt = lines[j].strip()
                if not nxt or nxt.startswith(_QUOTES):
                    break
                out.append(nxt)
                j += 1
            shown = " ".join(out).strip()
            add(code, _literal(shown) if shown else None)
            i = j
            continue
        if text.startswith("for "):
            text = text[4:].lstrip()
        if text.startswith(entry_point + "("):
            k = _call_prefix(text, entry_point)
            rest = text[k:].strip() if k else ""
            shown = _ARROW.sub("", rest, count=1)
            if k and shown != rest:
                expected = _literal(shown)
                if expected is not None and _literal_args(text[:k]):
                    add(text[:k], expected)
        i += 1
    for m in _CALL_EXAMPLE.finditer("\n".join(lines)):
        args, expected = m.group(1).strip(), _literal(m.group(2))
        call = f"{entry_point}({args})"
        if expected is not None and "=" not in args and _is_expr(call) and _literal_args(call):
            add(call, expected)
    return probes


# --------------------------------------------------------------------------- APPS

_SECTION = re.compile(r"^-----\s*([^-\n]+?)\s*-----\s*$", re.M)


def _stdin_examples(question: str) -> list[Probe]:
    sections = [(m.group(1).strip().lower(), m.end()) for m in _SECTION.finditer(question)]
    bodies = []
    for k, (name, start) in enumerate(sections):
        end = (_SECTION.search(question, start).start()
               if k + 1 < len(sections) else len(question))
        bodies.append((name, question[start:end]))
    probes: list[Probe] = []
    pending_input: str | None = None
    for name, body in bodies:
        if name.startswith("example"):
            # "Input\n<lines>\n\nOutput\n<lines>" pairs
            for m in re.finditer(r"(?:^|\n)Input\s*\n(.*?)\n\s*Output\s*\n(.*?)(?=\n\s*\n|\Z)",
                                 body, re.S):
                probes.append(Probe("stdin", m.group(1).strip("\n") + "\n",
                                    m.group(2).strip("\n").rstrip() + "\n"))
        elif name.startswith("sample input"):
            pending_input = body.strip("\n") + "\n"
        elif name.startswith("sample output") and pending_input is not None:
            shown = re.split(r"\n\s*\n", body.strip("\n"), maxsplit=1)[0]
            probes.append(Probe("stdin", pending_input, shown.rstrip() + "\n"))
            pending_input = None
    return probes


def _call_examples(question: str) -> list[Probe]:
    probes = []
    for m in _CALL_EXAMPLE.finditer(question):
        args_text, out_text = m.group(1), m.group(2)
        try:
            call = ast.parse(f"f({args_text})", mode="eval").body
            args = [ast.literal_eval(a) for a in call.args]
            args += [ast.literal_eval(k.value) for k in call.keywords]
            expected = ast.literal_eval(out_text)
        except (SyntaxError, ValueError, TypeError, AttributeError, RecursionError, MemoryError):
            continue
        probes.append(Probe("args", json.dumps(args), json.dumps(expected)))
    return probes


def apps_examples(question: str, call_based: bool) -> list[Probe]:
    """The sample tests an APPS statement shows: Input/Output blocks (an output ends at its first
    blank line: the explanation that may follow is not output; `stdin` probes, input and
    expected stdout as text) or, for call-based problems, ``Input: x = ...`` / ``Output: ...``
    lines (`args` probes: the arguments and the output as JSON). Unparseable examples are
    skipped (never guessed)."""
    return _call_examples(question) if call_based else _stdin_examples(question)


# --------------------------------------------------------------------------- MBPP

#: Benchmarks whose prompt examples are their hidden tests: a ranker that runs them is an upper
#: bound there, not a strategy without tests (`pipeline.rank.base.Ranker.reads_hidden_tests`).
EXAMPLES_ARE_HIDDEN_TESTS = frozenset({"mbpp"})


def mbpp_examples(tests: str) -> list[Probe]:
    """MBPP's prompt shows the task's test asserts, so its prompt examples are its hidden tests:
    these are exactly the asserts the execute stage scores with (the problem's `tests`)."""
    return [Probe("assert", t.strip()) for t in tests.replace("\r\n", "\n").split("\n") if t.strip()]


# --------------------------------------------------------------------------- generated tests
# Following microsoft/CodeT, CodeT/src/postprocess.py (`PostProcessor.test_case_extract`,
# `_check_test_case_validation`) and CodeT/src/agreement.py (`cases_per_sample[:limit]`,
# counted per task): each generated sample is "assert " + the continuation, split on
# "assert ", parts that do not mention the entry point dropped, each part cut at the first of
# CodeT's stop tokens and stripped, kept when it compiles inside a try block; the first
# `limit` (5 in CodeT) of each sample are used, and a problem's tests are the distinct ones
# (with how many samples wrote each).

CODET_STOP = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")


def codet_test_cases(content: str, entry_point: str) -> list[str]:
    """The asserts of one generated test sample, as CodeT's `test_case_extract` keeps them."""
    out = []
    for part in f"assert {content}".split("assert "):
        if entry_point.strip() not in part or not part.strip():
            continue
        case = f"assert {part}".strip()
        for stop in CODET_STOP:
            if stop in case:
                case = case.split(stop)[0]
        case = case.strip()
        if "assert" not in case:
            continue
        block = "try:\n    " + case.replace("\n", "\n    ") + "\nexcept:\n    pass\n"
        try:
            compile(block, "<generated test>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
            continue
        out.append(case)
    return out


def prompt_examples(problem: dict) -> list[Probe]:
    """The prompt-example probes of one `problems` row, by its io kind."""
    kind = problem.get("io_kind")
    if kind == "function":
        return humaneval_examples(problem["prompt"], problem["entry_point"])
    if kind == "assert":
        return mbpp_examples(problem["tests"])
    if kind in ("stdin", "call"):
        question = _question_of(problem["prompt"])
        return apps_examples(question, call_based=(kind == "call"))
    raise DataError(f"{problem.get('task_id')}: io_kind {kind!r} has no prompt examples")


def _question_of(prompt: str) -> str:
    """The last QUESTION block of an APPS prompt (the shots before it are other problems)."""
    i = prompt.rfind("\nQUESTION:\n")
    text = prompt[i + len("\nQUESTION:\n"):] if i != -1 else prompt
    j = text.rfind("\nUse ")
    return text[:j] if j != -1 else text
