"""What the two player pages share: their files, and how a page is put together from them.

The backward-pass animation (:mod:`viz.animate`) and the training explorer (:mod:`viz.explore`)
are each one self-contained HTML file that plays frames with a Play button, a slider and keys.
Their markup, style and script are files of their own in ``viz/assets/`` (package data, so the
wheel carries them), where an editor, a linter and a reader see HTML, CSS and JavaScript rather
than Python strings:

* ``player.css``: the look both pages share (colours, buttons, the slider, the key hints), so
  the two read as one tool;
* ``animation.html`` with ``animation.css`` and ``animation.js``, and
  ``animation_heading.html`` (the title, left out in a notebook): the animation's page;
* ``explorer.html`` with ``explorer.css`` and ``explorer.js``: the explorer's page.

A page's ``.html`` file is its skeleton. A line that is only ``{player.css}`` (any ``.css`` or
``.js`` file of the folder) is replaced by that file, at the line's indentation: the page stays
one file that needs no network. Every other ``{name}`` is a place the Python side fills for each
page (the diagram, the frames' data, a title) with :func:`fill`.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from functools import cache
from importlib import resources

__all__ = ["asset", "template", "fill", "writable"]

_INCLUDE = re.compile(r"^( *)\{([\w-]+\.(?:css|js))\}\n", re.M)
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
"""A lone surrogate: what ``os.fsdecode`` makes of a byte that is not UTF-8 (0xff is U+DCFF)."""


@cache
def asset(name: str) -> str:
    """The text of the file ``viz/assets/<name>``."""
    return (resources.files("viz") / "assets" / name).read_text(encoding="utf-8")


@cache
def template(name: str) -> str:
    """The page skeleton ``viz/assets/<name>`` with the style sheets and scripts it names put
    in: a line ``{player.css}`` becomes the text of ``player.css``, indented as the line was."""
    return _INCLUDE.sub(lambda match: textwrap.indent(asset(match[2]), match[1]), asset(name))


def fill(page: str, values: Mapping[str, str]) -> str:
    """``page`` with each ``{key}`` of ``values`` replaced by its value, all in one pass, so
    that nothing put in (a label in the diagram, a title) is read as a place to fill."""
    places = "|".join(re.escape(key) for key in values)
    return re.sub(rf"\{{({places})\}}", lambda match: values[match[1]], page)


def writable(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD, the replacement character.

    A lone surrogate is what ``os.fsdecode`` makes of a byte of a file name that is not UTF-8
    (0xff becomes U+DCFF), so a label can hold one; UTF-8 cannot encode it, and a page (or a
    picture's text) shows the character every reader knows for "a byte that was not text".
    """
    return LONE_SURROGATE.sub("\ufffd", text)
