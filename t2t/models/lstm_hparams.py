"""The LSTM models' registered hparams sets (T2T's values).

Re-exported by `t2t.models.lstm`, so `tensor2tensor.models.lstm.lstm_seq2seq()` keeps working.
"""

from t2t import registry
from t2t.hparams import HParams, basic_params1


@registry.register_hparams
def lstm_seq2seq() -> HParams:
    """T2T's LSTM seq2seq: 2 layers of 128 units."""
    hparams = basic_params1()
    hparams.daisy_chain_variables = False
    hparams.batch_size = 1024
    hparams.hidden_size = 128
    hparams.num_hidden_layers = 2
    hparams.initializer = "uniform_unit_scaling"
    hparams.initializer_gain = 1.0
    hparams.weight_decay = 0.0
    return hparams


def lstm_attention_base() -> HParams:
    """lstm_seq2seq + attention settings (not registered in T2T)."""
    hparams = lstm_seq2seq()
    hparams.add_hparam("attention_layer_size", hparams.hidden_size)
    hparams.add_hparam("output_attention", True)
    hparams.add_hparam("num_heads", 1)
    return hparams


@registry.register_hparams
def lstm_bahdanau_attention() -> HParams:
    """Attention LSTM with Bahdanau (additive) attention."""
    hparams = lstm_attention_base()
    hparams.add_hparam("attention_mechanism", "bahdanau")
    return hparams


@registry.register_hparams
def lstm_luong_attention() -> HParams:
    """Attention LSTM with Luong (dot-product) attention."""
    hparams = lstm_attention_base()
    hparams.add_hparam("attention_mechanism", "luong")
    return hparams


@registry.register_hparams
def lstm_attention() -> HParams:
    """lstm_bahdanau_attention (T2T's alias)."""
    return lstm_bahdanau_attention()


@registry.register_hparams
def lstm_bahdanau_attention_multi() -> HParams:
    """lstm_bahdanau_attention with 4 attention heads."""
    hparams = lstm_bahdanau_attention()
    hparams.num_heads = 4
    return hparams


@registry.register_hparams
def lstm_luong_attention_multi() -> HParams:
    """lstm_luong_attention with 4 attention heads."""
    hparams = lstm_luong_attention()
    hparams.num_heads = 4
    return hparams


@registry.register_hparams
def lstm_asr_v1() -> HParams:
    """Bahdanau attention sized for speech recognition."""
    hparams = lstm_bahdanau_attention()
    hparams.num_hidden_layers = 2
    hparams.hidden_size = 256
    hparams.batch_size = 36
    hparams.max_input_seq_length = 600000
    hparams.max_target_seq_length = 350
    hparams.max_length = hparams.max_input_seq_length
    hparams.min_length_bucket = hparams.max_input_seq_length // 2
    hparams.learning_rate = 0.05
    return hparams
