"""The inference layer: the Predictor (one model or an ensemble, test-time views, BatchNorm folded), the
self-check, the checked submission and its degenerate-submission warning, saved probabilities and the
prediction Trainer."""

from leaves.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "fuse_bn": "leaves.inference.bn_fold",
        "degenerate_submission": "leaves.inference.degenerate",
        "warn_if_degenerate": "leaves.inference.degenerate",
        "predict_ensemble": "leaves.inference.ensemble",
        "blend": "leaves.inference.hill_climb",
        "cross_fitted": "leaves.inference.hill_climb",
        "hill_climb": "leaves.inference.hill_climb",
        "AlignedOOF": "leaves.inference.members",
        "KFoldMember": "leaves.inference.members",
        "align_oof": "leaves.inference.members",
        "expand_members": "leaves.inference.members",
        "kfold_member": "leaves.inference.members",
        "PairedTest": "leaves.inference.paired",
        "paired_test": "leaves.inference.paired",
        "Predictor": "leaves.inference.predictor",
        "check_same_classes": "leaves.inference.predictor",
        "check_probs_path": "leaves.inference.probs",
        "probs_table": "leaves.inference.probs",
        "save_probs": "leaves.inference.probs",
        "SelfCheck": "leaves.inference.selfcheck",
        "report_self_check": "leaves.inference.selfcheck",
        "self_check": "leaves.inference.selfcheck",
        "SubmissionWriter": "leaves.inference.submission",
        "save_submission": "leaves.inference.submission",
        "validate_submission": "leaves.inference.submission",
        "predict_submission": "leaves.inference.submit",
        "mislabel_suspects": "leaves.inference.suspects",
        "read_oof": "leaves.inference.oof",
        "predict_trainer": "leaves.inference.trainer",
        "VIEWS": "leaves.inference.tta",
        "check_views": "leaves.inference.tta",
        "tta_probs": "leaves.inference.tta",
    },
)
