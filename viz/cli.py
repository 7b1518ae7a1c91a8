"""The command line: draw the graph of an expression typed in the shell.

    python -m viz "tanh(w*x + b)" --set x=1 w=2 b=0.5 -o graph.svg
    python -m viz "tanh(w*x + b)" --set x=1 w=2 b=0.5 --animate backprop.html

The expression is parsed with Python's ``ast`` and checked against a whitelist (numbers, the
variables given with ``--set``, ``+ - * / **``, unary ``-`` and ``+``, and calls to the engine's
own operations); it is never passed to ``eval``. Anything else is refused with exit code 2 and
the expression quoted with a caret under the offending part.
"""

from __future__ import annotations

import argparse
import ast
import math
import sys
from collections.abc import Callable
from dataclasses import asdict, fields
from typing import TypeGuard

from tinygrad_edu import Value
from tinygrad_edu.ops import UNARY

from .animate import ANIMATION_FORMATS, animate
from .dot import FORMATS, GraphvizNotFoundError, format_number, to_digraph, write
from .graph import TooManyNodesError, build_graph
from .options import RANKDIRS, DrawOptions

__all__ = ["main", "FUNCTIONS", "ExpressionError", "parse_expression", "evaluate"]

FUNCTIONS: dict[str, tuple[int, int]] = {name: (1, 1) for name in UNARY if name != "neg"}
"""Function name -> (fewest, most) arguments: the engine's one-input operations (each a method
of Value), and leaky_relu(x) or leaky_relu(x, slope)."""
FUNCTIONS["leaky_relu"] = (1, 2)

_OPERATORS: dict[type[ast.operator], Callable[[Value, Value | float], Value]] = {
    ast.Add: Value.__add__,
    ast.Sub: Value.__sub__,
    ast.Mult: Value.__mul__,
    ast.Div: Value.__truediv__,
    ast.Pow: Value.__pow__,
}

EXAMPLES = """\
examples:
  python -m viz "tanh(x1*w1 + x2*w2 + b)" --set x1=2 x2=0 w1=-3 w2=1 b=6.8814 -o neuron.svg
  python -m viz "x**3 - 2*x" --set x=1.5 --edge-grads -o cubic.png
  python -m viz "tanh(x1*w1 + x2*w2 + b)" --set x1=2 x2=0 w1=-3 w2=1 b=6.8814 --animate bp.gif
  python -m viz "sigmoid(a) * log(b)" --set a=0.5 b=2 --rankdir TB --precision 2 -o g.pdf
  python -m viz "leaky_relu(x, 0.1)" --set x=-2 --no-backward        (DOT source on stdout)

functions: {functions}
operators: + - * / ** and unary - +; numbers; the names given with --set
"""


class ExpressionError(ValueError):
    """An expression outside the whitelist, or one that cannot be evaluated; ``span`` is the
    (start, end) column range of the offending part."""

    def __init__(self, message: str, span: tuple[int, int]) -> None:
        super().__init__(message)
        self.span = span


def _span(node: ast.AST) -> tuple[int, int]:
    start = getattr(node, "col_offset", 0)
    end = getattr(node, "end_col_offset", None) or start + 1
    return start, end


def _describe(node: ast.AST) -> str:
    """What a refused piece of syntax is, as the subject of "... not allowed"."""
    names = {
        ast.Attribute: "attribute access (a.b) is",
        ast.Subscript: "subscripts (a[i]) are",
        ast.Lambda: "lambda is",
        ast.ListComp: "comprehensions are",
        ast.SetComp: "comprehensions are",
        ast.DictComp: "comprehensions are",
        ast.GeneratorExp: "comprehensions are",
        ast.Compare: "comparisons are",
        ast.BoolOp: "and/or are",
        ast.IfExp: "if/else is",
        ast.NamedExpr: "assignments are",
        ast.Starred: "*arguments are",
    }
    return names.get(type(node), f"{type(node).__name__} is")


