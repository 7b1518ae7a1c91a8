"""The backward pass as a GIF: the diagram drawn once by Graphviz, each frame painted by Pillow.

``dot`` draws the diagram once as a picture, and once as SVG to say where each node and grad
cell is (:mod:`viz.svg`). Each frame of :mod:`viz.frames` is then only its changes painted onto
that one picture: its grad cells refilled and rewritten, the nodes the gradient has not reached
yet faded, the current node outlined, and its caption in a band above. The text of the captions
is drawn in a font that has every character of the graph's labels (Noto CJK for 蘋果).

Pillow is needed only here (the ``gif`` extra); the page needs nothing more than the standard
library and Graphviz.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .fonts import match_font
from .frames import Frame, shown
from .svg import NODE, NUMBER, VIEWBOX

__all__ = [
    "Movie",
    "paint_gif",
    "caption_fonts",
    "shorten",
    "CURRENT",
    "CJK_FONTS",
    "GIF_DPI",
    "GIF_MAX_SIZE",
    "GIF_MILLISECONDS",
]

CURRENT = "#e8590c"
"""The outline of the node being processed and of the edges that carry its gradient (the page's
``--accent`` colour)."""


class Movie(Protocol):
    """What a GIF is painted from: one graph's frames, its diagram, and each frame's changes to it
    (:mod:`viz.animate` makes one per graph).

    ``changes[k]`` are the grad cells frame k sets, each ``[id, text, fill, ink]``; ``current[k]``
    the ids drawn as current in frame k; ``reach[id]`` the first frame in which the gradient has
    reached that node, operation or edge. ``svg`` is the diagram as SVG with its grad cells
    tagged (:func:`viz.svg.tag_cells`), ``png(dpi)`` the same diagram as a picture.
    """

    frames: list[Frame]
    changes: list[list[list[str]]]
    current: list[list[str]]
    reach: dict[str, int]

    @property
    def svg(self) -> str: ...

    def png(self, dpi: float) -> bytes: ...


GIF_DPI = 96
"""Resolution of the GIF's diagram: readable text, a file of a few hundred kB for a neuron."""

GIF_MAX_SIZE = (1600, 1000)
"""The largest diagram in a GIF, in pixels: a wider graph (an MLP drawn left to right) is drawn
at a lower resolution by ``dot`` itself, so its text stays sharp and the file small enough to
share."""

GIF_MILLISECONDS = (2500, 1800, 4000)
"""How long the GIF shows the forward frame, each backward step, and the last frame."""

_FONT_SIZE = 17
_MARGIN = 16
_LINE = 24
_PROGRESS = 110  # room for "step 12 of 40" on the caption's first line
_FADE = 0.72  # how far a node not reached yet is blended into the white background
# The caption band is no wider or taller than the largest diagram: a GIF is at most 65,535
# pixels each way, and a longer caption (a label of 3,000 characters or lines) is cut.
_CAPTION_WIDTH = GIF_MAX_SIZE[0] - 2 * _MARGIN - _PROGRESS
_CAPTION_LINES = (GIF_MAX_SIZE[1] - 2 * _MARGIN) // _LINE

_TRANSLATE = re.compile(rf"translate\({NUMBER} {NUMBER}\)")
_POINTS = re.compile(r'points="([^"]*)"')
_ELLIPSE = re.compile(rf'<ellipse[^>]* cx="{NUMBER}" cy="{NUMBER}" rx="{NUMBER}" ry="{NUMBER}"')
# A grad cell's fill and text, by the ids tag_cells gave them.
_CELL = re.compile(r'<polygon id="([^"]+)-bg" fill="[^"]*" stroke="transparent" points="([^"]*)"')
_CELL_TEXT = re.compile(rf'<text id="([^"]+)" text-anchor="middle" x="{NUMBER}" y="{NUMBER}"'
                        rf'[^>]*font-size="{NUMBER}"')  # fmt: skip

