"""T2T's LSTM sets with area attention (Li et al. 2019, "Area Attention").

The Luong-attention decoder attends to areas of 1..max_area_width consecutive encoder
outputs: an area's key is the mean of its keys (`area_key_mode`), its value the sum of its
values (`area_value_mode`); see `t2t.layers.area_attention`. T2T 1.15.7 fails to build these
sets (a ValueError while building the graph, recorded in
tests/golden/models/transformer_sets_param_counts.json); here they run as the authors meant.
"""

from t2t import registry
from t2t.hparams import HParams
from t2t.models.lstm_hparams import lstm_luong_attention


@registry.register_hparams
def lstm_area_attention_base() -> HParams:
    """Luong attention over areas of up to 2 positions, 2 layers of 1024, 4 heads."""
    hparams = lstm_luong_attention()
    for name, value in (
        ("batch_size", 16384),
        ("num_hidden_layers", 2),
        ("hidden_size", 1024),
        ("num_heads", 4),
        ("dropout", 0.2),
        ("learning_rate", 0.1),
        ("max_area_width", 2),
        ("area_key_mode", "mean"),
        ("area_value_mode", "sum"),
    ):
        setattr(hparams, name, value)
    return hparams


@registry.register_hparams
def lstm_area_attention_enfr() -> HParams:
    """lstm_area_attention_base with dropout 0.1."""
    hparams = lstm_area_attention_base()
    hparams.dropout = 0.1
    return hparams


@registry.register_hparams
def lstm_area_attention_char() -> HParams:
    """lstm_area_attention_base with batch 20480 (characters)."""
    hparams = lstm_area_attention_base()
    hparams.batch_size = 20480
    return hparams


@registry.register_hparams
def lstm_area_attention_char_enfr() -> HParams:
    """lstm_area_attention_char with dropout 0.1."""
    hparams = lstm_area_attention_char()
    hparams.dropout = 0.1
    return hparams
