"""Opt-in post-processing of completions (not applied by the generator; prompts are untouched).

`longest_compilable_prefix(prompt, completion)` keeps the longest prefix of the completion,
cut at a line boundary, such that prompt + prefix compiles as Python. It is model-agnostic: for
an instruct model that continues a function body and then drifts into a closing code fence or
prose (lines the paper's stop sequences do not catch), it drops the non-code tail; a completion
that already compiles is returned unchanged. Whether to apply it is a run-level choice that
must be reported with the results, since it changes what is executed.
"""

from __future__ import annotations


def _compiles(source: str) -> bool:
    try:
        compile(source, "<completion>", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


def longest_compilable_prefix(prompt: str, completion: str) -> str:
    """The longest line-boundary prefix of `completion` with which `prompt` compiles.

    Returns `completion` unchanged if prompt + completion compiles, and "" if no non-empty
    prefix does.
    """
    if _compiles(prompt + completion):
        return completion
    lines = completion.splitlines(keepends=True)
    for end in range(len(lines) - 1, 0, -1):
        candidate = "".join(lines[:end])
        if candidate.strip() and _compiles(prompt + candidate):
            return candidate
    return ""
