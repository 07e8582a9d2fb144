"""Constants problems and models share: dataset splits, modes, space and task ids, metric names.

`Example` is the type of one example: feature name -> 1-D NumPy array.
"""

import numpy as np

Example = dict[str, np.ndarray]


class DatasetSplit:
    """Dataset split names (`Problem.data_filepaths`, `generate_samples`)."""

    TRAIN = "train"
    EVAL = "eval"
    TEST = "test"


class Modes:
    """tf.estimator ModeKeys strings, used as `mode` everywhere."""

    TRAIN = "train"
    EVAL = "eval"
    PREDICT = "infer"


class SpaceID:
    """Input/target space ids: models get them as `input_space_id`/`target_space_id`."""

    GENERIC = 0
    IMAGE_LABEL = 1
    EN_CHR = 2
    EN_TOK = 3
    EN_BPE_TOK = 4
    FR_CHR = 5
    FR_TOK = 6
    DE_CHR = 7
    DE_TOK = 8
    DE_BPE_TOK = 9
    DIGIT_0 = 10
    DIGIT_1 = 11
    AUDIO_WAV = 12
    AUDIO_SPECTRAL = 13
    PARSE_CHR = 14
    PARSE_TOK = 15
    ZH_TOK = 16
    ICE_CHAR = 17
    ICE_TOK = 18
    ICE_PARSE_TOK = 19
    MK_TOK = 20
    CS_TOK = 21
    CS_CHR = 22
    DNA = 23
    REAL = 24
    IMAGE = 25
    PEPTIDE = 26
    PY_TOK = 27
    CPP_TOK = 28
    STROKES = 29
    PICKLED_PYTHON = 30


class TaskID:
    """Task ids of T2T's multi-problem setups (kept for user code that sets them)."""

    EN_CHR = 2
    EN_CHR_SENT = 3
    EN_PR_HYP = 4
    EN_NLI = 5
    COLA = 6
    EN_Q_CONT = 7
    EN_SIM = 8
    EN_SENT_PAIR = 9
    THREE_CL_NLI = 10


class Metrics:
    """T2T's metric names (the values returned by `eval_metrics`)."""

    ACC = "accuracy"
    ACC_TOP5 = "accuracy_top5"
    ACC_PER_SEQ = "accuracy_per_sequence"
    NEG_LOG_PERPLEXITY = "neg_log_perplexity"
    APPROX_BLEU = "approx_bleu_score"
    RMSE = "rmse"
    PEARSON = "pearson"
    ROUGE_2_F = "rouge_2_fscore"
    ROUGE_L_F = "rouge_L_fscore"
    EDIT_DISTANCE = "edit_distance"
    WORD_ERROR_RATE = "word_error_rate"
