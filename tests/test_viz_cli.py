"""python -m viz: the command line, run as a subprocess the way a reader runs it.

Exit codes: 0 drawn, 1 the drawing failed (too many nodes, Graphviz missing or failing), 2 bad
input (the expression, a flag, an output folder that does not exist), 141 (quietly) when the
reader of stdout has gone. Nothing shows a traceback: a bad expression is quoted with a caret
under the bad part.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_edu.ops import UNARY
from viz.cli import FUNCTIONS, main

NEURON = ["tanh(x1*w1 + x2*w2 + b)", "--set", "x1=2", "x2=0", "w1=-3", "w2=1",
          "b=6.8813735870195432"]  # fmt: skip


def viz(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "viz", *args], capture_output=True, text=True, cwd=cwd
    )


def test_it_draws_the_expression_and_prints_the_value_and_gradients(tmp_path: Path) -> None:
    done = viz(*NEURON, "-o", "neuron.svg", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "value = 0.7071",
        "d/dx1 = -1.5000",
        "d/dx2 = 0.5000",
        "d/dw1 = 1.0000",
        "d/dw2 = 0.0000",
        "d/db = 0.5000",
        "wrote neuron.svg",
    ]
    svg = (tmp_path / "neuron.svg").read_text(encoding="utf-8")
    assert ">x1<" in svg and ">grad &#45;1.5000<" in svg and ">tanh<" in svg


@pytest.mark.parametrize(("name", "start"), [("g.png", b"\x89PNG"), ("g.pdf", b"%PDF")])
def test_the_output_suffix_picks_the_format(tmp_path: Path, name: str, start: bytes) -> None:
    assert viz("x*y", "--set", "x=1", "y=2", "-o", name, cwd=tmp_path).returncode == 0
    assert (tmp_path / name).read_bytes().startswith(start)


def test_without_output_the_dot_source_goes_to_stdout() -> None:
    done = viz("x*x", "--set", "x=3")
    assert done.returncode == 0
    assert done.stdout.startswith("digraph computation_graph {")
    assert "data 9.0000" in done.stdout and "grad 6.0000" in done.stdout  # d(x²)/dx = 2x


def test_no_backward_leaves_every_gradient_at_zero() -> None:
    done = viz("x*x", "--set", "x=3", "--no-backward")
    assert "grad 6.0000" not in done.stdout and done.stdout.count("grad 0.0000") == 2


def test_every_drawing_option_is_a_flag() -> None:
    base = ["x*w + b", "--set", "x=1", "w=-2", "b=0.5"]
    assert "rankdir=TB" in viz(*base, "--rankdir", "TB").stdout
    assert "data -1.50" in viz(*base, "--precision", "2").stdout
    assert 'label=" -2.0000 "' in viz(*base, "--edge-grads").stdout
    assert "deeper: larger |grad|" not in viz(*base, "--no-color").stdout
    assert viz(*base, "--cluster").returncode == 0  # no nn here: nothing to cluster
    assert viz(*base, "--collapse").returncode == 0
    refused = viz(*base, "--max-nodes", "3")
    assert refused.returncode == 1
    assert "5 value nodes, more than max_nodes=3" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_help_shows_examples_the_functions_and_every_flag() -> None:
    done = viz("--help")
    assert done.returncode == 0
    assert "examples:" in done.stdout and 'python -m viz "tanh(x1*w1 + x2*w2 + b)"' in done.stdout
    for flag in ("--set", "-o", "--backward", "--no-backward", "--rankdir", "--precision",
                 "--edge-grads", "--color", "--no-color", "--cluster", "--collapse",
                 "--max-nodes"):  # fmt: skip
        assert flag in done.stdout
    assert "leaky_relu" in done.stdout and "tanh" in done.stdout


def test_the_functions_are_the_engines_one_input_operations_and_leaky_relu() -> None:
    assert set(FUNCTIONS) == (set(UNARY) - {"neg"}) | {"leaky_relu"}
    done = viz("leaky_relu(x, 0.1) + softplus(x) + step(x)", "--set", "x=-2")
    assert done.returncode == 0 and "leaky_relu" in done.stdout


@pytest.mark.parametrize(
    ("expression", "message", "caret"),
    [
        ("x.real", "attribute access (a.b) is not allowed", "^^^^^^"),
        ("x[0]", "subscripts (a[i]) are not allowed", "^^^^"),
        ("(lambda: x)()", "only calls of functions by name are allowed", " ^^^^^^^^^"),
        ("[x for x in y]", "comprehensions are not allowed", "^^^^^^^^^^^^^^"),
        ("x + open(x)", "unknown function 'open'", "    ^^^^"),
        ("__import__('os')", "unknown function '__import__'", "^^^^^^^^^^"),
        ("x * z", "'z' has no value; set it with --set z=NUMBER", "    ^"),
        ("x // 2", "the operator // is not supported", "^^^^^^"),
        # ^ binds less tightly than +: x ^ (2 + 1)
        ("x^2 + 1", "operator ^ is not supported; for a power write **, as in x**2", "^^^^^^^"),
        ("x & 1", "the operator & is not supported", "^^^^^"),
        ("tanh(x, x)", "tanh() takes 1 argument, not 2", "^^^^^^^^^^"),
        ("tanh(x=1)", "tanh() takes no keyword arguments", "       ^"),
        ("x < 2", "comparisons are not allowed", "^^^^^"),
        ("'text'", "'text' is not a real number", "^^^^^^"),
        ("x +", "not a valid expression", "   ^"),
        ("log(x - 5)", "log of a negative number", "^^^^^^^^^^"),
        ("1 / (x - 1)", "division by zero", "^^^^^^^^^^^"),
    ],
)
def test_anything_off_the_whitelist_exits_2_with_a_caret_under_it(
    expression: str, message: str, caret: str
) -> None:
    done = viz(expression, "--set", "x=1")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert message in lines[0]
    assert lines[1] == f"    {expression}"
    assert lines[2] == f"    {caret}"


@pytest.mark.parametrize(
    ("assignment", "message"),
    [("x", "'x' is not NAME=NUMBER"), ("x=abc", "'abc' is not a number"),
     ("x=inf", "x must be a finite number"), ("tanh=1", "'tanh' is a function name")],
)  # fmt: skip
def test_a_bad_set_exits_2_with_a_usage_message(assignment: str, message: str) -> None:
    done = viz("x", "--set", assignment)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def refused(done: subprocess.CompletedProcess[str], code: int = 2) -> list[str]:
    """The lines of stderr, after checking the exit code and that there is no traceback."""
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr.splitlines()


@pytest.mark.parametrize(
    ("expression", "value", "gradient"),
    [
        ("+".join(["x"] * 1000), "1000.0000", "1000.0000"),  # a sum of 1,000 terms
        ("-" * 1000 + "x", "1.0000", "1.0000"),  # 1,000 unary minuses: an even number
        ("**".join(["x"] * 1000), "1.0000", "1.0000"),  # x**x**...**x at x = 1
    ],
    ids=["sum", "minus", "power"],
)
def test_expressions_a_thousand_operations_deep_are_evaluated_without_recursion(
    expression: str, value: str, gradient: str
) -> None:
    done = viz("--set", "x=1", "--max-nodes", "3000", "--", expression)
    assert done.returncode == 0, done.stderr[-500:]
    assert f"data {value}" in done.stdout and f"grad {gradient}" in done.stdout


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("+".join(["x"] * 1002), "nests 1,001 operations inside one another; the limit is 1,000"),
        ("-" * 1001 + "x", "nests 1,001 operations"),
        ("**".join(["x"] * 5000), "nests more than 1,000 operations"),  # past Python's parser
        ("-x*" * 3000 + "x", "nests more than 1,000 operations"),
    ],
    ids=["sum", "minus", "power", "mixed"],
)
def test_deeper_expressions_are_refused_with_the_limit_stated(
    expression: str, message: str
) -> None:
    lines = refused(viz("--set", "x=1", "--", expression))
    assert message in lines[0]
    assert len(lines[1]) <= 4 + 3 + 100 + 3  # a long expression is quoted as a window of it
    assert lines[2].strip() and set(lines[2].strip()) == {"^"}


def test_a_number_too_large_for_a_float_is_pointed_at() -> None:
    digits = "1" + "0" * 400
    lines = refused(viz(f"x + {digits} * x", "--set", "x=1"))
    assert lines[0].endswith(
        "error: an integer of about 10**400 is too large for a float (the largest is about 1.8e308)"
    )
    assert lines[1] == f"    x + {digits[:96]}..."
    assert lines[2] == "        " + "^" * 96
    lines = refused(viz("2 * 1e400", "--set", "x=1"))
    assert "this number is too large for a float" in lines[0]
    assert lines[1:] == ["    2 * 1e400", "        ^^^^^"]


@pytest.mark.parametrize("flag", ["-o", "--animate"])
def test_an_output_into_a_missing_folder_is_refused_before_any_work(
    tmp_path: Path, flag: str
) -> None:
    name = "missing/graph.svg" if flag == "-o" else "missing/graph.html"
    lines = refused(viz("x*2", "--set", "x=1", flag, name, cwd=tmp_path))
    assert (
        f"error: {flag} {name}: the folder 'missing' does not exist (create it first)"
        in (lines[-1])
    )
    assert not (tmp_path / "missing").exists()


def test_an_output_suffix_that_names_no_format_is_refused(tmp_path: Path) -> None:
    lines = refused(viz("x*2", "--set", "x=1", "-o", "graph.jpg", cwd=tmp_path))
    assert "-o graph.jpg: the suffix picks the format, one of .svg .png .pdf .dot .gv" in lines[-1]


def test_a_failing_dot_exits_1_with_what_it_said(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "dot"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "Error: syntax error in line 1" >&2\nexit 1\n')
    fake.chmod(0o755)
    path = f"{fake.parent}{os.pathsep}{os.environ['PATH']}"
    for output in (["-o", "g.svg"], ["--animate", "g.html"]):
        done = subprocess.run(
            [sys.executable, "-m", "viz", "x*2", "--set", "x=1", *output],
            capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PATH": path},
        )  # fmt: skip
        lines = refused(done, code=1)
        assert lines[-1] == (
            "python -m viz: error: Graphviz's dot failed (exit status 1): "
            "Error: syntax error in line 1"
        )


def test_repeated_set_flags_accumulate(tmp_path: Path) -> None:
    done = viz("x*y + z", "--set", "x=2", "--set", "y=3", "z=1", "-o", "g.dot", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:4] == ["value = 7.0000", "d/dx = 3.0000", "d/dy = 2.0000",
                                            "d/dz = 1.0000"]  # fmt: skip


@pytest.mark.parametrize(
    "sets", [["--set", "x=1", "x=2"], ["--set", "x=1", "y=2", "--set", "x=1"]], ids=["one", "two"]
)
def test_a_variable_set_twice_is_refused(sets: list[str]) -> None:
    lines = refused(viz("x*y", *sets, "y=2" if len(sets) == 3 else "z=0"))
    assert "x is set more than once" in lines[-1] and "give each variable one value" in lines[-1]


@pytest.mark.parametrize("expression", ["-x*2", "-tanh(x)", "-2*x"])
def test_an_expression_starting_with_minus_is_explained(expression: str) -> None:
    lines = refused(viz(expression, "--set", "x=1"))
    assert lines[-1] == (
        "(an expression that starts with '-' goes last, after '--', which ends the flags: "
        f"python -m viz --set x=1 -o graph.svg -- '{expression}')"
    )
    done = viz("--set", "x=1", "--", expression)  # as the advice says
    assert done.returncode == 0 and "data -" in done.stdout


def test_a_missing_graphviz_exits_1_with_install_advice(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "viz", "x*2", "--set", "x=1", "-o", "x.svg"],
        capture_output=True, text=True, cwd=tmp_path, env={"PATH": ""},
    )  # fmt: skip
    assert done.returncode == 1
    assert "sudo apt-get install graphviz" in done.stderr and "Traceback" not in done.stderr


def test_main_can_be_called_in_process_and_returns_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["x*y", "--set", "x=2", "y=3", "-o", str(tmp_path / "g.dot")]) == 0
    assert "data 6.0000" in (tmp_path / "g.dot").read_text(encoding="utf-8")
    assert main(["x.y", "--set", "x=2"]) == 2
    assert "attribute access" in capsys.readouterr().err


def test_the_console_script_is_installed() -> None:
    script = shutil.which("tinygrad-edu-viz")
    assert script is not None
    done = subprocess.run([script, "x+1", "--set", "x=1"], capture_output=True, text=True)
    assert done.returncode == 0 and "data 2.0000" in done.stdout


# --- what the shell hands over, and where the output goes ----------------------------------------


def viz_bytes(*args: bytes, **kw: object) -> subprocess.CompletedProcess[bytes]:
    """python -m viz with arguments given as bytes, as a shell passes them (not always UTF-8)."""
    return subprocess.run(
        [sys.executable.encode(), b"-m", b"viz", *args], capture_output=True, check=False, **kw
    )  # type: ignore[call-overload]


def test_an_expression_that_is_not_utf8_is_refused_with_a_caret_under_the_byte() -> None:
    done = viz_bytes(b"x\xff + 1", b"--set", b"x=1")
    assert done.returncode == 2
    lines = done.stderr.decode("utf-8", "replace").splitlines()
    assert "Traceback" not in done.stderr.decode("utf-8", "replace")
    assert lines[0] == (
        "python -m viz: error: the expression has the byte 0xff, which is not UTF-8 text "
        "(type it in a UTF-8 terminal)"
    )
    assert lines[1:] == ["    x\ufffd + 1", "     ^"]  # one column for the byte, as shown


def test_a_file_name_that_is_not_utf8_is_written_and_reported(tmp_path: Path) -> None:
    """os.fsdecode gives a lone surrogate for the byte; the report shows it escaped, even when
    stdout refuses surrogates (PYTHONIOENCODING=utf-8 makes it strict)."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = viz_bytes(b"x*2", b"--set", b"x=1", b"-o", b"\xff.dot", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / os.fsdecode(b"\xff.dot")).read_text(encoding="utf-8").startswith("digraph")
    assert done.stdout.decode().splitlines()[-1] == "wrote \\udcff.dot"


