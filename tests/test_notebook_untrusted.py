"""One real look: a notebook opened before it runs is untrusted (every downloaded notebook is), and
JupyterLab then shows no SVG and sanitizes HTML (the player's iframe is removed). Opened so in
JupyterLab in headless Chromium, a notebook with a diagram and a player shows both as pictures:
the diagram's PNG and the player's first frame. The test keeps a screenshot in its tmp_path."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from examples import need, neuron

import viz

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

TOKEN = "untrusted-look"


def stored(shown: Any) -> dict[str, Any]:
    """The output Jupyter stores for ``shown``: its mime bundle, bytes in base64, as IPython
    writes it."""
    bundle = shown._repr_mimebundle_()
    data = {
        kind: base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value
        for kind, value in bundle.items()
    }
    return {
        "output_type": "display_data",
        "data": {**data, "text/plain": repr(shown)},
        "metadata": {},
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A JupyterLab server on a free local port serving tmp_path/"notebooks" (its settings,
    workspaces and runtime files in tmp_path too); its address, and the file of its log."""
    need("jupyterlab")
    folder, log = tmp_path / "notebooks", tmp_path / "lab.log"
    folder.mkdir()
    port = free_port()
    env = {
        **os.environ,
        **{
            f"JUPYTER_{kind}_DIR": str(tmp_path / kind.lower())
            for kind in ("CONFIG", "DATA", "RUNTIME")
        },
    }
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={folder}", "--allow-root",
        "--LabApp.extension_manager=readonly",
    ]  # fmt: skip
    with log.open("wb") as written:
        server = subprocess.Popen(command, env=env, stdout=written, stderr=subprocess.STDOUT)
    address = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{address}/api/status?token={TOKEN}", timeout=1)
                break
            except OSError:
                assert server.poll() is None, log.read_text(errors="replace")
                time.sleep(0.25)
        yield address, log
    finally:
        server.terminate()
        server.wait(timeout=30)


PICTURES = """
return Array.from(document.querySelectorAll(".jp-NotebookPanel .jp-OutputArea-output")).map(
    area => [area.querySelectorAll("img").length, area.querySelectorAll("svg, iframe").length,
             ...Array.from(area.querySelectorAll("img")).map(
                 img => [img.complete, img.naturalWidth, img.naturalHeight, img.offsetWidth])])"""
"""Per output of the notebook: how many pictures, how many SVGs and iframes, and each picture's
[loaded, width, height, width on the page]."""


@pytest.mark.slow  # starts JupyterLab: about 15 s
def test_an_untrusted_notebook_shows_the_diagram_and_the_players_first_frame(
    browser: WebDriver, lab: tuple[str, Path], tmp_path: Path
) -> None:
    nbformat = need("nbformat")
    o = neuron()
    o.backward()
    diagram, player = viz.draw(o), viz.animate(o)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("viz.draw(o)"),
        nbformat.v4.new_code_cell("viz.animate(o)"),
    ]
    for cell, shown in zip(notebook.cells, (diagram, player)):
        cell.outputs = [nbformat.from_dict(stored(shown))]
    nbformat.write(notebook, tmp_path / "notebooks" / "untrusted.ipynb")  # unsigned: untrusted

    address, log = lab
    browser.get(f"{address}/lab/tree/untrusted.ipynb?token={TOKEN}")
    areas: list[list[Any]] = []
    for _ in range(240):
        areas = browser.execute_script(PICTURES)
        loaded = [a for a in areas if a[0] == 1 and a[2][0] and a[2][1] > 0 and a[2][3] > 0]
        if len(loaded) == 2:
            break
        time.sleep(0.25)
    screenshot = tmp_path / "untrusted.png"
    browser.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 10_000
    assert "untrusted.ipynb is not trusted" in log.read_text(errors="replace")
    # Each output is one picture, drawn at the PNG's size (or scaled down to the page), and no
    # SVG or iframe: JupyterLab showed what an untrusted notebook shows.
    assert [(count, unsafe) for count, unsafe, _ in areas] == [(1, 0), (1, 0)], (areas, screenshot)
    sizes = [tuple(picture[1:3]) for _, _, picture in areas]
    expected = [
        png_size(base64.b64decode(stored(shown)["data"]["image/png"]))
        for shown in (diagram, player)
    ]
    assert sizes == expected


def png_size(data: bytes) -> tuple[int, int]:
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
