"""The run report: a model's pass over its validation split, tables, figures and one HTML page."""

from leaves.report.evaluate import Evaluation, evaluate
from leaves.report.figures import curves_figure, matrix_figure, save_curves, thumbnail
from leaves.report.html import render_report
from leaves.report.tables import confused_pairs, load_history, matrix_classes, per_class_table
from leaves.report.write import write_report

__all__ = [
    "Evaluation",
    "confused_pairs",
    "curves_figure",
    "evaluate",
    "load_history",
    "matrix_classes",
    "matrix_figure",
    "per_class_table",
    "render_report",
    "save_curves",
    "thumbnail",
    "write_report",
]