Box = tuple[float, float, float, float]


def _bounds(xs: Sequence[float], ys: Sequence[float]) -> Box:
    return min(xs), min(ys), max(xs), max(ys)


@dataclass(frozen=True)
class _Geometry:
    """Where Graphviz put things, in the SVG's points: each node's bounds (by id), each grad
    cell's bounds with the baseline and size of its text, and the picture's size."""

    width: float
    height: float
    origin: tuple[float, float]  # the translation of the SVG's drawing
    nodes: dict[str, Box]
    ellipses: set[str]
    cells: dict[str, Box]
    texts: dict[str, tuple[float, float, float]]  # x (centre), baseline, font size

    @classmethod
    def of(cls, svg: str) -> _Geometry:
        box = VIEWBOX.search(svg)
        moved = _TRANSLATE.search(svg)
        if box is None or moved is None:
            raise ValueError("Graphviz's SVG has no viewBox or translation")
        nodes: dict[str, Box] = {}
        ellipses = set()
        for match in NODE.finditer(svg):
            xs: list[float] = []
            ys: list[float] = []
            for points in _POINTS.findall(match[2]):
                for point in points.split():
                    x, y = point.split(",")
                    xs.append(float(x))
                    ys.append(float(y))
            for cx, cy, rx, ry in _ELLIPSE.findall(match[2]):
                ellipses.add(match[1])
                xs += [float(cx) - float(rx), float(cx) + float(rx)]
                ys += [float(cy) - float(ry), float(cy) + float(ry)]
            if xs:
                nodes[match[1]] = _bounds(xs, ys)
        cells = {}
        for name, points in _CELL.findall(svg):
            corners = [point.split(",") for point in points.split()]
            cells[name] = _bounds([float(x) for x, _ in corners], [float(y) for _, y in corners])
        texts = {
            name: (float(x), float(y), float(size)) for name, x, y, size in _CELL_TEXT.findall(svg)
        }
        origin = (float(moved[1]), float(moved[2]))
        return cls(float(box[3]), float(box[4]), origin, nodes, ellipses, cells, texts)


def _font(size: float, *files: str) -> Any:
    """The first of ``files`` (a path, or a TrueType name looked up in the system's font
    folders) that Pillow can load, else Pillow's own scalable font (Pillow >= 10.1)."""
    from PIL import ImageFont

    for name in files:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