@pytest.mark.parametrize("output", [[], ["-o", "g.dot"]], ids=["dot-source", "summary"])
def test_a_closed_pipe_on_stdout_ends_quietly_with_a_nonzero_exit(
    tmp_path: Path, output: list[str]
) -> None:
    """As `python -m viz ... | true`: the reader is gone before anything is written. Like a
    Unix tool stopped by SIGPIPE: nothing on stderr, exit status 141 (128 + SIGPIPE)."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "viz", "x*2", "--set", "x=1", *output],
            stdout=writer, stderr=subprocess.PIPE, text=True, cwd=tmp_path, check=False,
        )  # fmt: skip
    finally:
        os.close(writer)
    assert (done.returncode, done.stderr) == (141, "")
    if output:
        assert (tmp_path / "g.dot").read_text(encoding="utf-8").startswith("digraph")


def test_the_console_script_names_itself_in_usage_errors_and_examples() -> None:
    script = shutil.which("tinygrad-edu-viz")
    assert script is not None
    done = subprocess.run([script, "-x*2", "--set", "x=1"], capture_output=True, text=True)
    lines = refused(done)
    assert lines[0].startswith("usage: tinygrad-edu-viz [-h]")
    assert lines[-1].endswith("flags: tinygrad-edu-viz --set x=1 -o graph.svg -- '-x*2')")
    done = subprocess.run([script, "x +", "--set", "x=1"], capture_output=True, text=True)
    assert refused(done)[0].startswith("tinygrad-edu-viz: error: not a valid expression")
    shown = subprocess.run([script, "--help"], capture_output=True, text=True).stdout
    assert 'tinygrad-edu-viz "x**3 - 2*x" --set x=1.5' in shown and "python -m viz" not in shown
