"""The instruct prompt style: chat prompt, and the function body taken back from a reply.

Specification:
- the prompt is the tokenizer's chat template around an instruction holding the problem prompt;
  a tokenizer without a chat template is refused with a message saying to use `raw`;
- from a reply, the code of the first fenced block that defines the entry point is used (else
  the first block, else the whole reply); when it repeats the signature, the function body is
  returned, with the code's imports and helper functions nested before it, at 4 spaces;
- prompt + extracted completion + the tests runs and passes for a correct reply, whatever the
  reply's surrounding prose, indentation width or repeated docstring.
"""

from __future__ import annotations

import pytest

from workers import instruct

PROMPT = 'from typing import List\n\n\ndef total(xs: List[int]) -> int:\n    """Sum of xs."""\n'
TEST = "assert total([1, 2, 3]) == 6\nassert total([]) == 0\n"


def _runs(completion: str) -> bool:
    scope: dict = {}
    exec(PROMPT + completion + "\n" + TEST, scope)  # trusted test code, written here
    return True


class _Tok:
    chat_template = "{{ messages[0]['content'] }}<turn>"

    def apply_chat_template(self, messages, chat_template, tokenize, add_generation_prompt):
        assert (chat_template, tokenize, add_generation_prompt) == (self.chat_template, False, True)
        return "<user>" + messages[0]["content"] + "<assistant>"


def test_the_chat_prompt_wraps_the_instruction_and_the_problem_in_the_template():
    text = instruct.chat_prompt(_Tok(), PROMPT)
    assert text.startswith("<user>Complete the following Python function.")
    assert "```python\n" + PROMPT + "```" in text and text.endswith("<assistant>")


def test_a_tokenizer_without_a_chat_template_is_refused_pointing_at_raw():
    class Bare:
        chat_template = None

    with pytest.raises(instruct.PromptStyleError, match="prompt_style 'raw'"):
        instruct.chat_prompt(Bare(), PROMPT)


REPLIES = {
    "fenced full function with prose": "Here you go:\n```python\nfrom typing import List\n\n"
        "def total(xs: List[int]) -> int:\n    \"\"\"Sum of xs.\"\"\"\n    return sum(xs)\n```\nDone.",
    "two-space indent and a helper after": "```python\ndef total(xs):\n  return add_all(xs)\n\n"
        "def add_all(xs):\n  out = 0\n  for x in xs:\n    out += x\n  return out\n\nprint(total([1]))\n```",
    "an example block before the answer": "```\ntotal([1, 2]) == 3\n```\n```python\nimport math\n"
        "def total(xs):\n    return int(math.fsum(xs))\n```",
    "a bare body without a fence": "    return sum(xs)\n",
    "an unclosed fence cut by the token limit": "```python\ndef total(xs):\n    s = 0\n"
        "    for x in xs:\n        s += x\n    return s\n",
    "one line": "```python\ndef total(xs): return sum(xs)\n```",
}


@pytest.mark.parametrize("case", sorted(REPLIES))
def test_a_correct_reply_becomes_a_body_that_passes_after_the_prompt(case):
    completion = instruct.extract_completion(REPLIES[case], "total")
    assert completion.startswith("    ") and "def total" not in completion
    assert _runs(completion)


def test_code_that_does_not_parse_still_gives_the_indented_lines_after_the_signature():
    reply = "```python\ndef total(xs,\n          start=0):\n    return sum(xs) +\n```"
    assert instruct.extract_completion(reply, "total") == "    return sum(xs) +\n"


def test_prose_without_code_is_kept_indented_and_fails_to_run():
    completion = instruct.extract_completion("I would use a loop.", "total")
    assert completion == "    I would use a loop."
    with pytest.raises(SyntaxError):
        _runs(completion)
