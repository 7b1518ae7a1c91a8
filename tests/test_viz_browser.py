"""viz.animate's page in a real browser: headless Chromium from Debian, driven by selenium.

The browser and its driver are the system's (/usr/bin/chromium, /usr/bin/chromedriver); selenium
is never allowed to download either, and the browser is kept off the network (conftest's
``browser`` fixture). The page's buttons and keys are only tested here, so in CI a missing
browser is a failure, never a skip; on a learner's machine without it these tests are skipped,
saying what to install.
"""

from __future__ import annotations

from pathlib import Path

from examples import need, neuron

import viz

need("selenium")  # the browser's driver: this file is skipped locally without it, never in CI
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402


def caption(driver: WebDriver) -> list[str]:
    """The lines of the caption, as the reader sees them."""
    script = "return [...document.querySelectorAll('#caption p')].map(line => line.innerText);"
    return list(driver.execute_script(script))


def highlighted(driver: WebDriver) -> list[str]:
    """The names in the label cells of the value nodes drawn as current, outlined in orange."""
    script = """
        const names = [];
        for (const node of document.querySelectorAll('g.node.current')) {
            const frame = node.querySelector('polygon[fill="none"]');
            const bold = node.querySelector('text[font-weight="bold"]');
            if (frame && bold && getComputedStyle(frame).stroke === arguments[0]) {
                names.push(bold.textContent);
            }
        }
        return names;
    """
    return list(driver.execute_script(script, "rgb(232, 89, 12)"))  # CURRENT


def grad_of(driver: WebDriver, name: str) -> str:
    """The text of the grad cell of the value node labelled ``name``."""
    script = """
        for (const node of document.querySelectorAll('g.node')) {
            const bold = node.querySelector('text[font-weight="bold"]');
            if (bold && bold.textContent === arguments[0]) {
                return node.querySelector('text[id$="-grad"]').textContent;
            }
        }
    """
    return str(driver.execute_script(script, name))


def faded(driver: WebDriver) -> int:
    """How many nodes are faded (not reached by the gradient yet)."""
    return int(driver.execute_script("return document.querySelectorAll('g.node.faded').length;"))


def test_the_page_steps_forward_with_the_next_button_and_the_right_arrow(
    browser: WebDriver, tmp_path: Path
) -> None:
    page = viz.animate(neuron(), tmp_path / "neuron.html")
    browser.get(page.resolve().as_uri())

    assert caption(browser) == [
        "Forward pass: every value computed from its inputs, up to o = 0.7071.",
        "No gradients yet: backward() starts at the output.",
    ]
    assert highlighted(browser) == [] and faded(browser) == 0
    assert grad_of(browser, "o") == "grad 0.0000"
    assert browser.find_element(By.ID, "position").text == "forward pass"

    browser.find_element(By.ID, "next").click()
    assert caption(browser) == [
        "o = tanh(n), the output: seed o.grad = 1.0",
        "n.grad += (1 - tanh² n) · o.grad = 0.5 · 1.0 = 0.5",
    ]
    assert highlighted(browser) == ["o"]
    assert grad_of(browser, "o") == "grad 1.0000" and grad_of(browser, "n") == "grad 0.5000"
    assert faded(browser) == 8 + 3  # the 8 values not reached, and the operations of 3

    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
    assert caption(browser) == [
        "n = add1 + b: n.grad = 0.5 is complete; pass it on",
        "add1.grad += 1 · n.grad = 1.0 · 0.5 = 0.5",
        "b.grad += 1 · n.grad = 1.0 · 0.5 = 0.5",
    ]
    assert highlighted(browser) == ["n"]
    assert browser.find_element(By.ID, "position").text == "step 2 of 10"
    assert browser.find_element(By.ID, "slider").get_attribute("value") == "2"
    assert grad_of(browser, "b") == "grad 0.5000"

    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)
    assert highlighted(browser) == ["o"]
    assert grad_of(browser, "b") == "grad 0.0000"  # stepping back takes the gradient away

    screenshot = tmp_path / "neuron_page.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes().startswith(b"\x89PNG")


def test_the_slider_jumps_to_any_frame_with_every_gradient_so_far(
    browser: WebDriver, tmp_path: Path
) -> None:
    page = viz.animate(neuron(), tmp_path / "neuron.html")
    browser.get(page.resolve().as_uri())
    slider = browser.find_element(By.ID, "slider")
    browser.execute_script(
        "arguments[0].value = 10; arguments[0].dispatchEvent(new Event('input'));", slider
    )
    assert highlighted(browser) == ["x1"] and faded(browser) == 0
    assert [grad_of(browser, name) for name in ("x1", "w1", "x2", "w2", "b")] == [
        "grad -1.5000", "grad 1.0000", "grad 0.5000", "grad 0.0000", "grad 0.5000",
    ]  # fmt: skip
    browser.execute_script(
        "arguments[0].value = 1; arguments[0].dispatchEvent(new Event('input'));", slider
    )
    assert grad_of(browser, "x1") == "grad 0.0000" and highlighted(browser) == ["o"]


# --- players inside a notebook ------------------------------------------------------------------


def position(driver: WebDriver, frame: WebElement) -> str:
    """The position line of the player in ``frame``, read from inside its own document."""
    driver.switch_to.frame(frame)
    try:
        return str(driver.find_element(By.ID, "position").text)
    finally:
        driver.switch_to.default_content()


def test_two_players_on_one_page_step_on_their_own_and_leave_typing_alone(
    browser: WebDriver, tmp_path: Path
) -> None:
    """As in a notebook: two animations inline (each its own document) and a cell being typed."""
    first, second = viz.animate(neuron()), viz.animate(neuron() * 2)
    page = tmp_path / "notebook.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
        f"{first._repr_html_()}<textarea id='cell'></textarea>{second._repr_html_()}"
        "</body></html>",
        encoding="utf-8",
    )
    browser.get(page.resolve().as_uri())
    one, two = browser.find_elements(By.TAG_NAME, "iframe")
    assert position(browser, one) == position(browser, two) == "forward pass"

    browser.switch_to.frame(one)  # the first player's Next button, twice
    browser.find_element(By.ID, "next").click()
    browser.find_element(By.ID, "next").click()
    browser.switch_to.default_content()
    assert position(browser, one) == "step 2 of 10"
    assert position(browser, two) == "forward pass"

    browser.switch_to.frame(two)  # the second player, by its keys, once it has the focus
    browser.find_element(By.ID, "next").click()
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    browser.switch_to.default_content()
    assert position(browser, two) == "step 3 of 12"
    assert position(browser, one) == "step 2 of 10"

    cell = browser.find_element(By.ID, "cell")
    cell.click()
    cell.send_keys("x = 1 + 2", Keys.ARROW_LEFT, Keys.ARROW_RIGHT, " ")
    assert cell.get_attribute("value") == "x = 1 + 2 "  # every space typed, no player's key
    assert position(browser, one) == "step 2 of 10"
    assert position(browser, two) == "step 3 of 12"