CJK_FONTS = (
    ("Noto Sans CJK TC:bold", "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 3),
    ("Noto Sans Mono CJK TC", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 8),
)
"""The fonts for captions with Chinese, Japanese or Korean text (titles, then steps): Noto CJK
(Debian's fonts-noto-cjk), found by fontconfig, else at Debian's path, in its Traditional
Chinese face."""


def _cjk_font(size: float, pattern: str, path: str, face: int) -> Any:
    """The Noto CJK font ``pattern`` names, or None when it is not installed."""
    from PIL import ImageFont

    found = match_font(pattern)
    places = [(found.file, found.face)] if found and "CJK" in found.family else []
    places.append((path, face))
    for file, index in places:
        try:
            return ImageFont.truetype(file, size, index=index)
        except OSError:
            continue
    return None


def _is_cjk(text: str) -> bool:
    """Whether ``text`` has a character from the CJK blocks (Chinese, Japanese, Korean and
    their punctuation), which the captions' usual fonts lack."""
    return any(
        0x2E80 <= ord(ch) <= 0x9FFF or 0xAC00 <= ord(ch) <= 0xD7AF or 0xF900 <= ord(ch) <= 0xFFEF
        or 0x20000 <= ord(ch) <= 0x3FFFF
        for ch in text
    )  # fmt: skip


def caption_fonts(texts: Sequence[str]) -> tuple[Any, Any]:
    """The Pillow fonts (titles, steps) for GIF captions with these texts: DejaVu Sans Bold and
    DejaVu Sans Mono, or, when a text has CJK characters (a label such as 蘋果), Noto Sans CJK
    Bold and Noto Sans Mono CJK if installed, so that they are drawn rather than boxes."""
    if any(_is_cjk(text) for text in texts):
        (title, title_file, title_face), (step, step_file, step_face) = CJK_FONTS
        fonts = (
            _cjk_font(_FONT_SIZE, title, title_file, title_face),
            _cjk_font(_FONT_SIZE - 1, step, step_file, step_face),
        )
        if fonts[0] is not None and fonts[1] is not None:
            return fonts
    return (
        _font(_FONT_SIZE, "DejaVuSans-Bold.ttf", "DejaVuSans.ttf"),
        _font(_FONT_SIZE - 1, "DejaVuSansMono.ttf", "DejaVuSans.ttf"),
    )


def paint_gif(movie: Movie) -> bytes:
    """The frames as one looping GIF: the diagram drawn once by ``dot``, each frame's changes
    painted onto it by Pillow (cells refilled, nodes not reached faded, the current node
    outlined), its caption above it."""
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        raise ImportError(
            "writing a .gif needs Pillow: pip install 'tinygrad-edu[gif]' "
            "(or write a self-contained .html page, which needs nothing more)"
        ) from None
    where = _Geometry.of(movie.svg)
    dpi = min(GIF_DPI, GIF_MAX_SIZE[0] * 72 / where.width, GIF_MAX_SIZE[1] * 72 / where.height)
    drawn = Image.open(io.BytesIO(movie.png(dpi))).convert("RGB")
    scale = drawn.width / where.width  # pixels per point

    def pixels(box: Box, grow: float = 0.0) -> tuple[int, int, int, int]:
        """A box in the picture's pixels, grown by ``grow`` on every side (a negative ``grow``
        keeps inside it: a cell is refilled without touching its node's frame). A box drawn
        smaller than the grow (a diagram scaled down to fit) is kept at least one pixel."""
        x0, y0, x1, y1 = box
        dx, dy = where.origin
        left, top = round((x0 + dx) * scale - grow), round((y0 + dy) * scale - grow)
        right, bottom = round((x1 + dx) * scale + grow), round((y1 + dy) * scale + grow)
        return left, top, max(left, right), max(top, bottom)

    faded = Image.blend(drawn, Image.new("RGB", drawn.size, "#ffffff"), _FADE)
    helvetica = match_font("Helvetica")  # the font Graphviz draws with
    number_size = max(1.0, 12 * scale)  # Graphviz's 12 points; a font is at least 1 pixel
    number_font = _font(number_size, helvetica.file if helvetica else "", "DejaVuSans.ttf")
    caption = _Captions(movie.frames)
    width = max(drawn.width, caption.width)
    canvas = drawn.copy()
    paint = ImageDraw.Draw(canvas)

    def restore(source: Any, node: str) -> None:
        if node in where.nodes:
            box = pixels(where.nodes[node], 2)
            canvas.paste(source.crop(box), box[:2])

    reached_at: dict[int, list[str]] = {}
    for node, k in movie.reach.items():
        if not node.startswith("e"):
            reached_at.setdefault(k, []).append(node)

    def pictures() -> Any:
        for k in range(len(movie.frames)):
            if k == 1:
                for node, first in movie.reach.items():
                    if first > 1 and not node.startswith("e"):
                        restore(faded, node)
            for node in reached_at.get(k, ()) if k else ():
                restore(drawn, node)
            for cell, text, fill, ink in movie.changes[k]:
                if cell in where.cells and cell in where.texts:
                    paint.rectangle(pixels(where.cells[cell], -1), fill=fill)
                    x, baseline, _ = where.texts[cell]
                    dx, dy = where.origin
                    spot = ((x + dx) * scale, (baseline + dy) * scale)
                    paint.text(spot, text, font=number_font, fill=ink, anchor="ms")
            picture = Image.new("RGB", (width, caption.height + drawn.height), "#ffffff")
            picture.paste(canvas, ((width - drawn.width) // 2, caption.height))
            outline = ImageDraw.Draw(picture)
            for node in movie.current[k]:
                if node in where.nodes:
                    x0, y0, x1, y1 = pixels(where.nodes[node], 3)
                    left = (width - drawn.width) // 2
                    box = (x0 + left, y0 + caption.height, x1 + left, y1 + caption.height)
                    if node in where.ellipses:
                        outline.ellipse(box, outline=CURRENT, width=3)
                    else:
                        outline.rounded_rectangle(box, radius=4, outline=CURRENT, width=3)
            caption.draw(outline, k, width)
            yield picture.quantize(colors=128, dither=Image.Dither.NONE)

    first, then, last = GIF_MILLISECONDS
    count = len(movie.frames)
    durations = ([first] + [then] * (count - 2) + [last])[:count]
    frames = pictures()
    out = io.BytesIO()
    next(frames).save(
        out,
        format="GIF",
        save_all=True,
        append_images=frames,
        duration=durations,
        loop=0,
        optimize=True,
    )
    return out.getvalue()


class _Captions:
    """The band above each GIF frame: the caption's lines (a line break in a label starts a new
    line) and how far the walk has come. A line too wide for the largest diagram is cut with an
    ellipsis, and a caption of more lines than fit beside it ends with how many were left out
    (the page shows them all)."""

    def __init__(self, frames: Sequence[Frame]) -> None:
        from PIL import Image, ImageDraw

        self.title_font, self.step_font = caption_fonts([t for f in frames for t in f.caption])
        self.count = len(frames)
        self.lines = [self._fit(frame) for frame in frames]  # per frame: (text, font)
        measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
        widest = max(
            measure.textlength(line, font=font) for lines in self.lines for line, font in lines
        )
        self.width = int(widest) + 2 * _MARGIN + _PROGRESS
        self.height = _MARGIN + _LINE * max(len(lines) for lines in self.lines) + _MARGIN

    def _fit(self, frame: Frame) -> list[tuple[str, Any]]:
        """Each line to draw with its font (the title's, then the steps'), cut to fit."""
        lines = [
            (line, self.title_font if i == 0 else self.step_font)
            for i, text in enumerate(frame.caption)
            for line in shown(text).split("\n")
        ]
        if len(lines) > _CAPTION_LINES:
            more = len(lines) - _CAPTION_LINES + 1
            lines = [*lines[: _CAPTION_LINES - 1], (f"… {more:,} more lines", self.step_font)]
        return [(shorten(line, font, _CAPTION_WIDTH), font) for line, font in lines]

    def draw(self, draw: Any, k: int, width: int) -> None:
        draw.rectangle((0, 0, width, self.height - 1), fill="#f5f7fa")
        draw.rectangle((0, 0, 5, self.height - 1), fill=CURRENT)
        progress = "forward pass" if k == 0 else f"step {k} of {self.count - 1}"
        spot = (width - _MARGIN, _MARGIN)
        draw.text(spot, progress, font=self.step_font, fill="#6b7785", anchor="ra")
        for i, (line, font) in enumerate(self.lines[k]):
            ink = "#2f3e4e" if font is self.title_font else "#333333"
            draw.text((_MARGIN + 6, _MARGIN + i * _LINE), line, font=font, fill=ink)
        draw.line((0, self.height - 1, width, self.height - 1), fill="#dde3ea")


def shorten(text: str, font: Any, width: float) -> str:
    """``text`` as it fits in ``width`` pixels in ``font``: itself if it fits, else its longest
    beginning that fits with an ellipsis after it ("…")."""
    if font.getlength(text) <= width:
        return text
    fits, too_long = 0, len(text)  # the longest beginning that fits is at least fits long
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        if font.getlength(text[:middle] + "…") <= width:
            fits = middle
        else:
            too_long = middle
    return text[:fits] + "…"
