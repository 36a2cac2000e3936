"""The inference layer: the checked submission, saved probabilities, ensembles and the prediction Trainer."""

from leaves.inference.ensemble import Ensemble, check_same_classes, predict_ensemble
from leaves.inference.predictor import predict_trainer
from leaves.inference.probs import check_probs_path, probs_table, save_probs
from leaves.inference.submission import SubmissionWriter, save_submission, validate_submission

__all__ = [
    "Ensemble",
    "SubmissionWriter",
    "check_probs_path",
    "check_same_classes",
    "predict_ensemble",
    "predict_trainer",
    "probs_table",
    "save_probs",
    "save_submission",
    "validate_submission",
]
