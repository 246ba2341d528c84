"""Values crossing from the sample to the judge (`sandbox.inside.values.encode` / `decode`):
rebuilt from what they are, with Python's equality intact, never from what their own methods say."""

from __future__ import annotations

import collections
import decimal
import enum
import fractions
import json
import math
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.inside import values


def cross(value, handles=None):
    """What the judge gets for `value` (through JSON, as on the pipe)."""
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)  # as in the sample and judge processes
    try:
        return values.decode(json.loads(json.dumps(values.encode(value, handles))))
    finally:
        sys.set_int_max_str_digits(old)


plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.binary(max_size=8)
    | st.floats(allow_nan=False) | st.complex_numbers(allow_nan=False),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.integers() | st.text(max_size=8) | st.tuples(st.integers()), inner,
                      max_size=4)
    | st.frozensets(st.integers() | st.text(max_size=8), max_size=4)
    | st.sets(st.integers(), max_size=4),
    max_leaves=12,
)


def same_types(a, b) -> bool:
    """Equal, and of the same types all the way down (tuple vs list, int vs bool)."""
    if type(a) is not type(b) or a != b:
        return False
    if isinstance(a, (list, tuple)):
        return all(same_types(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return all(same_types(k, k) and same_types(a[k], b[k]) for k in a)
    if isinstance(a, (set, frozenset)):
        return sorted(map(repr, a)) == sorted(map(repr, b))
    return True


@given(plain)
def test_plain_values_cross_from_sample_to_judge_unchanged_with_their_types(value):
    assert same_types(cross(value), value)


@pytest.mark.parametrize("value", [
    collections.Counter("abca"), collections.OrderedDict(b=1, a=2), collections.deque([1, 2]),
    collections.defaultdict(list, a=[1]), fractions.Fraction(1, 3), decimal.Decimal("1.10"),
    {1, 2}, frozenset({(1, 2)}), range(3), float("inf"), float("-inf"), -0.0, 10**5000, 1 - 2j,
    b"\x00\xff", bytearray(b"ab"), {(1, "a"): [None, True, 1.5]},
], ids=lambda v: type(v).__name__)
def test_stdlib_containers_and_numbers_keep_their_type_and_equality(value):
    back = cross(value)
    assert type(back) is type(value) and back == value
    if isinstance(value, float):
        assert math.copysign(1, back) == math.copysign(1, value)


def test_nan_crosses_as_nan_and_dict_views_keep_their_set_like_equality():
    assert math.isnan(cross(float("nan")))
    assert cross({"a": 1, "b": 2}.keys()) == {"b", "a"}
    assert cross({"a": 1}.items()) == {("a", 1)}
    assert list(cross(x * 2 for x in range(3))) == [0, 2, 4]


class LyingInt(int):
    def __eq__(self, other):
        return True

    def __hash__(self):
        return 7

    def __index__(self):
        return 99

    def __int__(self):
        return 99


class LyingFloat(float):
    def __float__(self):
        return 99.0

    def __eq__(self, other):
        return True


class LyingList(list):
    def __iter__(self):
        return iter([99])

    def __len__(self):
        return 99

    def __eq__(self, other):
        return True


class LyingStr(str):
    def __str__(self):
        return "99"

    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


class LyingDict(dict):
    def items(self):
        return [(99, 99)]

    def __iter__(self):
        return iter([99])


class Colour(enum.IntEnum):
    RED = 3


@pytest.mark.parametrize("value, plain", [
    (LyingInt(3), 3), (LyingFloat(1.5), 1.5), (LyingList([1, 2]), [1, 2]), (LyingStr("ab"), "ab"),
    (LyingDict(a=1), {"a": 1}), ([LyingInt(1), (LyingStr("x"),)], [1, ("x",)]),
    (collections.namedtuple("P", "x y")(1, 2), (1, 2)), (Colour.RED, 3),
], ids=lambda v: type(v).__name__)
def test_a_subclass_of_a_builtin_crosses_as_the_builtin_value_its_slots_hold(value, plain):
    back = cross(value)
    assert same_types(back, plain)
    assert back != 99 and back != [99]


@pytest.mark.parametrize("value", [
    np.int64(5), np.int8(-3), np.uint16(7), np.float32(0.1), np.float64(2.5), np.bool_(True),
    np.complex128(1 + 2j), np.str_("ab"), np.bytes_(b"xy"),
], ids=lambda v: type(v).__name__)
def test_numpy_scalars_are_rebuilt_as_the_same_numpy_scalars(value):
    back = cross(value)
    assert type(back) is type(value) and back == value


@pytest.mark.parametrize("value", [
    np.arange(6).reshape(2, 3), np.array([0.5, np.nan]), np.array([True, False]),
    np.array(["a", "bc"]), np.array([[1, None], ["x", 2.5]], dtype=object), np.zeros((0, 3)),
    np.asfortranarray(np.arange(6).reshape(2, 3)),
], ids=lambda v: f"{v.dtype}{v.shape}")
def test_numpy_arrays_are_rebuilt_with_dtype_shape_and_items(value):
    back = cross(value)
    assert type(back) is np.ndarray and back.dtype == value.dtype and back.shape == value.shape
    assert np.array_equal(back, value, equal_nan=value.dtype.kind == "f")


def test_a_numpy_subclass_with_a_lying_eq_crosses_as_the_numpy_value_it_holds():
    class Liar(np.float64):
        def __eq__(self, other):
            return True

    class LiarArray(np.ndarray):
        def __eq__(self, other):
            return True

    back = cross(Liar(2.0))
    assert type(back) is np.float64 and back == 2.0 and back != 3.0
    arr = cross(np.arange(3).view(LiarArray))
    assert type(arr) is np.ndarray and list(arr == np.array([0, 1, 5])) == [True, True, False]


class PretendsToBeNumpy:
    __module__ = "numpy"
    __array_interface__ = {"shape": (), "typestr": "<i8", "data": (0, True), "version": 3}

    @property
    def __class__(self):
        return np.int64

    def __eq__(self, other):
        return True


def test_an_object_pretending_to_be_numpy_stays_in_the_sample_as_an_opaque_handle():
    handles = {}
    back = cross(PretendsToBeNumpy(), handles)
    assert type(back) is values.Opaque
    assert len(handles) == 1
    with pytest.raises(values.Unjudgeable):
        back == 1  # noqa: B015


def test_values_that_cannot_cross_become_handles_that_answer_no_question_but_go_back():
    class Point:
        def __init__(self, x):
            self.x = x

        def __eq__(self, other):
            return True

    p = Point(1)
    handles = {}
    back = cross([p, 2], handles)
    opaque = back[0]
    assert back[1] == 2 and opaque is not None
    for question in (lambda o: o == 1, lambda o: 1 == o, bool, str, len, hash, lambda o: o.x,
                     lambda o: o in [1], lambda o: o + 1, lambda o: o()):
        with pytest.raises(values.Unjudgeable):
            question(opaque)
    again = values.decode(json.loads(json.dumps(values.encode([opaque]))), None, handles)
    assert again[0] is p


def test_without_handles_a_value_that_cannot_cross_is_refused():
    class Point:
        pass

    for value in (Point(), [1, Point()], {"k": Point()}):
        with pytest.raises(values.Uncrossable):
            values.encode(value)


def test_a_cyclic_value_cannot_cross():
    a = []
    a.append(a)
    with pytest.raises((values.Uncrossable, RecursionError)):
        values.encode(a)


@pytest.mark.parametrize("data", [
    {"~": "A", "t": "|V8", "s": [1], "v": "AAAAAAAAAAA=\n"},
    {"~": "A", "t": "<i8", "s": [3], "v": "AAAAAAAAAAA=\n"},
    {"~": "N", "t": "<M8[s]", "v": ""},
    {"~": "Z", "v": 1},
])
def test_the_judge_refuses_data_it_cannot_rebuild_with_its_own_types(data):
    with pytest.raises(ValueError):
        values.decode(data)
