"""viz.fonts.use_cjk_font: Chinese text in matplotlib plots, whatever matplotlib's font cache holds.

The stale cache is made as a learner's machine makes it: matplotlib ran (and wrote its font list,
fontlist-v*.json) before the CJK fonts were installed. Here the list is written in a temporary
MPLCONFIGDIR, then the CJK fonts are taken out of it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from examples import missing, need

from viz import fonts

need("matplotlib")
ROOT = Path(__file__).resolve().parent.parent
TITLE = "梯度下降法：學習率 0.1"


def chinese_font_files() -> set[str]:
    """The files of the installed fonts that cover Chinese, as fontconfig lists them."""
    if shutil.which("fc-list") is None:
        missing(FileNotFoundError("fontconfig's fc-list is not installed"))
    listed = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True)
    files = {line.strip().rstrip(":") for line in listed.stdout.splitlines() if line.strip()}
    if not files:
        missing(FileNotFoundError("no CJK font is installed: apt-get install fonts-noto-cjk"))
    return files


@pytest.fixture(scope="module")
def stale_cache(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a matplotlib whose font list was written before the CJK fonts came."""
    cjk = chinese_font_files()
    folder = tmp_path_factory.mktemp("mplconfig")
    env = {**os.environ, "MPLCONFIGDIR": str(folder), "MPLBACKEND": "Agg"}
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env, check=True)
    (cache,) = folder.glob("fontlist-v*.json")
    fontlist = json.loads(cache.read_text(encoding="utf-8"))
    kept = [font for font in fontlist["ttflist"] if font["fname"] not in cjk]
    assert len(kept) < len(fontlist["ttflist"]), "the CJK fonts were not in the cache to remove"
    cache.write_text(json.dumps({**fontlist, "ttflist": kept}), encoding="utf-8")
    return env


def draw_title(env: dict[str, str], *, use_cjk_font: bool) -> dict[str, Any]:
    """Draw a plot titled in Chinese in a fresh interpreter; what it warned, and the font."""
    program = f"""
import json, warnings
import matplotlib.pyplot as plt
from matplotlib import font_manager
from viz.fonts import use_cjk_font
family = use_cjk_font() if {use_cjk_font} else None
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    figure, axes = plt.subplots()
    axes.set_title({TITLE!r})
    figure.canvas.draw()
cached = [f.name for f in font_manager.fontManager.ttflist if "CJK" in f.name]
print(json.dumps({{"family": family, "warnings": [str(w.message) for w in caught],
                   "font.family": plt.rcParams["font.family"], "cached CJK": len(cached)}}))
"""
    env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))}
    run = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True
    )
    return dict(json.loads(run.stdout.splitlines()[-1]))


def test_a_stale_cache_draws_chinese_as_boxes(stale_cache: dict[str, str]) -> None:
    # The control: without the helper, this cache really does hide the CJK fonts.
    drawn = draw_title(stale_cache, use_cjk_font=False)
    assert drawn["cached CJK"] == 0
    assert any("missing from font" in warning for warning in drawn["warnings"]), drawn


def test_with_use_cjk_font_a_stale_cache_draws_chinese(stale_cache: dict[str, str]) -> None:
    drawn = draw_title(stale_cache, use_cjk_font=True)
    found = fonts.find_cjk_font()
    assert found is not None
    assert drawn["family"] == found.family
    assert drawn["font.family"] == ["DejaVu Sans", found.family]
    assert not [w for w in drawn["warnings"] if "missing from font" in w], drawn["warnings"]


def test_fontconfig_names_a_font_that_covers_traditional_chinese() -> None:
    chinese_font_files()
    found = fonts.find_cjk_font()
    assert found is not None and Path(found.file).is_file()
    covers = subprocess.run(
        ["fc-query", "-i", str(found.face), "-f", "%{lang}", found.file],
        capture_output=True,
        text=True,
    ).stdout.split("|")
    assert "zh-tw" in covers


class Answer:
    def __init__(self, stdout: str) -> None:
        self.stdout, self.returncode = stdout, 0


def test_a_font_without_chinese_is_not_taken_for_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # Where no CJK font is installed, fontconfig's best match is some other font: DejaVu Sans.
    dejavu = "DejaVu Sans|/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf|0|de|en|fr|ru"
    monkeypatch.setattr(fonts.shutil, "which", lambda program: "/usr/bin/" + program)
    monkeypatch.setattr(fonts.subprocess, "run", lambda *args, **kwargs: Answer(dejavu))
    assert fonts.find_cjk_font() is None


