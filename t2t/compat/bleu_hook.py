"""What T2T's `tensor2tensor.utils.bleu_hook` held: BLEU (`t2t.metrics.bleu`) and the
step-file iteration (`t2t.runs.step_files`), which now live on different floors."""

from t2t.metrics.bleu import bleu_tokenize, bleu_wrapper, compute_bleu
from t2t.runs.step_files import StepFile, read_stepfiles_list, stepfiles_iterator

__all__ = [
    "StepFile",
    "bleu_tokenize",
    "bleu_wrapper",
    "compute_bleu",
    "read_stepfiles_list",
    "stepfiles_iterator",
]
