"""MultiModel's registered hparams sets (T2T's `multimodel_base`, `multimodel_tiny`).

MultiModel left T2T before 1.15.7; these are the values of its last version (T2T 1.4-1.5).
"""

from t2t import registry
from t2t.hparams import HParams, basic_params1


@registry.register_hparams
def multimodel_base() -> HParams:
    """512 hidden, 2048 filters, 4 layers, 8 heads, 30 experts, an MoE in decoder layer 2."""
    hparams = basic_params1()
    hparams.hidden_size = 512
    hparams.batch_size = 2048
    hparams.num_hidden_layers = 4
    hparams.learning_rate_decay_scheme = "noam"
    hparams.learning_rate = 0.1
    hparams.learning_rate_warmup_steps = 4000
    hparams.initializer_gain = 1.0
    hparams.dropout = 0.1
    hparams.add_hparam("filter_size", 2048)
    hparams.add_hparam("large_kernel_size", 15)
    hparams.add_hparam("attention_dropout", 0.1)
    hparams.add_hparam("num_heads", 8)
    hparams.add_hparam("moe_layers", "2")  # decoder layers whose feed-forward is an MoE
    hparams.moe_num_experts = 30
    return hparams


@registry.register_hparams
def multimodel_tiny() -> HParams:
    """128 hidden, 512 filters, 2 layers, batch 512, the MoE in decoder layer 0.

    T2T also set `moe_n1 = 10`, a name nothing read any more; it is left out.
    """
    hparams = multimodel_base()
    hparams.hidden_size = 128
    hparams.filter_size = 512
    hparams.batch_size = 512
    hparams.num_hidden_layers = 2
    hparams.moe_layers = "0"
    return hparams
