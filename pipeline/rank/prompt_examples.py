"""Prompt-example filter: samples that reproduce every output the prompt shows rank first.

Role in the pipeline: reads the `prompt_examples` probe set; a sample scores 1 if it matched
every probe that has a shown output (at least one), else 0, so the rest stay tied (a random
pick among them, in expectation). A problem whose prompt shows no output leaves all tied.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.rank.base import RankInputs, Ranker, frame


def reproduces_prompt(matches) -> bool:
    """Every shown output matched, and there was at least one to match."""
    if not isinstance(matches, (list, tuple, np.ndarray)):
        return False
    shown = [m for m in matches if m is not None]
    return bool(shown) and all(shown)


class PromptExamples(Ranker):
    name = "prompt_examples"
    higher_is_better = True
    needs = "prompt_examples"

    def scores(self, inputs: RankInputs) -> pd.DataFrame:
        probed = inputs.probe_set(self.needs)
        return frame(probed, self.name, [float(reproduces_prompt(m)) for m in probed["matches"]])
