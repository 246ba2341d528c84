"""Values crossing from the sample (S) to the judge (J), and exceptions as small numbers.

A value crosses from S to J as tagged JSON and is rebuilt in J from plain data, so J only
ever compares objects of its own making: nothing S sends can carry a method into J. On S's
side the encoder reads what a value *is* through the slots of the builtin type it is built
on (`int.__int__(x)`, `list.__iter__(x)`, `dict.items(x)`, ...), never through the value's
own (overridable) methods: an instance of a subclass of a builtin crosses as that builtin's
value (a namedtuple as a tuple, an IntEnum as an int; an int subclass whose __eq__ always
says True as the plain int it holds), numpy scalars and arrays cross as raw bytes with their
dtype and are rebuilt as the same numpy objects in J. A value of any other type stays in S:
J gets an `Opaque` handle that it may pass back to S as an argument, but any question about
its content (==, bool, str, len, ...) raises `Unjudgeable`, and the verdict says so
(status `unjudgeable`), since only the sample's own methods could answer it.

`EXC_NAMES` / `exc_index` name a builtin exception class by one byte (S1's claim, probe
outcomes), so that no text of the sample's has to cross.
"""

import binascii as _binascii
import builtins
import collections as _collections
import decimal as _decimal
import fractions as _fractions
import re as _re
import sys

MAX_ITEMS = 1_000_000       # iterator results are materialised up to this many items

_Counter, _OrderedDict = _collections.Counter, _collections.OrderedDict
_defaultdict, _deque = _collections.defaultdict, _collections.deque
_Fraction, _Decimal = _fractions.Fraction, _decimal.Decimal
_mro = type.__dict__["__mro__"].__get__
_real = complex.__dict__["real"].__get__
_imag = complex.__dict__["imag"].__get__
_range_start = range.__dict__["start"].__get__
_range_stop = range.__dict__["stop"].__get__
_range_step = range.__dict__["step"].__get__
_frac_num = _Fraction.__dict__["_numerator"].__get__
_frac_den = _Fraction.__dict__["_denominator"].__get__
_KEYS, _VALUES, _ITEMS = type({}.keys()), type({}.values()), type({}.items())
_ITER_TYPES = tuple(
    type(x)
    for x in (
        iter([]), iter(()), iter(""), iter({}), iter(set()), iter(range(0)),
        map(int, []), filter(None, []), zip(), enumerate([]), reversed([]),
        (i for i in ()), iter(b""), iter(bytearray()), reversed(range(0)),
        iter({}.values()), iter({}.items()), reversed({}),
    )
)
_NP_DTYPE = _re.compile(r"[<>|=][biufcUS][0-9]{1,9}|\|O")


class Uncrossable(TypeError):
    """A value that cannot be rebuilt outside the sample (cyclic, too deep, too long, ...)."""


class Unjudgeable(BaseException):
    """J needed the content of a value that stayed in S. A BaseException, so that a test's
    own `except Exception` cannot turn it into a pass."""


