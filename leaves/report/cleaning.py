"""The data-cleaning page: near-duplicate pairs and likely mislabels as thumbnails a person can look through.

One self-contained HTML file (thumbnails embedded as base64 JPEG, so the page
can be mailed or archived alone); every value taken from data is escaped. The
CSVs beside it hold every row; the page shows the first ones of each list.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from leaves.report.figures import thumbnail
from leaves.report.html import STYLE

EXTRA_STYLE = """
.pair{display:flex;gap:6px;align-items:flex-start;margin:0 18px 18px 0}.pairs{display:flex;flex-wrap:wrap}
.pair figure{margin:0;width:136px;font-size:12px}.pair img,.gallery img{border-color:#999}
.conflict img{border-color:#c33}.meta{font-size:12px;color:#555;align-self:center;width:70px}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _image(root: Path, image: str, caption: str) -> str:
    data = thumbnail(root / image, format="JPEG")
    return (
        f'<figure><img alt="{_e(image)}" src="data:image/jpeg;base64,{data}">'
        f"<figcaption>{caption}<br><small>{_e(image)}</small></figcaption></figure>"
    )


def _label(value: Any) -> str:
    return f"<b>{_e(value)}</b>" if isinstance(value, str) and value else "<i>test (no label)</i>"


def _pairs_html(root: Path, pairs: pd.DataFrame, shown: int, what: str) -> str:
    if pairs.empty:
        return f"<p>No {what}.</p>"
    blocks = []
    for row in pairs.head(shown).itertuples(index=False):
        css = "pair conflict" if row.conflict else "pair"
        blocks.append(
            f'<div class="{css}">{_image(root, row.image_a, _label(row.label_a))}'
            f'<div class="meta">{int(row.bits)} bits<br>diff {row.difference:.3f}<br>'
            f"local {row.local_difference:.2f}</div>"
            f"{_image(root, row.image_b, _label(row.label_b))}</div>"
        )
    more = f" (the first {shown} shown)" if len(pairs) > shown else ""
    return f"<p>{len(pairs)} {what}{more}.</p>" + f'<div class="pairs">{"".join(blocks)}</div>'


def _suspects_html(root: Path, suspects: Optional[pd.DataFrame], shown: int) -> str:
    if suspects is None:
        return "<p>No out-of-fold probabilities given (leaves kfold writes them; pass --oof).</p>"
    figures = [
        _image(
            root,
            row.image,
            f'<span class="t">label: {_e(row.label)}</span> ({row.label_prob:.0%})<br>'
            f'<span class="p">models: {_e(row.suggested)}</span> ({row.suggested_prob:.0%})',
        )
        for row in suspects.head(shown).itertuples(index=False)
    ]
    note = (
        f"<p>The {len(figures)} training images whose own label got the lowest out-of-fold probability "
        "(from models that never trained on them), with the label the models prefer.</p>"
    )
    return note + f'<div class="gallery">{"".join(figures)}</div>'


def render_cleaning(
    root: Path,
    pairs: pd.DataFrame,
    suspects: Optional[pd.DataFrame],
    summary: Sequence[tuple[str, str]],
    shown: int = 100,
) -> str:
    """The whole page: conflicting labels first, then every kind of near-duplicate, then the suspects."""
    conflicts = pairs[pairs["conflict"]]
    facts = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in summary)
    sections = [
        ("summary", "Summary", f"<table>{facts}</table>"),
        ("conflicts", "Duplicates with different labels", _pairs_html(root, conflicts, shown, "conflicting pairs")),
    ]
    for kind in ("train-train", "train-test", "test-test"):
        part = pairs[(pairs["kind"] == kind) & ~pairs["conflict"]]
        sections.append((kind, f"Near-duplicates, {kind}", _pairs_html(root, part, shown, f"{kind} pairs")))
    sections.append(("suspects", "Likely mislabelled training images", _suspects_html(root, suspects, shown)))
    body = "".join(f'<section id="{sid}"><h2>{_e(title)}</h2>{content}</section>' for sid, title, content in sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Data cleaning</title>'
        f"<style>{STYLE}{EXTRA_STYLE}</style></head><body><h1>Data cleaning: {_e(root)}</h1>"
        f'<p class="sub">generated {_e(datetime.now().strftime("%Y-%m-%d %H:%M"))}</p>{body}</body></html>'
    )
