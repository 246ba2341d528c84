"""Model directories that appear only complete: the one file-system helper of `workers`.

Role in the pipeline: the SmolLM2 conversion (`workers.models`) and the tiny test model
(`workers.tiny_model`) both build a directory vLLM loads; each builds it here, beside its final
place, and it replaces that place only when the build succeeded.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_directory(out: Path) -> Iterator[Path]:
    """A temporary directory beside `out` that replaces `out` only if the block succeeds.

    So a model directory appears only complete; on any error the temporary one is removed.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    os.chmod(tmp, 0o755)
    try:
        yield tmp
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