class Ref:
    """A name in S's globals that J may pass back as an argument (MBPP setup objects)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<sample object {self.name}>"


class Opaque:
    """J's stand-in for a value of S that cannot cross: it can go back to S as an argument,
    be tested with `is`, and nothing else."""

    __slots__ = ("handle", "what")

    def __init__(self, handle, what):
        self.handle = handle
        self.what = what

    def _ask(self, *args, **kwargs):
        raise Unjudgeable(f"the sample returned an object of type {self.what}, which only the sample's "
                          "own methods could compare")

    def __repr__(self):
        return f"<sample's {self.what} object>"


for _name in (
    "eq ne lt le gt ge hash bool len iter contains getitem setitem delitem getattr str format "
    "int float complex index round abs neg pos invert add radd sub rsub mul rmul truediv "
    "rtruediv floordiv rfloordiv mod rmod pow rpow and rand or ror xor rxor lshift rlshift "
    "rshift rrshift matmul rmatmul divmod rdivmod call reversed enter exit bytes"
).split():
    setattr(Opaque, f"__{_name}__", Opaque._ask)
del _name


def _base_of(t):
    """The builtin (or stdlib) type whose layout a value of type `t` has, or None."""
    for b in _mro(t):
        if b in _ENCODERS:
            return b
    return None


def _numpy_value(x, np, handles):
    if isinstance(x, np.ndarray):
        arr = np.ndarray.view(x, np.ndarray)
        dt = arr.dtype
        shape = [int(n) for n in arr.shape]
        if dt.kind in "biufcUS" and _NP_DTYPE.fullmatch(dt.str):
            raw = np.ndarray.tobytes(arr, order="C")
            return {"~": "A", "t": dt.str, "s": shape, "v": _binascii.b2a_base64(raw).decode()}
        if dt.kind == "O":
            flat = np.ndarray.reshape(arr, -1)
            return {"~": "A", "t": "|O", "s": shape,
                    "o": [encode(flat[i], handles) for i in range(len(flat))]}
        return None
    if isinstance(x, np.generic):
        arr = np.array(x)  # reads the scalar's value from its C struct, no Python methods
        dt = arr.dtype
        if dt.kind in "biufcUS" and _NP_DTYPE.fullmatch(dt.str):
            raw = np.ndarray.tobytes(arr)
            return {"~": "N", "t": dt.str, "v": _binascii.b2a_base64(raw).decode()}
    return None


def _float(v):
    return v if v == v and v not in (float("inf"), float("-inf")) else {"~": "F", "v": repr(v)}


def _pairs(items, handles):
    return [[encode(k, handles), encode(v, handles)] for k, v in items]


def _list(items, handles):
    return [encode(i, handles) for i in items]


def _materialise(x, handles):
    items = []
    for i in x:
        items.append(encode(i, handles))
        if len(items) > MAX_ITEMS:
            raise Uncrossable("iterator result longer than 1,000,000 items")
    return items


_ENCODERS = {
    bool: lambda x, h: x is True,
    int: lambda x, h: int.__int__(x),
    float: lambda x, h: _float(float.__float__(x)),
    str: lambda x, h: str.__str__(x),
    complex: lambda x, h: {"~": "c", "v": [repr(_real(x)), repr(_imag(x))]},
    list: lambda x, h: _list(list.__iter__(x), h),
    tuple: lambda x, h: {"~": "t", "v": _list(tuple.__iter__(x), h)},
    dict: lambda x, h: {"~": "d", "v": _pairs(dict.items(x), h)},
    _Counter: lambda x, h: {"~": "C", "v": _pairs(dict.items(x), h)},
    _defaultdict: lambda x, h: {"~": "D", "v": _pairs(dict.items(x), h)},
    _OrderedDict: lambda x, h: {"~": "O", "v": _pairs(_OrderedDict.items(x), h)},
    set: lambda x, h: {"~": "s", "v": _list(set.__iter__(x), h)},
    frozenset: lambda x, h: {"~": "f", "v": _list(frozenset.__iter__(x), h)},
    bytes: lambda x, h: {"~": "b", "v": bytes.__getitem__(x, slice(None)).decode("latin-1")},
    bytearray: lambda x, h: {"~": "B",
                             "v": bytes(bytearray.__getitem__(x, slice(None))).decode("latin-1")},
    range: lambda x, h: {"~": "r", "v": [_range_start(x), _range_stop(x), _range_step(x)]},
    _deque: lambda x, h: {"~": "q", "v": _list(_deque.__iter__(x), h)},
    _Fraction: lambda x, h: {"~": "Q", "v": f"{int.__int__(_frac_num(x))}/{int.__int__(_frac_den(x))}"},
    _Decimal: lambda x, h: {"~": "M", "v": _Decimal.__str__(x)},
    _KEYS: lambda x, h: {"~": "K", "v": _materialise(x, h)},
    _ITEMS: lambda x, h: {"~": "I", "v": _materialise(x, h)},
    _VALUES: lambda x, h: {"~": "i", "v": _materialise(x, h)},
    Ref: lambda x, h: {"~": "R", "v": x.name},
}


def encode(x, handles=None):
    """`x` as tagged JSON data. `handles` (S's side of a call job) keeps values that cannot
    cross and sends a handle instead; without it such a value raises Uncrossable."""
    if x is None:
        return None
    t = type(x)
    if t is str or t is int or t is bool:  # the common case first
        return x
    np = sys.modules.get("numpy")
    if np is not None and isinstance(x, (np.ndarray, np.generic)):
        try:
            out = _numpy_value(x, np, handles)
        except (Uncrossable, RecursionError):
            raise
        except Exception:  # noqa: BLE001 - a numpy object the encoder does not know
            out = None
        if out is not None:
            return out
    elif t is Opaque:
        return {"~": "H", "v": x.handle}
    base = _base_of(t)
    if base is not None:
        return _ENCODERS[base](x, handles)
    if t in _ITER_TYPES:
        return {"~": "i", "v": _materialise(x, handles)}
    if handles is not None:
        n = len(handles)
        handles[n] = x
        return {"~": "H", "v": n, "w": t.__name__[:60]}
    raise Uncrossable(f"a {t.__name__} object cannot be compared outside the sample")


def _numpy_for_judge():
    try:
        import numpy
    except ImportError:
        raise Unjudgeable("the sample returned a numpy value and the judge has no numpy") from None
    return numpy


def _shape(s):
    if type(s) is not list or not all(type(n) is int and 0 <= n < 1 << 40 for n in s):
        raise ValueError("bad array shape")
    return tuple(s)


def _decode_numpy(x, refs, handles):
    np = _numpy_for_judge()
    dtype = x["t"]
    if type(dtype) is not str or not _NP_DTYPE.fullmatch(dtype):
        raise ValueError(f"numpy dtype {dtype!r} is not accepted")
    dt = np.dtype(dtype)
    if "o" in x:
        items = [decode(i, refs, handles) for i in x["o"]]
        arr = np.empty(len(items), dtype=object)
        for i, item in enumerate(items):
            arr[i] = item
    else:
        arr = np.frombuffer(_binascii.a2b_base64(x["v"]), dtype=dt).copy()
    if x["~"] == "N":
        if arr.size != 1:
            raise ValueError("a numpy scalar of more than one item")
        return arr[0]
    shape = _shape(x["s"])
    size = 1
    for n in shape:
        size *= n
    if size != arr.size:
        raise ValueError("numpy data does not fill its shape")
    return arr.reshape(shape)


def decode(x, refs=None, handles=None):
    """Rebuild a value from `encode`'s data with J's (or S's) own types only. `refs`: S's
    globals (names J passes back); `handles`: S's kept values (handles J passes back)."""
    if type(x) is list:
        return [decode(i, refs, handles) for i in x]
    if type(x) is not dict:
        return x
    tag, v = x["~"], x.get("v")
    if tag == "t":
        return tuple(decode(i, refs, handles) for i in v)
    if tag in ("d", "C", "O", "D"):
        items = [(decode(k, refs, handles), decode(val, refs, handles)) for k, val in v]
        if tag == "D":
            return _defaultdict(None, items)
        if tag == "C":
            return _Counter(dict(items))
        return dict(items) if tag == "d" else _OrderedDict(items)
    if tag == "s":
        return {decode(i, refs, handles) for i in v}
    if tag == "f":
        return frozenset(decode(i, refs, handles) for i in v)
    if tag == "F":
        return float(v)
    if tag == "b":
        return v.encode("latin-1")
    if tag == "B":
        return bytearray(v.encode("latin-1"))
    if tag == "c":
        return complex(float(v[0]), float(v[1]))
    if tag == "r":
        return range(*v)
    if tag == "q":
        return _deque(decode(i, refs, handles) for i in v)
    if tag == "Q":
        return _Fraction(v)
    if tag == "M":
        return _Decimal(v)
    if tag == "i":
        return iter([decode(i, refs, handles) for i in v])
    if tag == "K":
        return dict.fromkeys(decode(i, refs, handles) for i in v).keys()
    if tag == "I":
        return dict(decode(i, refs, handles) for i in v).items()
    if tag in ("A", "N"):
        return _decode_numpy(x, refs, handles)
    if tag == "H":
        if handles is None:
            return Opaque(v, str(x.get("w") or "sample"))
        return handles[v]
    if tag == "R":
        if refs is None:
            return Ref(v)
        return refs[v]
    raise ValueError(f"unknown value tag {tag!r}")


EXC_NAMES = tuple(sorted(
    n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)
))[:254]


def exc_name(i):
    return EXC_NAMES[i - 1] if 0 < i <= len(EXC_NAMES) else "an exception"


def exc_index(exc):
    """1 + index of the exception's builtin class (or first builtin base) in EXC_NAMES."""
    for cls in type(exc).__mro__:
        if cls.__module__ == "builtins" and cls.__name__ in EXC_NAMES:
            return EXC_NAMES.index(cls.__name__) + 1
    return 0
