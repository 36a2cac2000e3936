"""The report page: HTML and CSS around the tables and figures; every value taken from data is escaped."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any, Optional

import pandas as pd
from torchmetrics.classification import MulticlassConfusionMatrix

from leaves.report.evaluate import Evaluation
from leaves.report.figures import curves_figure, matrix_figure, thumbnail
from leaves.report.tables import confused_pairs, matrix_classes, per_class_table

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1200px;margin:24px auto;padding:0 16px;
color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:0}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:36px}
.sub{color:#666;margin-top:4px}table{border-collapse:collapse;font-size:14px}
th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}td.num,th.num{text-align:right}
th{background:#f4f4f4}.bar{display:inline-block;height:10px;background:#4a7fb5;vertical-align:middle}
.gallery{display:flex;flex-wrap:wrap;gap:10px}.gallery figure{margin:0;width:136px;font-size:12px}
.gallery img{width:128px;height:128px;object-fit:contain;background:#eee;border:2px solid #c33}
.gallery .p{color:#c33}.gallery .t{color:#2a7a2a}pre{background:#f6f6f6;padding:10px;overflow:auto;font-size:12px}
img.fig{max-width:100%}details summary{cursor:pointer;color:#245;margin:8px 0}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(frame: pd.DataFrame, formats: dict[str, str]) -> str:
    head = "".join(
        f'<th class="{"num" if pd.api.types.is_numeric_dtype(frame[c]) else ""}">{_e(c)}</th>' for c in frame.columns
    )
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record):
            if column in formats:
                cells.append(f'<td class="num">{formats[column].format(value)}</td>')
            elif isinstance(value, (int, float)):
                cells.append(f'<td class="num">{_e(value)}</td>')
            else:
                cells.append(f"<td>{_e(value)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _figure(data: Optional[str], alt: str) -> str:
    if data is None:
        return "<p>Nothing to show.</p>"
    return f'<img class="fig" alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _per_class_html(table: pd.DataFrame, shown: int = 25) -> str:
    def render(part: pd.DataFrame) -> str:
        part = part.copy()
        part["accuracy"] = [
            f'<span class="bar" style="width:{round(a * 100)}px"></span> {a:.0%}' for a in part["accuracy"]
        ]
        return _table(part, {"accuracy": "{}"})

    out = render(table.head(shown))
    if len(table) > shown:
        out += f"<details><summary>all {len(table)} classes</summary>{render(table.iloc[shown:])}</details>"
    return out


def _gallery_html(evaluation: Evaluation, limit: int) -> str:
    preds = evaluation.preds
    wrong = (preds != evaluation.targets).nonzero().flatten()
    if not len(wrong):
        return "<p>No validation image is misclassified.</p>"
    confidence = evaluation.probs[wrong, preds[wrong]]
    order = wrong[confidence.argsort(descending=True)][:limit]
    names = evaluation.class_names
    figures = []
    for i in order.tolist():
        t, p = int(evaluation.targets[i]), int(preds[i])
        image = evaluation.images[i]
        figures.append(
            f'<figure><img alt="{_e(image)}" src="data:image/png;base64,{thumbnail(evaluation.root / image)}">'
            f'<figcaption><span class="t">true: {_e(names[t])}</span> ({evaluation.probs[i, t]:.0%})<br>'
            f'<span class="p">predicted: {_e(names[p])}</span> ({evaluation.probs[i, p]:.0%})<br>'
            f"<small>{_e(image)}</small></figcaption></figure>"
        )
    note = (
        f"<p>{len(wrong)} of {len(preds)} validation images are misclassified; the {len(order)} the model "
        "was most confident about are shown, with the probability it gave each label.</p>"
    )
    return note + f'<div class="gallery">{"".join(figures)}</div>'


def _dl(items: list[tuple[str, str]]) -> str:
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in items) + "</table>"


def render_report(
    evaluation: Evaluation,
    history: pd.DataFrame,
    summary: list[tuple[str, str]],
    config_text: str,
    best_epoch: Optional[int],
    gallery: int = 48,
    matrix_limit: int = 12,
) -> str:
    """The whole page as a string; every value taken from data is escaped."""
    names = evaluation.class_names
    confmat = MulticlassConfusionMatrix(num_classes=len(names))(evaluation.preds, evaluation.targets)
    pairs = confused_pairs(confmat, names)
    chosen = matrix_classes(pairs, matrix_limit)
    accuracy = float(confmat.diagonal().sum() / confmat.sum().clamp(min=1))
    summary = [("validation accuracy (this pass)", f"{accuracy:.4f} on {len(evaluation.targets):,} images"), *summary]
    if len(pairs):
        confusions = (
            _table(pairs.drop(columns=["_t", "_p"]), {"share of true class": "{:.0%}"})
            + f"<p>Confusion matrix of the {len(chosen)} classes in these pairs (rows: true class, columns: "
            "prediction, with every other class in the last column; colour: share of the row).</p>"
            + _figure(matrix_figure(confmat, chosen, names), "confusion matrix")
        )
    else:
        confusions = "<p>No mistakes on the validation split.</p>"
    sections = [
        ("summary", "Summary", _dl(summary)),
        ("curves", "Learning curves", _figure(curves_figure(history, best_epoch), "learning curves")),
        ("per-class", "Validation accuracy per class (worst first)", _per_class_html(per_class_table(confmat, names))),
        ("confusions", "Most confused classes", confusions),
        ("gallery", "Misclassified validation images", _gallery_html(evaluation, gallery)),
        ("config", "Config", f"<pre>{_e(config_text)}</pre>"),
    ]
    body = "".join(f'<section id="{sid}"><h2>{_e(title)}</h2>{content}</section>' for sid, title, content in sections)
    title = dict(summary).get("run", "run")
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Run report: {_e(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>Run report: {_e(title)}</h1>"
        f'<p class="sub">generated {_e(datetime.now().strftime("%Y-%m-%d %H:%M"))}</p>{body}</body></html>'
    )
