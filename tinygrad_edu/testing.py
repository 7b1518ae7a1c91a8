"""Property tests for your own operations: hypothesis strategies and ``check_op``.

A derivative rule is a claim; central differences are the evidence. ``check_op(op)`` makes the
claim meet the evidence at many points chosen by hypothesis, for the first derivatives
(``backward()`` and ``grad()``) and the second ones (``grad(grad(...))``)::

    from tinygrad_edu import define_op
    from tinygrad_edu.testing import check_op

    softsign = define_op("softsign", lambda x: x / (1 + abs(x)), lambda x, out: 1 / (1 + abs(x))**2)
    check_op(softsign)  # passes, and says at how many points; a wrong rule raises, naming the
                        # simplest point where it is wrong

The strategies are the ones the library's own tests use, for a learner's or a teacher's tests:
``values()`` (Values), ``expressions(ops=...)`` (random formulas made of operations) and
``points(op)`` (points where an operation is defined).

Needs hypothesis: ``pip install tinygrad-edu[testing]``.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

try:
    from hypothesis import HealthCheck, given, reject, settings
    from hypothesis import strategies as st
    from hypothesis.errors import Unsatisfiable
except ImportError as error:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "tinygrad_edu.testing needs hypothesis, which is not installed: "
        "pip install tinygrad-edu[testing]",
        name=error.name,
    ) from error

from . import define
from .engine import Value, grad
from .ops import BUILTINS, OPS, Op
from .scalars import is_number

__all__ = [
    "values",
    "expressions",
    "Expression",
    "points",
    "check_op",
    "OpCheck",
    "OpCheckError",
]

Interval = tuple[float, float]
Domain = Interval | Sequence[Interval] | st.SearchStrategy[Any] | None
"""Where to look: None for [-3, 3] in every input; ``(low, high)`` for that interval in every
input; one ``(low, high)`` per input; or a hypothesis strategy that draws a number (one input)
or a tuple of numbers (one per input)."""

DEFAULT_INTERVAL: Interval = (-3.0, 3.0)


# --- strategies --------------------------------------------------------------------------------


def values(min_value: float = -3.0, max_value: float = 3.0) -> st.SearchStrategy[Value]:
    """Leaf Values whose data is a finite float in [min_value, max_value]::

    @given(x=values())
    def test_tanh_is_odd(x): assert (-x).tanh().data == -(x.tanh().data)
    """
    return st.floats(min_value, max_value, allow_nan=False, allow_infinity=False).map(Value)


def points(op: Callable[..., Value], domain: Domain = None) -> st.SearchStrategy[tuple[float, ...]]:
    """Points (x,) or (x, y) of ``domain`` where the operation's forward is defined and finite.

    ``op`` is an operation made with :func:`tinygrad_edu.define_op`; ``domain`` is as for
    :func:`check_op`. Points where the forward raises (ValueError, ArithmeticError) are filtered
    out, so a domain that holds almost none makes hypothesis give up (``Unsatisfiable``).
    """
    _, row = _defined_operation(op, "points")
    return _box(domain, row.arity, "points").filter(lambda p: _defined_at(row, p))


def _defined_at(row: Op, point: tuple[float, ...]) -> bool:
    try:
        return math.isfinite(row.forward(*point))
    except (ValueError, ArithmeticError):
        return False


# An expression is a tree of nested tuples: ("x", i) | ("const", c) | (op, child) | (op, l, r),
# where op is a built-in's name or an operation made with define_op. Built-ins whose domain is
# limited get arguments that keep them defined: log and sqrt of e*e + 0.5, a base e*e + 0.5 for
# **, a denominator e*e + 0.5, leaky_relu's slope sigmoid(e), in (0, 1).
Tree = tuple[Any, ...]

_INFIX: dict[str, Callable[[Any, Any], Value]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}
_POSITIVE_ARGUMENT: dict[str, int] = {"log": 0, "sqrt": 0, "**": 0, "/": 1}


class Expression:
    """A formula drawn by :func:`expressions`: call it with one Value (or number) per input.

    ``str(e)`` is the formula as it is computed, with inputs ``x0, x1, ...``:
    ``tanh(x0) * (x1*x1 + 0.5)``; ``e.inputs`` is how many inputs it takes.
    """

    __slots__ = ("tree", "inputs")

    def __init__(self, tree: Tree, inputs: int) -> None:
        self.tree = tree
        self.inputs = inputs

    def __call__(self, *xs: Value | float) -> Value:
        if len(xs) != self.inputs:
            raise TypeError(f"this expression takes {self.inputs} input(s), got {len(xs)}")
        leaves = tuple(x if isinstance(x, Value) else Value(x) for x in xs)
        return _build(self.tree, leaves)

    def __str__(self) -> str:
        return _text(self.tree)

    def __repr__(self) -> str:
        return f"<expression {self}>"


def _apply(kind: Any, args: list[Value]) -> Value:
    if callable(kind):
        return kind(*args)  # type: ignore[no-any-return]
    if kind in _INFIX:
        return _INFIX[kind](args[0], args[1])
    if kind == "neg":
        return -args[0]
    # Every other built-in is a method of Value named after it, taking the other inputs:
    # x.tanh(), x.leaky_relu(slope), x.maximum(y).
    return getattr(args[0], kind)(*args[1:])  # type: ignore[no-any-return]


def _build(tree: Tree, xs: tuple[Value, ...]) -> Value:
    kind = tree[0]
    if kind == "x":
        return xs[tree[1]]
    if kind == "const":
        return Value(tree[1])
    args = [_build(child, xs) for child in tree[1:]]
    if kind in _POSITIVE_ARGUMENT:
        i = _POSITIVE_ARGUMENT[kind]
        args[i] = args[i] * args[i] + 0.5
    if kind == "leaky_relu":
        args[1] = args[1].sigmoid()
    return _apply(kind, args)


def _text(tree: Tree) -> str:
    kind = tree[0]
    if kind == "x":
        return f"x{tree[1]}"
    if kind == "const":
        return repr(tree[1])
    args = [_text(child) for child in tree[1:]]
    compound = [not _atomic(child) for child in tree[1:]]
    if kind in _POSITIVE_ARGUMENT:
        i = _POSITIVE_ARGUMENT[kind]
        inner = f"({args[i]})" if compound[i] else args[i]
        args[i], compound[i] = f"{inner}*{inner} + 0.5", True
    if kind == "leaky_relu":
        args[1], compound[1] = f"sigmoid({args[1]})", False
    if kind in _INFIX:
        left, right = (f"({text})" if paren else text for text, paren in zip(args, compound))
        return f"{left} {kind} {right}"
    if kind == "neg":
        return f"-({args[0]})" if compound[0] else f"-{args[0]}"
    name = kind.__name__ if callable(kind) else kind
    return f"{name}({', '.join(args)})"


def _atomic(tree: Tree) -> bool:
    """Whether the text of ``tree`` needs no parentheses around it: an input, a constant that is
    not negative, or a call such as tanh(...)."""
    if tree[0] == "const":
        return bool(tree[1] >= 0)
    return tree[0] not in _INFIX and tree[0] != "neg"


def expressions(
    ops: Iterable[str | Callable[..., Value]] | None = None,
    *,
    inputs: int = 3,
    max_leaves: int = 8,
    constants: Interval = (-2.0, 2.0),
) -> st.SearchStrategy[Expression]:
    """Random formulas in ``inputs`` inputs made of ``ops`` (default: every built-in operation).

    ``ops`` lists built-in names (``"+"``, ``"tanh"``, ``"**"``: the keys of
    ``tinygrad_edu.OPS``) and operations made with :func:`tinygrad_edu.define_op`. Built-ins
    whose domain is limited are given arguments that keep them defined (``log(e*e + 0.5)``); an
    operation of yours is applied as it is, so where its forward raises, the expression raises
    too. Leaves are the inputs and constants drawn from ``constants``::

        @given(e=expressions(ops=["+", "*", softsign]), x=st.floats(-2, 2))
        def test_softsign_compositions(e, x): ...
    """
    if type(inputs) is not int or inputs < 1:
        raise ValueError(f"inputs is a number of inputs, 1 or more, not {inputs!r}")
    unary: list[Any] = []
    binary: list[Any] = []
    for op in OPS if ops is None else ops:
        if isinstance(op, str):
            if op not in BUILTINS:
                raise ValueError(
                    f"{op!r} is not a built-in operation; the built-ins are {sorted(BUILTINS)},"
                    " and an operation of yours is passed as the function define_op returned"
                )
            arity: int = OPS[op].arity
            kind: Any = op
        else:
            _, row = _defined_operation(op, "expressions")
            arity, kind = row.arity, op
        (unary if arity == 1 else binary).append(kind)
    if not unary and not binary:
        raise ValueError("expressions(ops=...) needs at least one operation")
    leaves = st.one_of(
        st.tuples(st.just("x"), st.integers(0, inputs - 1)),
        st.tuples(st.just("const"), st.floats(*constants, allow_nan=False)),
    )

    def grow(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
        branches: list[st.SearchStrategy[Tree]] = []
        if unary:
            branches.append(st.tuples(st.sampled_from(unary), children))
        if binary:
            branches.append(st.tuples(st.sampled_from(binary), children, children))
        return st.one_of(*branches)

    trees = st.recursive(leaves, grow, max_leaves=max_leaves)
    return trees.map(lambda tree: Expression(tree, inputs))


# --- check_op --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpCheck:
    """What :func:`check_op` found when every checked point agreed.

    ``points`` is the number of points where the first and second derivatives were compared,
    ``skipped`` counts the points left out, by reason (the forward raises there, or is not
    smooth within eps of it).
    """

    name: str
    points: int
    skipped: Mapping[str, int]

    def __str__(self) -> str:
        lines = [
            f"{self.name}: first and second derivatives agree with central differences at"
            f" {self.points} points"
        ]
        if self.skipped:
            lines.append(f"skipped {sum(self.skipped.values())} points:")
            for reason, count in sorted(self.skipped.items(), key=lambda item: -item[1]):
                lines.append(f"  {count:4d} × {reason}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)


class OpCheckError(AssertionError):
    """A derivative rule disagrees with central differences (an AssertionError, so a test that
    calls :func:`check_op` fails). ``point`` is the simplest such point hypothesis found."""

    def __init__(self, message: str, point: tuple[float, ...]) -> None:
        super().__init__(message)
        self.point = point


class _Skip(Exception):
    """This point cannot be checked, for ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Mismatch(Exception):
    """The rule disagrees at this point; ``lines`` say how."""

    def __init__(self, lines: list[str], point: tuple[float, ...]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
        self.point = point


def check_op(
    op: Callable[..., Value],
    *,
    domain: Domain = None,
    max_examples: int = 100,
    eps: float = 1e-4,
    rtol: float = 1e-6,
) -> OpCheck:
    """Property-test an operation made with :func:`tinygrad_edu.define_op` against central
    differences; return what was checked, or raise :class:`OpCheckError` naming the simplest
    point where the rule is wrong (hypothesis shrinks it).

    At each point p that hypothesis draws from ``domain`` (see :data:`Domain`; by default
    [-3, 3] for each input), for each input x_i:

    * first order: d out/dx_i from ``backward()`` and from ``grad()`` against the central
      difference D(h) = (f(p + h·e_i) - f(p - h·e_i)) / 2h, refined as (4·D(h/2) - D(h)) / 3
      (Richardson), with h = ``eps``;
    * second order: d²out/dx_i dx_j from ``grad(grad(out, x_i), x_j)`` against the same central
      difference of d out/dx_i (computed by ``backward()``) in x_j.

    They agree when |analytic - numeric| <= rtol·(1 + |numeric|) + |D(h) - D(h/2)| (the last
    term: how far the central difference is from settling). Points are skipped, and counted by
    reason, where the forward raises (ValueError, ArithmeticError) or is not finite at p or
    within eps of it, and where the function is not smooth within eps (a kink as relu's at 0, a
    jump, or a pole close by), since central differences do not measure a derivative there. A
    domain where every point is skipped is a ValueError that lists the reasons.

    The points are the same on every run (hypothesis derandomized, no example database).
    """
    name, row = _defined_operation(op, "check_op")
    box = _box(domain, row.arity, "check_op")
    if type(max_examples) is not int or max_examples < 1:
        raise ValueError(f"max_examples is a number of points, 1 or more, not {max_examples!r}")
    for what, number in (("eps", eps), ("rtol", rtol)):
        if not is_number(number) or not (math.isfinite(number) and number > 0):
            raise ValueError(f"{what} must be a positive finite number, not {number!r}")
    skipped: dict[str, int] = {}
    checked = [0]

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(point=box)
    def run(point: tuple[float, ...]) -> None:
        try:
            _check_point(op, row, point, float(eps), float(rtol))
        except _Skip as skip:
            skipped[skip.reason] = skipped.get(skip.reason, 0) + 1
            reject()
        checked[0] += 1

    try:
        run()
    except _Mismatch as mismatch:
        raise OpCheckError(
            "\n".join([f"check_op({name}): {mismatch.lines[0]}", *mismatch.lines[1:]]),
            mismatch.point,
        ) from None
    except Unsatisfiable:
        reasons = "; ".join(f"{count} × {reason}" for reason, count in skipped.items())
        raise ValueError(
            f"check_op({name}): no point of the domain could be checked ({reasons}); pass"
            " domain=(low, high), an interval where the operation is defined and smooth"
        ) from None
    return OpCheck(name, checked[0], dict(skipped))


def _check_point(
    op: Callable[..., Value], row: Op, point: tuple[float, ...], eps: float, rtol: float
) -> None:
    """Compare the rule with central differences at ``point``: _Skip if it cannot be checked
    there, _Mismatch if the rule is wrong there."""
    n = len(point)
    forward = _finite(row.forward, "the forward")
    numeric = [_slope(forward, point, i, eps, "the forward") for i in range(n)]
    first = [_first_by_backward(op, point, i) for i in range(n)]
    dx = _names(n)
    try:
        leaves = [Value(x) for x in point]
        by_grad = [d.data for d in grad(op(*leaves), leaves)]
        by_backward = _backward(op, point)
    except Exception as error:
        raise _Mismatch(_raised("the derivative rule", error, point), point) from None
    for i, (estimate, spread) in enumerate(numeric):
        for how, analytic in (("backward()", by_backward[i]), ("grad()", by_grad[i])):
            if not _close(analytic, estimate, spread, rtol):
                raise _Mismatch(
                    [
                        f"the first derivative d out/d{dx[i]} is wrong at {_at(point)}",
                        f"  {how + ' gives':<26}{analytic!r}",
                        f"  {'central differences give':<26}{estimate!r}",
                        "  (the derivative rule given to define_op)",
                    ],
                    point,
                )
    for i in range(n):
        derivative = _finite(first[i], f"d out/d{dx[i]}")
        for j in range(n):
            estimate, spread = _slope(derivative, point, j, eps, f"d out/d{dx[i]}")
            try:
                leaves = [Value(x) for x in point]
                d_i = grad(op(*leaves), leaves)[i]
                analytic = grad(d_i, leaves[j]).data
            except Exception as error:
                raise _Mismatch(
                    _raised("grad() of the derivative rule", error, point), point
                ) from None
            if not _close(analytic, estimate, spread, rtol):
                raise _Mismatch(
                    [
                        f"the second derivative d²out/d{dx[i]}d{dx[j]} is wrong at {_at(point)}",
                        f"  grad(grad(...)) gives {analytic!r},",
                        f"  central differences of backward()'s d out/d{dx[i]} give {estimate!r}",
                        "  grad() differentiates the rule as it is written, on Values: a part of it"
                        " that turns a Value into a float (math.cos(x), float(x)) is a constant"
                        " to grad(); write it with + - * / **, abs, numpy's functions (np.cos(x))"
                        " and tinygrad_edu.ops.where",
                    ],
                    point,
                )


def _backward(op: Callable[..., Value], point: tuple[float, ...]) -> list[float]:
    leaves = [Value(x) for x in point]
    op(*leaves).backward()
    return [leaf.grad for leaf in leaves]


def _first_by_backward(
    op: Callable[..., Value], point: tuple[float, ...], i: int
) -> Callable[..., float]:
    """x ↦ d out/dx_i at x, by backward(): the function whose slope is the second derivative."""

    def derivative(*xs: float) -> float:
        try:
            return _backward(op, xs)[i]
        except Exception as error:
            raise _Mismatch(_raised("the derivative rule", error, xs), point) from None

    return derivative


def _finite(f: Callable[..., float], what: str) -> Callable[..., float]:
    """``f`` where it is defined and finite; elsewhere a _Skip that says why."""

    def evaluate(*xs: float) -> float:
        try:
            out = f(*xs)
        except (ValueError, ArithmeticError) as error:
            raise _Skip(f"{what} raises {type(error).__name__}: {_general(error)}") from None
        if not math.isfinite(out):
            raise _Skip(f"{what} is not finite (inf or nan)")
        return out

    return evaluate


def _slope(
    f: Callable[..., float], point: tuple[float, ...], i: int, eps: float, what: str
) -> tuple[float, float]:
    """∂f/∂x_i at ``point`` by central differences: (Richardson's estimate (4·D(h/2) - D(h))/3,
    the spread |D(h) - D(h/2)|), h = eps; a _Skip where f is not smooth within eps.

    Smooth means: the one-sided slopes over eps/100 agree (no kink or jump at the point), and
    D(h), D(h/2) agree to 1e-3 (none within eps either, and no pole close by)."""

    def at(offset: float) -> tuple[float, float]:
        moved = list(point)
        moved[i] += offset
        return f(*moved), moved[i]

    def within(reason: _Skip) -> _Skip:
        return _Skip(f"within eps of where {reason.reason}")

    middle = f(*point)
    try:
        (below, x_below), (above, x_above) = at(-eps / 100), at(eps / 100)
        steps = {k: at(k * eps / 2) for k in (-2, -1, 1, 2)}  # x ± h/2, x ± h
    except _Skip as skip:
        raise within(skip) from None
    x = point[i]
    if x_below == x or x_above == x:
        raise _Skip("eps is below the spacing of floats there")
    left, right = (middle - below) / (x - x_below), (above - middle) / (x_above - x)
    if abs(right - left) > 1e-3 * (1 + abs(left) + abs(right)):
        raise _Skip(f"{what} is not smooth within eps (a kink, a jump or a pole)")

    def central(k: int) -> float:
        (up, x_up), (down, x_down) = steps[k], steps[-k]
        return (up - down) / (x_up - x_down)

    coarse, fine = central(2), central(1)
    estimate, spread = (4 * fine - coarse) / 3, abs(fine - coarse)
    if spread > 1e-3 * (1 + abs(estimate)):
        raise _Skip(f"{what} is not smooth within eps (a kink, a jump or a pole)")
    return estimate, spread


def _close(analytic: float, numeric: float, spread: float, rtol: float) -> bool:
    return abs(analytic - numeric) <= rtol * (1 + abs(numeric)) + spread


def _names(n: int) -> list[str]:
    return ["x"] if n == 1 else ["x", "y"]


def _at(point: Sequence[float]) -> str:
    return ", ".join(f"{name} = {x!r}" for name, x in zip(_names(len(point)), point))


def _raised(what: str, error: Exception, point: Sequence[float]) -> list[str]:
    return [
        f"{what} raised {type(error).__name__} at {_at(point)}",
        f"  {type(error).__name__}: {error}",
    ]


def _general(error: Exception) -> str:
    """An error's message with its numbers left out, so that one reason counts many points."""
    return re.sub(r"(?<![\w.])[-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?", "…", str(error))


# --- what counts as an operation, and where to look -------------------------------------------


def _defined_operation(op: object, who: str) -> tuple[str, Op]:
    """The name and current table row of an operation made with define_op, or a TypeError that
    names what ``op`` is."""
    name = getattr(op, "__name__", None)
    if (
        callable(op)
        and getattr(op, "__module__", None) == define.__name__
        and isinstance(name, str)
        and name in OPS
        and name not in BUILTINS
    ):
        return name, OPS[name]
    raise TypeError(
        f"{who} takes an operation made with define_op (the function it returns, e.g."
        f" softsign = define_op('softsign', ...)), not {_describe(op)}"
    )


def _describe(op: object) -> str:
    if isinstance(op, str) and op in BUILTINS:
        return f"the built-in's name {op!r} (the built-ins are tested by tinygrad-edu's own tests)"
    if callable(op) and isinstance(getattr(op, "__name__", None), str):
        return f"the function {op.__name__!r}, which define_op did not make"  # type: ignore[attr-defined]
    text = repr(op)
    return f"{type(op).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _box(domain: Domain, arity: int, who: str) -> st.SearchStrategy[tuple[float, ...]]:
    """The strategy of points (x,) or (x, y) that ``domain`` describes."""
    if isinstance(domain, st.SearchStrategy):
        strategy: st.SearchStrategy[Any] = domain
        return strategy.map(lambda p: _as_point(p, arity, who))
    if domain is None:
        intervals = [DEFAULT_INTERVAL] * arity
    elif len(domain) == 2 and all(is_number(end) for end in domain):
        intervals = [(float(domain[0]), float(domain[1]))] * arity  # type: ignore[arg-type]
    else:
        intervals = list(domain)  # type: ignore[arg-type]
    if len(intervals) != arity or not all(_is_interval(i) for i in intervals):
        raise ValueError(
            f"{who}: domain is (low, high), one (low, high) per input ({arity} here) or a"
            f" hypothesis strategy, not {domain!r}"
        )
    return st.tuples(*(st.floats(low, high) for low, high in intervals))


def _is_interval(interval: object) -> bool:
    return (
        isinstance(interval, tuple | list)
        and len(interval) == 2
        and all(is_number(end) and math.isfinite(end) for end in interval)
        and interval[0] < interval[1]
    )


def _as_point(drawn: object, arity: int, who: str) -> tuple[float, ...]:
    point = (drawn,) if is_number(drawn) else tuple(drawn)  # type: ignore[arg-type]
    if len(point) != arity or not all(is_number(x) for x in point):
        raise ValueError(f"{who}: the domain's strategy drew {drawn!r}, not {arity} number(s)")
    return tuple(float(x) for x in point)
