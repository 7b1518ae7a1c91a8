"""The stored notebooks show every diagram before they run: each SVG output carries a PNG beside
it, and each inline player its first frame as a PNG, also inside its HTML. (An untrusted
notebook, as every downloaded one is, shows no SVG in JupyterLab and its HTML sanitized, without
the player's iframe; it shows PNG.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "docs" / "notebooks").glob("**/*.ipynb"))


def outputs(path: Path) -> list[dict[str, Any]]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [
        output
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
        for output in cell["outputs"]
        if "data" in output
    ]


def is_player(output: dict[str, Any]) -> bool:
    page = "".join(output["data"].get("text/html", ""))
    return "<iframe" in page and "srcdoc" in page


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_stored_diagram_and_player_has_a_png(path: Path) -> None:
    shown = outputs(path)
    diagrams = [o for o in shown if "image/svg+xml" in o["data"]]
    players = [o for o in shown if is_player(o)]
    assert diagrams or players, "the notebook shows no diagram"
    for number, output in enumerate([*diagrams, *players], start=1):
        assert "image/png" in output["data"], f"output {number} has no PNG: re-run the notebook"
    for player in players:  # the picture JupyterLab shows when it strips the player's iframe
        page = "".join(player["data"]["text/html"])
        assert page.startswith('<img hidden src="data:image/png;base64,'), "re-run the notebook"
