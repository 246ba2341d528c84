"""The `instruct` prompt style: a function prompt asked as a chat turn, and the code taken back.

Role in the pipeline: `workers.generate.Generator` uses it when a model's `prompt_style` is
`instruct` (the paper's `raw` style, the bare prompt continued by the model, stays the default).
This is how instruct models are evaluated today: the model's own chat template, a user turn
asking for the completed function in a fenced code block, and extraction of the code from the
reply. The reply itself is kept in `samples.reply`; `samples.completion` gets what the executor
runs after the problem's prompt, a function body:

- the first fenced block that defines the entry point (else the first block; an unclosed fence
  runs to the end of the reply; no fence: the whole reply);
- if that code defines the entry point, its body (a repeated docstring dropped) preceded by
  the code's other imports, functions and classes, nested in the body so that they are in
  scope; re-indented to four spaces, the prompt's indentation;
- if not, the code as it is when it is already indented (a bare body), else indented by four.

Only `function` problems (HumanEval-style: the prompt is a signature with its docstring) can be
asked this way; other benchmarks' prompts are few-shot texts made for raw continuation.
"""

from __future__ import annotations

import ast
import re
import textwrap
from typing import Any, Optional

PROMPT_STYLES = ("raw", "instruct")

INSTRUCTION = (
    "Complete the following Python function. Answer with the completed function (its signature "
    "and body) in a single ```python fenced code block.\n\n```python\n{prompt}```"
)

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)
_KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_INDENT = "    "


class PromptStyleError(ValueError):
    """A problem or tokenizer cannot be used with the requested prompt style."""


def chat_prompt(tokenizer: Any, prompt: str) -> str:
    """The chat-formatted text for `prompt`: one user turn, then the assistant's turn opened."""
    template = getattr(tokenizer, "chat_template", None)
    if not template:
        raise PromptStyleError(
            "prompt_style 'instruct' needs a tokenizer with a chat template; this model has none "
            "(use prompt_style 'raw' for base models)")
    messages = [{"role": "user", "content": INSTRUCTION.format(prompt=prompt)}]
    return tokenizer.apply_chat_template(messages, chat_template=template, tokenize=False,
                                         add_generation_prompt=True)


def code_blocks(reply: str) -> list[str]:
    """The fenced code blocks of `reply`, in order (an unclosed last fence runs to the end)."""
    return [m.group(2) for m in _FENCE.finditer(reply)]


def _defines(code: str, name: Optional[str]) -> bool:
    return bool(name) and re.search(rf"^\s*(async\s+)?def\s+{re.escape(name)}\s*\(", code, re.M) is not None


def pick_code(reply: str, entry_point: Optional[str]) -> str:
    """The code of the reply: the first block defining `entry_point`, else the first block, else
    the whole reply."""
    blocks = code_blocks(reply)
    for block in blocks:
        if _defines(block, entry_point):
            return block
    return blocks[0] if blocks else reply


def _indent(lines: list[str]) -> str:
    text = textwrap.dedent("".join(lines))
    return textwrap.indent(text, _INDENT, lambda line: bool(line.strip()))


def _body_by_ast(code: str, entry_point: str) -> Optional[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    lines = code.splitlines(keepends=True)
    target = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                   and n.name == entry_point), None)
    if target is None:
        return None
    body = target.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring repeated from the prompt
    parts = []
    for node in tree.body:  # imports and helpers, nested first so the body sees them
        if node is not target and isinstance(node, _KEEP):
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            parts.append(_indent(lines[start - 1:node.end_lineno]))
    own = lines[body[0].lineno - 1:target.end_lineno]
    if body[0].lineno == target.lineno:  # `def f(x): return x` on one line
        own[0] = own[0][body[0].col_offset:]
        return "".join(parts) + _INDENT + "".join(own).strip() + "\n"
    parts.append(_indent(own))
    return "".join(p if p.endswith("\n") else p + "\n" for p in parts)


def _body_by_lines(code: str, entry_point: str) -> Optional[str]:
    """For code that does not parse (e.g. a reply cut by the token limit): the indented lines
    after the `def entry_point(...):` line."""
    lines = code.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if _defines(ln, entry_point)), None)
    if start is None:
        return None
    end = start
    while end < len(lines) and not lines[end].split("#")[0].rstrip().endswith(":"):
        end += 1  # a signature over several lines
    body = []
    for line in lines[end + 1:]:
        if line.strip() and not line[:1].isspace():
            break
        body.append(line)
    return _indent(body) if body else None


def extract_completion(reply: str, entry_point: Optional[str]) -> str:
    """What to run after the problem's prompt, from an instruct model's reply (see the module)."""
    code = pick_code(reply, entry_point)
    if entry_point and _defines(code, entry_point):
        body = _body_by_ast(code, entry_point) or _body_by_lines(code, entry_point)
        if body:
            return body
    first = next((ln for ln in code.splitlines() if ln.strip()), "")
    if first[:1].isspace():
        return code if code.endswith("\n") else code + "\n"
    return _indent(code.splitlines(keepends=True)) if code.strip() else ""