@pytest.fixture
def rc() -> Iterator[None]:
    """matplotlib's settings and font list as they were, after the test."""
    import matplotlib
    from matplotlib import font_manager

    fonts_before = list(font_manager.fontManager.ttflist)
    with matplotlib.rc_context():
        yield
    font_manager.fontManager.ttflist = fonts_before


def test_without_a_cjk_font_nothing_changes(monkeypatch: pytest.MonkeyPatch, rc: None) -> None:
    import matplotlib
    from matplotlib import font_manager

    monkeypatch.setattr(fonts, "find_cjk_font", lambda: None)
    manager = font_manager.fontManager
    manager.ttflist = [font for font in manager.ttflist if font.name not in fonts.CJK_FAMILIES]
    before = list(matplotlib.rcParams["font.family"])
    assert fonts.use_cjk_font() is None
    assert matplotlib.rcParams["font.family"] == before


def test_without_fontconfig_a_known_family_in_matplotlibs_list_is_used(
    monkeypatch: pytest.MonkeyPatch, rc: None
) -> None:
    import matplotlib
    from matplotlib import font_manager

    monkeypatch.setattr(fonts.shutil, "which", lambda program: None)
    manager = font_manager.fontManager
    others = [font for font in manager.ttflist if font.name not in fonts.CJK_FAMILIES]
    windows = font_manager.FontEntry(fname=others[0].fname, name="Microsoft JhengHei")
    manager.ttflist = [*others, windows]
    assert fonts.use_cjk_font() == "Microsoft JhengHei"
    assert matplotlib.rcParams["font.family"] == ["DejaVu Sans", "Microsoft JhengHei"]


def test_the_font_is_added_from_its_file_once(rc: None) -> None:
    from matplotlib import font_manager

    chinese_font_files()
    found = fonts.find_cjk_font()
    assert found is not None
    manager = font_manager.fontManager
    manager.ttflist = [font for font in manager.ttflist if font.fname != found.file]  # stale
    assert fonts.use_cjk_font() == found.family
    added = [font.name for font in manager.ttflist if font.fname == found.file]
    assert found.family in added
    assert fonts.use_cjk_font() == found.family  # a notebook cell run again
    assert [font.name for font in manager.ttflist if font.fname == found.file] == added


def test_viz_imports_without_matplotlib() -> None:
    program = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "import viz, viz.fonts\n"
        "print(viz.fonts.find_cjk_font() is None or 'found')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def plots(notebook: dict[str, Any]) -> list[dict[str, Any]]:
    """The notebook's outputs that are images drawn by matplotlib."""
    return [
        output
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
        for output in cell["outputs"]
        if "image/png" in output.get("data", {})
    ]


CHINESE_PLOTS = [
    path
    for path in sorted((ROOT / "docs" / "notebooks" / "zh-TW").glob("*.ipynb"))
    if plots(json.loads(path.read_text(encoding="utf-8")))
]
"""The Chinese notebooks that draw plots (their stored copies hold a PNG)."""


@pytest.mark.slow  # a kernel per notebook: about 30 s in all
@pytest.mark.parametrize("path", CHINESE_PLOTS, ids=lambda path: path.stem[:2])
def test_the_chinese_notebooks_draw_their_plots_with_a_stale_cache(
    path: Path, stale_cache: dict[str, str], tmp_path: Path
) -> None:
    nbformat, nbclient = need("nbformat"), need("nbclient")
    need("ipykernel")
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    # A kernel on this interpreter, this checkout first on its path, with the stale cache.
    spec = tmp_path / "python3"
    spec.mkdir()
    env = {
        "MPLCONFIGDIR": stale_cache["MPLCONFIGDIR"],
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    kernel = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (stale font cache)",
        "language": "python",
        "env": env,
    }
    (spec / "kernel.json").write_text(json.dumps(kernel))
    notebook = nbformat.read(path, as_version=4)
    manager = KernelManager(
        kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(tmp_path)])
    )
    nbclient.NotebookClient(
        notebook, km=manager, timeout=300, resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    printed = [
        output.text
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stderr"
    ]
    assert not [text for text in printed if "missing from font" in text], printed
    assert plots(notebook), "no plot was drawn"
