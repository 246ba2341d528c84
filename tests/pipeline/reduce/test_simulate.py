"""The Monte-Carlo reference plays each strategy out on drawn samples; on cases whose outcome
is certain it gives the certain answer."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.reduce.simulate import simulate

RNG = np.random.default_rng(0)


def test_early_stopping_draws_one_sample_when_all_pass_and_k_when_none_does():
    always = simulate("early_stop", [([5, 5], [5, 5])], [4], 50, RNG, costs=(2.0,))
    never = simulate("early_stop", [([5, 5], [0, 0])], [4], 50, RNG, costs=(2.0,))
    assert always == {"pass": 1.0, "cost": 2.0}
    assert never == {"pass": 0.0, "cost": 8.0}


def test_a_cascade_calls_the_second_model_only_where_the_first_fails():
    # problem 0: the first model always passes; problem 1: never (the second always does)
    got = simulate("cascade", [([3, 3], [3, 0]), ([3, 3], [3, 3])], [2, 1], 50, RNG,
                   costs=(1.0, 10.0))
    assert got == {"pass": 1.0, "cost": (2.0 + (2.0 + 10.0)) / 2}


def test_drawing_every_sample_without_replacement_finds_the_one_that_passes():
    assert simulate("single", [([6], [1])], [6], 50, RNG)["pass"] == 1.0
    assert simulate("mix", [([6], [0]), ([4], [1])], [6, 4], 50, RNG)["pass"] == 1.0


def test_the_ranked_choice_keeps_the_lowest_nll_sample_of_its_draws():
    passed = np.array([[1.0, 0.0, 0.0]])
    nll = np.array([[0.1, 0.5, 0.9]])  # the passing sample ranks first
    assert simulate("ranked", [(passed, nll)], [3], 50, RNG)["pass"] == 1.0
    one = simulate("ranked", [(passed, nll)], [1], 4000, RNG)["pass"]  # a random sample
    assert one == pytest.approx(1 / 3, abs=0.03)
