"""The command line: draw the graph of an expression typed in the shell.

    python -m viz "tanh(w*x + b)" --set x=1 w=2 b=0.5 -o graph.svg
    python -m viz "tanh(w*x + b)" --set x=1 w=2 b=0.5 --animate backprop.html

The expression is parsed with Python's ``ast`` and checked against a whitelist (numbers, the
variables given with ``--set``, ``+ - * / **``, unary ``-`` and ``+``, and calls to the engine's
own operations); it is never passed to ``eval``. Anything else is refused with exit code 2 and
the expression quoted with a caret under the offending part. The tree is evaluated with an
explicit stack, not recursion; operations may nest up to ``MAX_DEPTH`` (1,000) deep.

Exit codes: 0 drawn, 1 the drawing failed (too many nodes, Graphviz missing or failing, a file
that cannot be written), 2 bad input (the expression, a flag, an output folder that does not
exist). Never a traceback. When the reader of stdout has gone (``python -m viz ... | head``), it
stops without a word, as a Unix tool stopped by SIGPIPE does, with that tool's exit status, 141.

Usage lines and examples name the program as it was run: ``python -m viz``, or
``tinygrad-edu-viz`` (the console script).
"""

from __future__ import annotations

import argparse
import ast
import math
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import NoReturn

from tinygrad_edu import Value, topological_order
from tinygrad_edu.ops import UNARY
from tinygrad_edu.scalars import is_number, to_float

from .animate import ANIMATION_FORMATS, animate
from .dot import FORMATS, GraphvizNotFoundError, format_number, to_digraph, write
from .graph import TooManyNodesError, build_graph
from .options import RANKDIRS, DrawOptions
from .page import LONE_SURROGATE, writable

__all__ = ["main", "FUNCTIONS", "MAX_DEPTH", "ExpressionError", "parse_expression", "evaluate"]

MAX_DEPTH = 1000
"""How deep operations may nest in an expression: 1,000 unary minuses, or a sum of 1,001 terms
(x+x+...+x is a chain of + nodes, each inside the next). Deeper, Python's own parser runs out of
stack, so the limit is stated and checked rather than left to chance."""

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
  {prog} "tanh(x1*w1 + x2*w2 + b)" --set x1=2 x2=0 w1=-3 w2=1 b=6.8814 -o neuron.svg
  {prog} "x**3 - 2*x" --set x=1.5 --edge-grads -o cubic.png
  {prog} "tanh(x1*w1 + x2*w2 + b)" --set x1=2 x2=0 w1=-3 w2=1 b=6.8814 --animate bp.gif
  {prog} "sigmoid(a) * log(b)" --set a=0.5 b=2 --rankdir TB --precision 2 -o g.pdf
  {prog} "leaky_relu(x, 0.1)" --set x=-2 --no-backward        (DOT source on stdout)
  {prog} --set x=2 -o g.svg -- "-x**2"     (starts with -: last, after --)

functions: {functions}
operators: + - * / ** and unary - +; numbers; the names given with --set
"""

PROGRAM = "python -m viz"
"""The program's name in usage lines and examples, unless it was run under another name."""

STOPPED_BY_SIGPIPE = 141
"""The exit status when the reader of stdout has gone: 128 + SIGPIPE (13), what the shell shows
for a Unix tool that the closed pipe stopped."""

_SYMBOLS: dict[type[ast.operator], str] = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitXor: "^", ast.BitAnd: "&",
    ast.BitOr: "|", ast.LShift: "<<", ast.RShift: ">>",
}  # fmt: skip
"""How the operators off the whitelist are written, to name them in the error."""


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
    not_text = LONE_SURROGATE.search(text)
    if not_text:
        raise ExpressionError(_not_text(not_text[0]), not_text.span())
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
    except (RecursionError, MemoryError):  # Python's parser ran out of stack
        raise ExpressionError(_too_deep(f"more than {MAX_DEPTH:,}"), (0, len(text))) from None
    for node in ast.walk(tree.body):
        _shift(node, indent)
        _check(node)
    _check_depth(tree.body)
    return tree.body


