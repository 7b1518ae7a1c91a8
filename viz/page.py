"""What the two player pages share: the house style of a self-contained page with controls.

The backward-pass animation (:mod:`viz.animate`) and the training explorer (:mod:`viz.explore`)
are both one HTML file that plays frames with a Play button, a slider and keys; this is their
common look, so the two read as one tool.
"""

from __future__ import annotations

__all__ = ["PLAYER_STYLE", "with_player_style"]

PLAYER_STYLE = """\
  :root { --ink: #2f3e4e; --soft: #6b7785; --accent: #e8590c; --line: #dde3ea; }
  * { box-sizing: border-box; }
  body { margin: 0; background: #f5f7fa; color: var(--ink);
         font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
  button { font: inherit; border: 1px solid var(--line); background: #fff; color: var(--ink);
           border-radius: 8px; padding: 6px 12px; cursor: pointer; min-width: 44px; }
  button:hover { border-color: var(--accent); }
  button#play { background: var(--ink); color: #fff; border-color: var(--ink); min-width: 84px; }
  input[type=range] { flex: 1; min-width: 160px; accent-color: var(--accent); }
  .keys { color: var(--soft); font-size: 13px; margin-top: 10px; }
  kbd { border: 1px solid var(--line); border-radius: 4px; padding: 0 5px; background: #fff; }
"""
"""The CSS rules both pages use: colours, the body's font, buttons, the slider, the key hints."""


def with_player_style(page: str) -> str:
    """``page`` with its ``{player_style}`` placeholder replaced by :data:`PLAYER_STYLE`."""
    return page.replace("  {player_style}\n", PLAYER_STYLE)
