"""The run report: a model's pass over its validation split, tables, figures and one HTML page."""

from leaves.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "Evaluation": "leaves.report.evaluate",
        "evaluate": "leaves.report.evaluate",
        "render_cleaning": "leaves.report.cleaning",
        "curves_figure": "leaves.report.figures",
        "matrix_figure": "leaves.report.figures",
        "save_curves": "leaves.report.figures",
        "save_lr_range": "leaves.report.figures",
        "thumbnail": "leaves.report.figures",
        "render_report": "leaves.report.html",
        "confused_pairs": "leaves.report.tables",
        "load_history": "leaves.report.tables",
        "matrix_classes": "leaves.report.tables",
        "per_class_table": "leaves.report.tables",
        "write_report": "leaves.report.write",
    },
)