def _not_text(surrogate: str) -> str:
    code = ord(surrogate)
    if 0xDC80 <= code <= 0xDCFF:  # a byte the command line could not decode (os.fsdecode)
        return (
            f"the expression has the byte 0x{code - 0xDC00:02x}, which is not UTF-8 text "
            "(type it in a UTF-8 terminal)"
        )
    return f"the expression has a lone surrogate, U+{code:04X}, which is not text"


def _too_deep(depth: str) -> str:
    return (
        f"the expression nests {depth} operations inside one another; the limit is "
        f"{MAX_DEPTH:,} (a sum of {MAX_DEPTH + 1:,} terms)"
    )


def _check_depth(tree: ast.expr) -> None:
    """Refuse operations nested deeper than MAX_DEPTH, with the caret under the deepest one."""
    deepest, most = tree, 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        operands = _operands(node)
        if operands and depth > most:
            deepest, most = node, depth
        stack.extend((operand, depth + 1) for operand in operands)
    if most > MAX_DEPTH:
        raise ExpressionError(_too_deep(f"{most:,}"), _span(deepest))


def _operands(node: ast.expr) -> Sequence[ast.expr]:
    """The sub-expressions an operation is applied to, in order ([] for a name or a number)."""
    if isinstance(node, ast.BinOp):
        return (node.left, node.right)
    if isinstance(node, ast.UnaryOp):
        return (node.operand,)
    if isinstance(node, ast.Call):
        return node.args
    return ()


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
        symbol = _SYMBOLS.get(type(node.op), type(node.op).__name__)
        hint = "; for a power write **, as in x**2" if symbol == "^" else ""
        raise ExpressionError(f"the operator {symbol} is not supported{hint}", _span(node))
    if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.USub | ast.UAdd):
        raise ExpressionError("only unary - and + are supported", _span(node))
    if isinstance(node, ast.Constant):
        _check_number(node)
    if isinstance(node, ast.Call):
        _check_call(node)


def _check_number(node: ast.Constant) -> None:
    """A literal must be a real number (not a bool, string or complex number) that a float holds."""
    value = node.value
    if isinstance(value, bool) or not is_number(value):
        raise ExpressionError(f"{value!r} is not a real number", _span(node))
    try:
        number = to_float(value)
    except OverflowError as error:
        raise ExpressionError(str(error), _span(node)) from None
    if not math.isfinite(number):  # 1e400 reads as inf
        raise ExpressionError(
            "this number is too large for a float (the largest is about 1.8e308)", _span(node)
        )


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
    """The Value of a whitelisted expression tree; errors point at the part that failed.

    Operands before operations, with an explicit stack rather than recursion, so the depth of
    the expression is not limited by Python's call stack.
    """
    results: list[Value] = []
    stack: list[tuple[ast.expr, bool]] = [(tree, False)]
    while stack:
        node, operands_done = stack.pop()
        operands = _operands(node)
        if operands and not operands_done:
            stack.append((node, True))
            stack.extend((operand, False) for operand in reversed(operands))
            continue
        start = len(results) - len(operands)
        value = _apply(node, results[start:], variables)
        del results[start:]
        results.append(value)
    return results[0]


def _apply(node: ast.expr, operands: list[Value], variables: dict[str, Value]) -> Value:
    """One node of the tree, given the Values of its operands."""
    if isinstance(node, ast.Name):
        if node.id not in variables:
            hint = f"; set it with --set {node.id}=NUMBER"
            raise ExpressionError(f"{node.id!r} has no value{hint}", _span(node))
        return variables[node.id]
    try:
        if isinstance(node, ast.Constant):
            return Value(to_float(node.value))
        if isinstance(node, ast.UnaryOp):
            return -operands[0] if isinstance(node.op, ast.USub) else operands[0]
        if isinstance(node, ast.BinOp):
            return _OPERATORS[type(node.op)](operands[0], operands[1])
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            method: Callable[..., Value] = getattr(operands[0], node.func.id)
            return method(*operands[1:])
    except (ArithmeticError, ValueError) as error:
        raise ExpressionError(str(error), _span(node)) from None
    raise ExpressionError(f"{_describe(node)} not allowed", _span(node))


