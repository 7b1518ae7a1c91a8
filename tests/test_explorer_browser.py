"""The training explorer's page in a real browser (headless Chromium, driven by selenium).

The page of the explorer demo's own run (its quick size) is played, paused, stepped, and
another point is picked; each time, the numbers the graph shows are compared with the engine's:
that point's loss rebuilt by the interpreter from the parameters saved at that step, after
``backward()``, and drawn by ``viz.draw``. The browser comes from the system, as in
test_viz_browser.py (conftest's ``browser`` fixture starts it).
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from examples import SVG, drawn_numbers, inflate, need, payload

import viz
from tinygrad_edu import Value
from tinygrad_edu.functional import cross_entropy

need("selenium")  # the browser's driver: this file is skipped locally without it, never in CI
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # demos is run from the repository, not installed
    sys.path.insert(0, str(ROOT))

from demos.explorer import Run, default_run  # noqa: E402


@pytest.fixture(scope="module")
def run() -> Run:
    return default_run(quick=True)


@pytest.fixture(scope="module")
def page(run: Run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    X, y = run.sets["train"]
    return viz.explore(
        run.model,
        run.snapshots,
        X,
        y,
        tmp_path_factory.mktemp("explorer") / "explorer.html",
        steps=run.steps,
        validation=run.sets["validation"],
        test=run.sets["test"],
        grid=16,
    )


def engine_graph(run: Run, point: int, snapshot: int) -> Value:
    """The loss of one training point, built by the interpreter from the parameters saved at
    that snapshot, after backward()."""
    X, y = run.sets["train"]
    run.model.load_state_dict(run.snapshots[snapshot])
    a, b = X[point].tolist()
    loss = cross_entropy(run.model([Value(a, label="x0"), Value(b, label="x1")]), int(y[point]))
    run.model.zero_grad()
    loss.backward()
    return loss


def engine_svg(run: Run, point: int, snapshot: int) -> str:
    graph = viz.draw(engine_graph(run, point, snapshot), collapse=True, rankdir="TB")
    return str(graph.pipe(format="svg", encoding="utf-8"))


def open_page(driver: WebDriver, page: Path) -> None:
    driver.get(page.resolve().as_uri())
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.body.dataset.ready") == "1"
    )


def where(driver: WebDriver) -> tuple[int, int]:
    """(point, snapshot) the graph shows, as the caption says."""
    caption = driver.find_element(By.ID, "caption")
    return int(caption.get_attribute("data-point") or -1), int(
        caption.get_attribute("data-step") or -1
    )


def shown(driver: WebDriver) -> list[dict[str, Any]]:
    """Each number cell of the visible drawing, in order: its text and colours."""
    script = """
        const drawing = document.querySelector('.drawing:not([hidden])');
        const cells = [];
        drawing.querySelectorAll('[data-slot]').forEach((text) => {
            const fill = drawing.querySelector('[data-fill="' + text.dataset.slot + '"]');
            cells[Number(text.dataset.slot)] = {
                text: text.textContent, ink: text.getAttribute('fill'),
                fill: fill ? fill.getAttribute('fill') : null,
            };
        });
        return cells;
    """
    return list(driver.execute_script(script))


def engine_cells(svg: str) -> list[dict[str, Any]]:
    """The number cells of viz.draw's drawing, in document order: text, ink and (for a grad
    cell) the background drawn just before the text."""
    cells = []
    for parent in ET.fromstring(svg).iter():
        previous = None
        for child in parent:
            text = child.text or ""
            number = child.tag == f"{SVG}text" and re.match(r"^(data|grad) ", text)
            if number and child.get("font-weight") != "bold":  # (a label cell is bold)
                background = previous if previous is not None else child
                grad = text.startswith("grad") and background.tag == f"{SVG}polygon"
                fill = background.get("fill") if grad else None
                cells.append({"text": text, "ink": child.get("fill"), "fill": fill})
            previous = child
    return cells


def channels(colour: str) -> list[int]:
    return [int(colour[k : k + 2], 16) for k in (1, 3, 5)]


def assert_engine_numbers(driver: WebDriver, run: Run, point: int, snapshot: int) -> None:
    """The graph on the page is point's at snapshot: every number as viz.draw prints the
    engine's, every grad cell in viz's colours (to a shade: the page looks them up in a table
    of 256 levels)."""
    assert where(driver) == (point, snapshot)
    svg = engine_svg(run, point, snapshot)
    page_cells, expected = shown(driver), engine_cells(svg)
    assert [c["text"] for c in page_cells] == [c["text"] for c in expected]
    assert [c["text"].split(" ", 1)[1] for c in expected] == drawn_numbers(svg)
    for cell, want in zip(page_cells, expected):
        if want["fill"] is not None:
            got, wanted = channels(cell["fill"]), channels(want["fill"])
            assert max(abs(a - b) for a, b in zip(got, wanted)) <= 2, (cell, want)
            assert cell["ink"] == want["ink"]


def test_playing_stepping_and_picking_a_point_show_that_points_graph_at_that_step(
    browser: WebDriver,
    page: Path,
    run: Run,
) -> None:
    open_page(browser, page)
    data = payload(page)
    first = data["point"]
    assert_engine_numbers(browser, run, first, 0)
    assert browser.find_element(By.ID, "position").text == "step 0 (snapshot 1 of 5)"

    play = browser.find_element(By.ID, "play")
    play.click()
    assert play.text == "Pause"
    WebDriverWait(browser, 20).until(lambda d: where(d)[1] >= 2)
    play.click()  # pause
    assert play.text == "Play"
    _, paused = where(browser)
    assert_engine_numbers(browser, run, first, paused)

    browser.find_element(By.ID, "previous").click()
    assert_engine_numbers(browser, run, first, paused - 1)
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
    assert_engine_numbers(browser, run, first, paused)

    # Another point, one whose graph has another shape at this step if there is one.
    shapes = inflate(data["layoutAt"], "<u2").reshape(len(run.steps), data["points"])[paused]
    others = [i for i in range(data["points"]) if shapes[i] != shapes[first]]
    other = others[0] if others else (first + 1) % data["points"]
    browser.find_element(By.CSS_SELECTOR, f'circle.point[data-point="{other}"]').click()
    assert_engine_numbers(browser, run, other, paused)
    chosen = browser.find_element(By.ID, "chosen")
    circle = browser.find_element(By.CSS_SELECTOR, f'circle.point[data-point="{other}"]')
    assert chosen.get_attribute("cx") == circle.get_attribute("cx")

    slider = browser.find_element(By.ID, "slider")
    browser.execute_script(
        "arguments[0].value = 4; arguments[0].dispatchEvent(new Event('input'))", slider
    )
    assert_engine_numbers(browser, run, other, 4)
    loss = engine_graph(run, other, 4).data
    assert (
        f"its loss at step {run.steps[4]} is {loss:.4f}"
        in browser.find_element(By.ID, "caption").text
    )


def test_the_scores_table_and_the_marker_follow_the_step(
    browser: WebDriver,
    page: Path,
) -> None:
    open_page(browser, page)
    data = payload(page)
    body = browser.find_element(By.TAG_NAME, "body")
    for snapshot in range(3):
        rows = browser.find_elements(By.CSS_SELECTOR, "#scores tr[data-set]")
        table = {r.get_attribute("data-set"): r.text.split() for r in rows}
        assert set(table) == {"train", "validation", "test"}
        for name, (_, loss, accuracy) in table.items():
            assert loss == f"{data['losses'][name][snapshot]:.4f}"
            assert accuracy == f"{100 * data['accuracies'][name][snapshot]:.1f}%"
        marker = browser.find_element(By.ID, "marker")
        assert float(marker.get_attribute("x1") or "nan") == data["markerX"][snapshot]
        body.send_keys(Keys.ARROW_RIGHT)
    width = "return document.querySelector('.drawing:not([hidden]) svg').clientWidth"
    fitted = browser.execute_script(width)
    browser.find_element(By.ID, "zoom").click()  # the drawing at its own size, to scroll
    assert browser.execute_script(width) > fitted
    browser.find_element(By.ID, "zoom").click()
    assert browser.execute_script(width) == fitted
    hollow = browser.find_elements(By.CSS_SELECTOR, "circle.point.wrong")
    assert len(hollow) == round((1 - data["accuracies"]["train"][3]) * data["points"])
    screenshot = page.parent / "explorer.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes().startswith(b"\x89PNG")
