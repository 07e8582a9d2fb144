"""The Evolved Transformer's registered hparams sets (T2T's values).

Re-exported by `t2t.models.evolved_transformer`. As in T2T these are Transformer sets with 3
encoder and 4 decoder layers and a cosine-decay schedule (tuned for Adam, not the paper's
Adafactor).
"""

from t2t import registry
from t2t.hparams import HParams
from t2t.models import transformer_hparams as th


def add_evolved_transformer_hparams(hparams: HParams) -> HParams:
    """3 encoder and 4 decoder layers; the constant divided by sqrt(warmup) for the
    linear-warmup, single-cycle cosine schedule."""
    hparams.num_encoder_layers = 3
    hparams.num_decoder_layers = 4
    hparams.learning_rate_constant /= hparams.learning_rate_warmup_steps**0.5
    hparams.learning_rate_schedule = (
        "constant*linear_warmup*single_cycle_cos_decay*rsqrt_hidden_size"
    )
    return hparams


@registry.register_hparams
def evolved_transformer_tiny() -> HParams:
    """transformer_tiny's sizes."""
    hparams = add_evolved_transformer_hparams(th.transformer_tiny())
    hparams.learning_rate_schedule = "constant*single_cycle_cos_decay"
    return hparams


@registry.register_hparams
def evolved_transformer_base() -> HParams:
    """transformer_base's sizes."""
    return add_evolved_transformer_hparams(th.transformer_base())


@registry.register_hparams
def evolved_transformer_big() -> HParams:
    """transformer_big's sizes, for WMT."""
    return add_evolved_transformer_hparams(th.transformer_big())


@registry.register_hparams
def evolved_transformer_deep() -> HParams:
    """9 encoder and 10 decoder layers of 640, for WMT."""
    hparams = add_evolved_transformer_hparams(th.transformer_big())
    hparams.num_encoder_layers = 9
    hparams.num_decoder_layers = 10
    hparams.hidden_size = 640
    return hparams


@registry.register_hparams
def evolved_transformer_base_tpu() -> HParams:
    """transformer_tpu's sizes, constant 1/sqrt(warmup), single-cycle cosine decay."""
    hparams = add_evolved_transformer_hparams(th.transformer_tpu())
    hparams.learning_rate_constant = 1 / hparams.learning_rate_warmup_steps**0.5
    hparams.learning_rate_schedule = "constant*single_cycle_cos_decay"
    return hparams


@registry.register_hparams
def evolved_transformer_big_tpu() -> HParams:
    """transformer_big_tpu's sizes, constant 1/sqrt(warmup), single-cycle cosine decay."""
    hparams = add_evolved_transformer_hparams(th.transformer_big_tpu())
    hparams.learning_rate_constant = 1 / hparams.learning_rate_warmup_steps**0.5
    hparams.learning_rate_schedule = "constant*single_cycle_cos_decay"
    return hparams


@registry.register_hparams
def evolved_transformer_tpu_basic() -> HParams:
    """transformer_big_tpu with `num_trainable_top_decoder_layers` (-1: train all)."""
    hparams = th.transformer_big_tpu()
    hparams.add_hparam("print_vars", False)
    hparams.batch_size = 8192
    hparams.max_length = 256
    hparams.add_hparam("num_trainable_top_decoder_layers", -1)
    return hparams