CARET_WIDTH = 100
"""The most characters of an expression quoted above a caret; a longer one is cut to a window
around the start of the offending part."""


def _caret(text: str, error: ExpressionError) -> str:
    text = writable(text)  # one column for a bad byte, as the terminal shows it
    start, end = error.span
    start = min(max(start, 0), len(text))
    end = min(max(end, start + 1), max(len(text), start + 1))
    left = 0
    if len(text) > CARET_WIDTH:
        left = max(0, min(start - 20, len(text) - CARET_WIDTH))
        right = left + CARET_WIDTH
        end = min(end, right)
        text = ("..." if left else "") + text[left:right] + ("..." if right < len(text) else "")
        left -= 3 if left else 0
    return f"    {text}\n    {' ' * (start - left)}{'^' * (end - start)}"


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


class _Parser(argparse.ArgumentParser):
    """argparse, whose errors explain that an expression starting with '-' must follow '--'
    (argparse reads "-x*2" as an unknown flag)."""

    argv: Sequence[str] = ()

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self.argv = sys.argv[1:] if args is None else list(args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        dashed = [arg for arg in _before_double_dash(self.argv) if _looks_like_expression(arg)]
        if dashed:
            message += (
                f"\n(an expression that starts with '-' goes last, after '--', which ends the "
                f"flags: {self.prog} --set x=1 -o graph.svg -- {shlex.quote(dashed[0])})"
            )
        super().error(message)


def _before_double_dash(argv: Sequence[str]) -> Sequence[str]:
    return argv[: list(argv).index("--")] if "--" in argv else argv


def _looks_like_expression(arg: str) -> bool:
    """True for "-x", "-2*x" or "-tanh(x)": one dash, not the short flags -o and -h."""
    return arg.startswith("-") and arg[1:2] not in ("", "-", "o", "h")


def build_parser(prog: str = PROGRAM) -> argparse.ArgumentParser:
    """The argument parser: one flag per field of DrawOptions, plus the expression's own;
    ``prog`` is the program's name in its usage line, errors and examples."""
    parser = _Parser(
        prog=prog,
        description="Draw the computation graph of an expression, with every forward value "
        "and gradient.",
        epilog=EXAMPLES.format(prog=prog, functions=", ".join(FUNCTIONS)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("expression", help='e.g. "tanh(w*x + b)" (quote it for the shell)')
    parser.add_argument(
        "--set",
        dest="assignments",
        action="extend",
        nargs="+",
        type=_assignment,
        default=[],
        metavar="NAME=NUMBER",
        help="values of the variables, e.g. --set x=1 w=2 b=0.5 (may be repeated)",
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (``argv``, else the process's own arguments); returns the exit code
    (0 done, 1 drawing failed, 2 bad input, 141 the reader of stdout has gone)."""
    try:
        return _run(argv)
    except BrokenPipeError:  # what argparse's help and the report print could not deliver
        return _reader_gone()


def _program(argv: Sequence[str] | None) -> str:
    """The name the program was run as: the console script's (``tinygrad-edu-viz``), or
    ``python -m viz`` when run as a module or called with its arguments from Python."""
    name = os.path.basename(sys.argv[0]) if argv is None and sys.argv else ""
    return name if name and name != "__main__.py" else PROGRAM


def _reader_gone() -> int:
    """Stop quietly: stdout is pointed at the null device, so that Python's flush at exit finds
    nothing to complain about."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):  # a stdout without a file descriptor (a test's capture)
        pass
    return STOPPED_BY_SIGPIPE


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser(_program(argv))
    args = parser.parse_args(argv)
    try:
        settings = DrawOptions(**{f.name: getattr(args, f.name) for f in fields(DrawOptions)})
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    _check_assignments(parser, args.assignments)
    _check_output(parser, args.output, FORMATS, "-o")
    _check_output(parser, args.animate, ANIMATION_FORMATS, "--animate")
    variables = {name: Value(value, label=name) for name, value in args.assignments}
    try:
        root = evaluate(parse_expression(args.expression), variables)
    except ExpressionError as error:
        print(f"{parser.prog}: error: {error}\n{_caret(args.expression, error)}", file=sys.stderr)
        return 2
    reached = set(topological_order(root))
    unused = [name for name, value in variables.items() if value not in reached]
    if unused:
        print(f"note: {', '.join(unused)} set but not used", file=sys.stderr)
    if args.backward:
        root.backward()
    written = []
    try:
        digraph = to_digraph(build_graph(root, settings), settings)
        if args.output is not None:
            written.append(write(digraph, args.output))
        if args.animate is not None:
            written.append(animate(root, args.animate, **asdict(settings)))
    except (TooManyNodesError, GraphvizNotFoundError, ValueError) as error:
        return _failed(parser, str(error))
    except subprocess.CalledProcessError as error:
        return _failed(parser, _dot_failure(error))
    except OSError as error:  # a folder that vanished, no permission, a full disk
        return _failed(parser, f"cannot write {error.filename or 'the output'}: {error.strerror}")
    if written:
        _report(root, variables, settings.precision, args.backward, [str(p) for p in written])
    else:
        _say(digraph.source, end="")
    sys.stdout.flush()  # a closed pipe is found here, not at exit
    return 0


def _check_assignments(
    parser: argparse.ArgumentParser, assignments: list[tuple[str, float]]
) -> None:
    """Each variable is set once: a second value for the same name is refused, not chosen."""
    seen: dict[str, float] = {}
    for name, value in assignments:
        if name in seen:
            parser.error(
                f"{name} is set more than once ({name}={seen[name]:g}, {name}={value:g}); "
                "give each variable one value"
            )
        seen[name] = value


def _check_output(
    parser: argparse.ArgumentParser, path: str | None, formats: Sequence[str], flag: str
) -> None:
    """Before any work: the output's suffix names a format and its folder exists."""
    if path is None:
        return
    suffix = Path(path).suffix.lower()
    if suffix not in formats:
        parser.error(f"{flag} {path}: the suffix picks the format, one of {' '.join(formats)}")
    folder = Path(path).parent
    if not folder.is_dir():
        parser.error(f"{flag} {path}: the folder {str(folder)!r} does not exist (create it first)")


def _failed(parser: argparse.ArgumentParser, message: str) -> int:
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    return 1


def _dot_failure(error: subprocess.CalledProcessError) -> str:
    """What Graphviz's dot said when it failed: its exit status and the end of its stderr."""
    stderr = error.stderr
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else str(stderr or "")
    said = text.strip().splitlines()
    detail = f": {said[-1]}" if said else ""
    return f"Graphviz's dot failed (exit status {error.returncode}){detail}"


def _report(
    root: Value, variables: dict[str, Value], precision: int, backward: bool, paths: list[str]
) -> None:
    """What was computed, in one line per number, then where the pictures went."""
    _say(f"value = {format_number(root.data, precision)}")
    if backward:
        for name, value in variables.items():
            _say(f"d/d{name} = {format_number(value.grad, precision)}")
    for path in paths:
        _say(f"wrote {path}")


def _say(text: str, end: str = "\n") -> None:
    """Print ``text`` to stdout; what stdout cannot encode (a file name's byte that is not
    UTF-8, on a strict stream) is written as a backslash escape, not raised."""
    try:
        print(text, end=end)
    except UnicodeEncodeError:
        encoding = sys.stdout.encoding or "utf-8"
        print(text.encode(encoding, "backslashreplace").decode(encoding), end=end)
