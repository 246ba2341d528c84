"""Opt-in post-processing: keep the longest line prefix of a completion that compiles.

Specification: a completion that compiles after its prompt is unchanged; a code fence or prose
after a function body is dropped at the first line that breaks compilation; nothing usable
gives ""; the result is always a prefix of the completion.
"""

from __future__ import annotations

from hypothesis import given, strategies as st

from workers.postprocess import longest_compilable_prefix

PROMPT = 'def strlen(string: str) -> int:\n    """Return length of given string."""\n'


def test_a_compiling_completion_is_unchanged():
    completion = "    n = 0\n    for _ in string:\n        n += 1\n    return n\n"
    assert longest_compilable_prefix(PROMPT, completion) == completion


def test_a_fence_and_prose_after_the_body_are_dropped():
    completion = "    return len(string)\n```\n\nThis function uses `len`.\n"
    assert longest_compilable_prefix(PROMPT, completion) == "    return len(string)\n"


def test_nothing_usable_gives_an_empty_completion():
    assert longest_compilable_prefix(PROMPT, "```\n\nIn this function, we use len.\n") == ""


@given(st.lists(st.sampled_from(["    return 1\n", "```\n", "prose here\n", "    x = (\n", "\n"]), max_size=6))
def test_the_result_is_a_prefix_and_compiles(lines):
    completion = "".join(lines)
    out = longest_compilable_prefix(PROMPT, completion)
    assert completion.startswith(out)
    if out:
        compile(PROMPT + out, "<t>", "exec")