def parse_expression(text: str) -> ast.expr:
    """The syntax tree of ``text``, if every part of it is on the whitelist."""
    if "\n" in text or "\r" in text:
        raise ExpressionError("the expression must be on one line", (text.find("\n"),) * 2)
    indent = len(text) - len(text.lstrip())
    try:
        tree = ast.parse(text.lstrip(), mode="eval")
    except SyntaxError as error:
        column = (error.offset or 0) - 1 + indent
        if not indent <= column < len(text):  # Python points past the end: it ended too early
            column = len(text)
        raise ExpressionError(
            f"not a valid expression: {error.msg}", (column, column + 1)
        ) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply", (0, len(text))) from None
    for node in ast.walk(tree.body):
        _shift(node, indent)
        _check(node)
    return tree.body


def _shift(node: ast.AST, columns: int) -> None:
    """Move a node's columns to where it sits in the text as typed (before lstrip)."""
    for name in ("col_offset", "end_col_offset"):
        if getattr(node, name, None) is not None:
            setattr(node, name, getattr(node, name) + columns)


def _check(node: ast.AST) -> None:
    allowed = (ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Call, ast.Load)
    if isinstance(node, ast.operator | ast.unaryop):
        return
    if not isinstance(node, allowed):
        raise ExpressionError(f"{_describe(node)} not allowed", _span(node))
    if isinstance(node, ast.BinOp) and type(node.op) not in _OPERATORS:
        symbol = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@"}.get(type(node.op), "this")
        raise ExpressionError(f"the operator {symbol} is not supported", _span(node))
    if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.USub | ast.UAdd):
        raise ExpressionError("only unary - and + are supported", _span(node))
    if isinstance(node, ast.Constant) and not _is_real(node.value):
        raise ExpressionError(f"{node.value!r} is not a real number", _span(node))
    if isinstance(node, ast.Call):
        _check_call(node)


def _is_real(constant: object) -> TypeGuard[int | float]:
    """A finite int or float literal (not a bool, string or complex number)."""
    if isinstance(constant, bool) or not isinstance(constant, int | float):
        return False
    return math.isfinite(constant)


def _check_call(node: ast.Call) -> None:
    if not isinstance(node.func, ast.Name):
        raise ExpressionError("only calls of functions by name are allowed", _span(node.func))
    name = node.func.id
    if name not in FUNCTIONS:
        raise ExpressionError(
            f"unknown function {name!r} (known: {', '.join(FUNCTIONS)})", _span(node.func)
        )
    if node.keywords:
        raise ExpressionError(f"{name}() takes no keyword arguments", _span(node.keywords[0].value))
    fewest, most = FUNCTIONS[name]
    if not fewest <= len(node.args) <= most:
        wanted = str(fewest) if fewest == most else f"{fewest} or {most}"
        raise ExpressionError(
            f"{name}() takes {wanted} argument{'s' if most > 1 else ''}, not {len(node.args)}",
            _span(node),
        )
    for arg in node.args:
        if isinstance(arg, ast.Starred):
            raise ExpressionError("*arguments are not allowed", _span(arg))


def evaluate(tree: ast.expr, variables: dict[str, Value]) -> Value:
    """The Value of a whitelisted expression tree; errors point at the part that failed."""
    if isinstance(tree, ast.Name):
        if tree.id not in variables:
            hint = f"; set it with --set {tree.id}=NUMBER"
            raise ExpressionError(f"{tree.id!r} has no value{hint}", _span(tree))
        return variables[tree.id]
    try:
        if isinstance(tree, ast.Constant) and _is_real(tree.value):
            return Value(tree.value)
        if isinstance(tree, ast.UnaryOp):
            operand = evaluate(tree.operand, variables)
            return -operand if isinstance(tree.op, ast.USub) else operand
        if isinstance(tree, ast.BinOp):
            left, right = evaluate(tree.left, variables), evaluate(tree.right, variables)
            return _OPERATORS[type(tree.op)](left, right)
        if isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name):
            args = [evaluate(arg, variables) for arg in tree.args]
            method: Callable[..., Value] = getattr(args[0], tree.func.id)
            return method(*args[1:])
    except (ArithmeticError, ValueError) as error:
        if isinstance(error, ExpressionError):
            raise
        raise ExpressionError(str(error), _span(tree)) from None
    raise ExpressionError(f"{_describe(tree)} not allowed", _span(tree))


