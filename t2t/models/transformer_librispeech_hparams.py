"""The Transformer's speech recognition hparams sets (T2T's `transformer_librispeech*`).

T2T's values, set for set. The inputs are filterbank frames [T, 80, 3]: `max_length` counts
frames x 80 (T2T's length of a rank-3 feature is its first two dims' product), and the
speech_recognition bottom shortens time 4x before the encoder.
"""

from t2t import registry
from t2t.hparams import HParams
from t2t.models.transformer_hparams import _update, transformer_base, update_hparams_for_tpu


def set_librispeech_length_hparams(hparams: HParams) -> HParams:
    """T2T's length limits for LibriSpeech: 1650 frames (x 80 bins), 350 characters."""
    return _update(
        hparams, max_length=1650 * 80, max_input_seq_length=1650, max_target_seq_length=350
    )


@registry.register_hparams
def transformer_librispeech_v1() -> HParams:
    """5 encoder and 3 decoder layers of 256, 4 heads (T2T's first LibriSpeech set)."""
    hparams = _update(
        transformer_base(),
        num_heads=4,
        filter_size=1024,
        hidden_size=256,
        num_encoder_layers=5,
        num_decoder_layers=3,
        learning_rate=0.15,
        batch_size=6000000,
    )
    return set_librispeech_length_hparams(hparams)


@registry.register_hparams
def transformer_librispeech_v2() -> HParams:
    """6 encoder and 4 decoder layers of 384, 2 heads, conv_relu_conv FFN, dropout 0.2."""
    return _update(
        transformer_base(),
        max_length=1240000,
        max_input_seq_length=1550,
        max_target_seq_length=350,
        batch_size=16,
        num_decoder_layers=4,
        num_encoder_layers=6,
        hidden_size=384,
        learning_rate=0.15,
        daisy_chain_variables=False,
        filter_size=1536,
        num_heads=2,
        ffn_layer="conv_relu_conv",
        conv_first_kernel=9,
        weight_decay=0,
        layer_prepostprocess_dropout=0.2,
        relu_dropout=0.2,
    )


@registry.register_hparams
def transformer_librispeech_tpu_v1() -> HParams:
    """transformer_librispeech_v1 with T2T's TPU settings and batch 16."""
    hparams = _update(update_hparams_for_tpu(transformer_librispeech_v1()), batch_size=16)
    return set_librispeech_length_hparams(hparams)


@registry.register_hparams
def transformer_librispeech_tpu_v2() -> HParams:
    """transformer_librispeech_v2 with T2T's TPU settings and batch 16."""
    hparams = _update(update_hparams_for_tpu(transformer_librispeech_v2()), batch_size=16)
    return set_librispeech_length_hparams(hparams)


@registry.register_hparams
def transformer_librispeech_with_area_attention() -> HParams:
    """transformer_librispeech_tpu_v2 with area attention on the first 3 layers (T2T's)."""
    return _update(
        transformer_librispeech_tpu_v2(),
        num_area_layers=3,
        max_area_width=5,
        area_key_mode="concat",
        area_value_mode="sum",
    )


@registry.register_hparams
def transformer_librispeech() -> HParams:
    """T2T's default LibriSpeech set: transformer_librispeech_v2."""
    return transformer_librispeech_v2()


@registry.register_hparams
def transformer_librispeech_tpu() -> HParams:
    """transformer_librispeech_tpu_v2."""
    return transformer_librispeech_tpu_v2()


@registry.register_hparams
def transformer_common_voice() -> HParams:
    """T2T's Common Voice set: transformer_librispeech."""
    return transformer_librispeech()


@registry.register_hparams
def transformer_common_voice_tpu() -> HParams:
    """transformer_librispeech_tpu with batch 8."""
    return _update(transformer_librispeech_tpu(), batch_size=8)