def _caret(text: str, error: ExpressionError) -> str:
    start, end = error.span
    start = min(max(start, 0), len(text))
    end = min(max(end, start + 1), max(len(text), start + 1))
    return f"    {text}\n    {' ' * start}{'^' * (end - start)}"


# --- arguments ---------------------------------------------------------------------------------


def _assignment(text: str) -> tuple[str, float]:
    name, equals, number = text.partition("=")
    name = name.strip()
    if not equals or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=NUMBER")
    if name in FUNCTIONS:
        raise argparse.ArgumentTypeError(f"{name!r} is a function name, not a variable")
    try:
        value = float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{number.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{name} must be a finite number, not {value}")
    return name, value


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one flag per field of DrawOptions, plus the expression's own."""
    parser = argparse.ArgumentParser(
        prog="python -m viz",
        description="Draw the computation graph of an expression, with every forward value "
        "and gradient.",
        epilog=EXAMPLES.format(functions=", ".join(FUNCTIONS)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("expression", help='e.g. "tanh(w*x + b)" (quote it for the shell)')
    parser.add_argument(
        "--set",
        dest="assignments",
        nargs="+",
        type=_assignment,
        default=[],
        metavar="NAME=NUMBER",
        help="values of the variables, e.g. --set x=1 w=2 b=0.5",
    )
    parser.add_argument(
        "-o",
        "--output",
        help=f"file to write: {' '.join(FORMATS)} by suffix (default: DOT source on stdout)",
    )
    parser.add_argument(
        "--animate",
        metavar="PATH",
        help="write the backward pass step by step, one node per frame: "
        f"{' '.join(ANIMATION_FORMATS)} by suffix (a self-contained page, or a GIF)",
    )
    parser.add_argument(
        "--backward",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run backward() first, so the diagram shows gradients (default: on)",
    )
    options = parser.add_argument_group("drawing options (as for viz.draw)")
    for option in fields(DrawOptions):
        default = option.default
        help_text = option.metadata["help"] + " (default: %(default)s)"
        if isinstance(default, bool):
            options.add_argument(
                _flag(option.name),
                action=argparse.BooleanOptionalAction,
                default=default,
                help=help_text,
            )
        elif option.name == "rankdir":
            options.add_argument(
                _flag(option.name), choices=RANKDIRS, default=default, help=help_text
            )
        else:
            options.add_argument(
                _flag(option.name), type=int, default=default, metavar="N", help=help_text
            )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 done, 1 drawing failed, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = DrawOptions(**{f.name: getattr(args, f.name) for f in fields(DrawOptions)})
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    variables = {name: Value(value, label=name) for name, value in args.assignments}
    try:
        root = evaluate(parse_expression(args.expression), variables)
    except ExpressionError as error:
        print(f"{parser.prog}: error: {error}\n{_caret(args.expression, error)}", file=sys.stderr)
        return 2
    unused = [name for name, value in variables.items() if not _reaches(root, value)]
    if unused:
        print(f"note: {', '.join(unused)} set but not used", file=sys.stderr)
    if args.backward:
        root.backward()
    written = []
    try:
        digraph = to_digraph(build_graph(root, settings), settings)
        if args.output is None and args.animate is None:
            sys.stdout.write(digraph.source)
            return 0
        if args.output is not None:
            written.append(write(digraph, args.output))
        if args.animate is not None:
            written.append(animate(root, args.animate, **asdict(settings)))
    except (TooManyNodesError, GraphvizNotFoundError, ValueError) as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 1
    _report(root, variables, settings.precision, args.backward, [str(p) for p in written])
    return 0


def _reaches(root: Value, target: Value) -> bool:
    seen, stack = {root}, [root]
    while stack:
        node = stack.pop()
        if node is target:
            return True
        for child in node.inputs:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return False


def _report(
    root: Value, variables: dict[str, Value], precision: int, backward: bool, paths: list[str]
) -> None:
    """What was computed, in one line per number, then where the pictures went."""
    print(f"value = {format_number(root.data, precision)}")
    if backward:
        for name, value in variables.items():
            print(f"d/d{name} = {format_number(value.grad, precision)}")
    for path in paths:
        print(f"wrote {path}")
