"""The registered hparams sets of the Universal Transformer (T2T's names and values).

`update_hparams_for_universal_transformer` adds the family's hparams to a Transformer set;
the sets then pick a size, a `recurrence_type` and the timing options. T2T's comments on
the options are summarised in `universal_transformer_stack`.
"""

from t2t import registry
from t2t.hparams import HParams
from t2t.models.transformer_hparams import (
    transformer_base,
    transformer_tiny,
    update_hparams_for_tpu,
)


def update_hparams_for_universal_transformer(hparams: HParams) -> HParams:
    """Adds the Universal Transformer's hparams (with T2T's defaults) to a Transformer set."""
    hparams.daisy_chain_variables = False
    hparams.add_hparam("mix_with_transformer", None)  # None, "before_ut", "after_ut" or both
    hparams.add_hparam("num_mixedin_layers", 2)
    hparams.add_hparam("num_inrecurrence_layers", 1)
    hparams.add_hparam("recurrence_type", "basic")
    hparams.add_hparam("num_rec_steps", hparams.num_hidden_layers)
    hparams.add_hparam("add_position_timing_signal", True)  # positions at every step
    if hparams.add_position_timing_signal:
        hparams.pos = None
    hparams.add_hparam("position_start_index", None)  # None, "random" or "step"
    hparams.add_hparam("add_step_timing_signal", True)
    hparams.add_hparam("step_timing_signal_type", "learned")  # or "sinusoid"
    hparams.add_hparam("add_or_concat_timing_signal", "add")  # or "concat"
    hparams.add_hparam("add_sru", False)
    hparams.add_hparam("transformer_ffn_type", "fc")  # or "sepconv"
    hparams.add_hparam("transform_bias_init", -1.0)
    hparams.add_hparam("couple_carry_transform_gates", True)
    hparams.add_hparam("depth_embedding", True)
    hparams.add_hparam("dwa_elements", True)
    hparams.add_hparam("gate_ffn_layer", "dense")  # or "dense_dropconnect"
    hparams.add_hparam("lstm_forget_bias", 1.0)
    hparams.add_hparam("use_memory_as_final_state", False)
    hparams.add_hparam("add_ffn_unit_to_the_transition_function", False)
    hparams.add_hparam("act_type", "basic")  # basic, accumulated, global or random
    hparams.add_hparam("act_max_steps", 2 * hparams.num_hidden_layers)
    hparams.add_hparam("act_halting_bias_init", 1.0)
    hparams.add_hparam("act_epsilon", 0.01)
    hparams.add_hparam("act_loss_weight", 0.01)
    return hparams


@registry.register_hparams
def universal_transformer_base() -> HParams:
    """transformer_base, changed as below."""
    hparams = transformer_base()
    hparams.hidden_size = 1024
    hparams.filter_size = 4096
    hparams.num_heads = 16
    hparams.layer_prepostprocess_dropout = 0.3
    hparams = update_hparams_for_universal_transformer(hparams)
    return hparams


@registry.register_hparams
def universal_transformer_base_tpu() -> HParams:
    """universal_transformer_base, changed as below."""
    hparams = universal_transformer_base()
    update_hparams_for_tpu(hparams)
    hparams.add_step_timing_signal = False
    return hparams


@registry.register_hparams
def universal_transformer_big() -> HParams:
    """universal_transformer_base, changed as below."""
    hparams = universal_transformer_base()
    hparams.hidden_size = 2048
    hparams.filter_size = 8192
    return hparams


@registry.register_hparams
def universal_transformer_base_fp16() -> HParams:
    """transformer_base, changed as below."""
    hparams = transformer_base()
    hparams = update_hparams_for_universal_transformer(hparams)
    hparams.activation_dtype = "float16"
    return hparams


@registry.register_hparams
def universal_transformer_small() -> HParams:
    """transformer_base, changed as below."""
    hparams = transformer_base()
    hparams = update_hparams_for_universal_transformer(hparams)
    return hparams


@registry.register_hparams
def universal_transformer_tiny() -> HParams:
    """transformer_tiny, changed as below."""
    hparams = transformer_tiny()
    hparams = update_hparams_for_universal_transformer(hparams)
    hparams.num_rec_steps = 8
    return hparams


@registry.register_hparams
def transformer_teeny() -> HParams:
    """transformer_base at hidden 128, filter 128, 2 heads (no recurrence)."""
    hparams = transformer_base()
    hparams.hidden_size = 128
    hparams.filter_size = 128
    hparams.num_heads = 2
    return hparams


@registry.register_hparams
def universal_transformer_teeny() -> HParams:
    """transformer_teeny, changed as below."""
    hparams = transformer_teeny()
    hparams = update_hparams_for_universal_transformer(hparams)
    hparams.num_rec_steps = 10
    return hparams


@registry.register_hparams
def universal_transformer_tall() -> HParams:
    """universal_transformer_small, changed as below."""
    hparams = universal_transformer_small()
    hparams.num_rec_steps = 16
    return hparams


@registry.register_hparams
def universal_transformer_small_dropconnect() -> HParams:
    """universal_transformer_small, changed as below."""
    hparams = universal_transformer_small()
    hparams.gate_ffn_layer = "dense_dropconnect"
    hparams.add_hparam("dropconnect_dropout", 0.5)
    return hparams


@registry.register_hparams
def adaptive_universal_transformer_base() -> HParams:
    """universal_transformer_base, changed as below."""
    hparams = universal_transformer_base()
    hparams.recurrence_type = "act"
    return hparams


@registry.register_hparams
def adaptive_universal_transformer_base_tpu() -> HParams:
    """adaptive_universal_transformer_base, changed as below."""
    hparams = adaptive_universal_transformer_base()
    update_hparams_for_tpu(hparams)
    hparams.add_step_timing_signal = False
    return hparams


@registry.register_hparams
def adaptive_universal_transformer_multilayer_tpu() -> HParams:
    """adaptive_universal_transformer_base_tpu, changed as below."""
    hparams = adaptive_universal_transformer_base_tpu()
    hparams.num_inrecurrence_layers = 2
    hparams.mix_with_transformer = "before_ut,after_ut"
    hparams.num_mixedin_layers = 1
    hparams.transformer_ffn_type = "sepconv"
    return hparams


@registry.register_hparams
def adaptive_universal_transformer_multilayer_hard() -> HParams:
    """adaptive_universal_transformer_multilayer_tpu, changed as below."""
    hparams = adaptive_universal_transformer_multilayer_tpu()
    hparams.batch_size = 256
    hparams.hard_attention_k = 8
    hparams.add_step_timing_signal = True
    hparams.self_attention_type = "dot_product_relative_v2"
    hparams.max_relative_position = 256
    return hparams


@registry.register_hparams
def adaptive_universal_transformer_small() -> HParams:
    """universal_transformer_small, changed as below."""
    hparams = universal_transformer_small()
    hparams.recurrence_type = "act"
    return hparams


@registry.register_hparams
def adaptive_universal_transformer_tiny() -> HParams:
    """universal_transformer_tiny, changed as below."""
    hparams = universal_transformer_tiny()
    hparams.recurrence_type = "act"
    return hparams


@registry.register_hparams
def adaptive_universal_transformer_sepconv_tiny() -> HParams:
    """universal_transformer_tiny, changed as below."""
    hparams = universal_transformer_tiny()
    hparams.recurrence_type = "act"
    hparams.transformer_ffn_type = "sepconv"
    return hparams


@registry.register_hparams
def adaptive_universal_transformer_global_base() -> HParams:
    """universal_transformer_base, changed as below."""
    hparams = universal_transformer_base()
    hparams.recurrence_type = "act"
    hparams.act_type = "global"
    return hparams


@registry.register_hparams
def adaptive_universal_transformer_global_base_tpu() -> HParams:
    """adaptive_universal_transformer_global_base, changed as below."""
    hparams = adaptive_universal_transformer_global_base()
    update_hparams_for_tpu(hparams)
    hparams.add_step_timing_signal = False
    return hparams


@registry.register_hparams
def adaptive_universal_transformer_tall() -> HParams:
    """universal_transformer_small, changed as below."""
    hparams = universal_transformer_small()
    hparams.recurrence_type = "act"
    hparams.num_hidden_layers = 16
    hparams.batch_size = 1024
    hparams.act_max_steps = 24
    return hparams


@registry.register_hparams
def adaptive_universal_transformer_tall_actlossw0() -> HParams:
    """universal_transformer_small, changed as below."""
    hparams = universal_transformer_small()
    hparams.recurrence_type = "act"
    hparams.num_hidden_layers = 16
    hparams.batch_size = 1024
    hparams.act_max_steps = 24
    hparams.act_loss_weight = 0.0
    return hparams


@registry.register_hparams
def adaptive_universal_transformer_tall_actlossw001() -> HParams:
    """universal_transformer_small, changed as below."""
    hparams = universal_transformer_small()
    hparams.recurrence_type = "act"
    hparams.num_hidden_layers = 16
    hparams.batch_size = 1024
    hparams.act_max_steps = 24
    hparams.act_loss_weight = 0.001
    return hparams


@registry.register_hparams
def adaptive_universal_transformer_base_dropout03() -> HParams:
    """universal_transformer_base, changed as below."""
    hparams = universal_transformer_base()
    hparams.recurrence_type = "act"
    hparams.layer_prepostprocess_dropout = 0.3
    hparams.attention_dropout = 0.3
    hparams.relu_dropout = 0.3
    return hparams


@registry.register_hparams
def adaptive_universal_transformer_base_dropout05() -> HParams:
    """universal_transformer_base, changed as below."""
    hparams = universal_transformer_base()
    hparams.recurrence_type = "act"
    hparams.layer_prepostprocess_dropout = 0.5
    hparams.attention_dropout = 0.5
    hparams.relu_dropout = 0.5
    return hparams


@registry.register_hparams
def universal_transformer_skip_base() -> HParams:
    """universal_transformer_base, changed as below."""
    hparams = universal_transformer_base()
    hparams.recurrence_type = "skip"
    return hparams


@registry.register_hparams
def universal_transformer_highway_base() -> HParams:
    """universal_transformer_base, changed as below."""
    hparams = universal_transformer_base()
    hparams.recurrence_type = "highway"
    return hparams


@registry.register_hparams
def universal_transformer_dwa_base() -> HParams:
    """universal_transformer_base, changed as below."""
    hparams = universal_transformer_base()
    hparams.recurrence_type = "dwa"
    return hparams


@registry.register_hparams
def universal_transformer_lstm_base() -> HParams:
    """universal_transformer_base, changed as below."""
    hparams = universal_transformer_base()
    hparams.recurrence_type = "lstm"
    hparams.add_step_timing_signal = False
    return hparams


@registry.register_hparams
def universal_transformer_gru_base() -> HParams:
    """universal_transformer_base, changed as below."""
    hparams = universal_transformer_base()
    hparams.recurrence_type = "gru"
    hparams.add_step_timing_signal = False
    return hparams


@registry.register_hparams
def universal_transformer_lstm_tall() -> HParams:
    """universal_transformer_tall, changed as below."""
    hparams = universal_transformer_tall()
    hparams.recurrence_type = "lstm"
    hparams.add_step_timing_signal = False
    return hparams


@registry.register_hparams
def universal_transformer_position_random_timing_tiny() -> HParams:
    """universal_transformer_tiny, changed as below."""
    hparams = universal_transformer_tiny()
    hparams.position_start_index = "random"
    return hparams


@registry.register_hparams
def universal_transformer_position_step_timing_tiny() -> HParams:
    """universal_transformer_tiny, changed as below."""
    hparams = universal_transformer_tiny()
    hparams.position_start_index = "step"
    return hparams


@registry.register_hparams
def universal_transformer_step_sinusoid_timing_tiny() -> HParams:
    """universal_transformer_tiny, changed as below."""
    hparams = universal_transformer_tiny()
    hparams.step_timing_signal_type = "sinusoid"
    return hparams


@registry.register_hparams
def adaptive_universal_transformer_position_random_timing_tiny() -> HParams:
    """universal_transformer_tiny, changed as below."""
    hparams = universal_transformer_tiny()
    hparams.recurrence_type = "act"
    hparams.position_start_index = "random"
    return hparams


@registry.register_hparams
def universal_transformer_mix_before_ut_base() -> HParams:
    """universal_transformer_base, changed as below."""
    hparams = universal_transformer_base()
    hparams.mix_with_transformer = "before_ut"
    return hparams


@registry.register_hparams
def universal_transformer_mix_after_ut_base() -> HParams:
    """universal_transformer_base, changed as below."""
    hparams = universal_transformer_base()
    hparams.mix_with_transformer = "after_ut"
    return hparams


@registry.register_hparams
def adaptive_universal_transformer_mix_before_ut_base() -> HParams:
    """universal_transformer_base, changed as below."""
    hparams = universal_transformer_base()
    hparams.mix_with_transformer = "before_ut"
    hparams.recurrence_type = "act"
    return hparams


@registry.register_hparams
def adaptive_universal_transformer_mix_after_ut_base() -> HParams:
    """universal_transformer_base, changed as below."""
    hparams = universal_transformer_base()
    hparams.mix_with_transformer = "after_ut"
    hparams.recurrence_type = "act"
    return hparams


@registry.register_hparams
def adaptive_universal_transformer_concat_tiny() -> HParams:
    """universal_transformer_tiny, changed as below."""
    hparams = universal_transformer_tiny()
    hparams.recurrence_type = "act"
    hparams.add_or_concat_timing_signal = "concat"
    return hparams


@registry.register_hparams
def adaptive_universal_transformer_with_sru_base() -> HParams:
    """universal_transformer_base, changed as below."""
    hparams = universal_transformer_base()
    hparams.recurrence_type = "act"
    hparams.add_sru = True
    return hparams


@registry.register_hparams
def universal_transformer_sepconv_big() -> HParams:
    """universal_transformer_big, changed as below."""
    hparams = universal_transformer_big()
    hparams.transformer_ffn_type = "sepconv"
    return hparams


@registry.register_hparams
def universal_transformer_sepconv_base() -> HParams:
    """universal_transformer_base, changed as below."""
    hparams = universal_transformer_base()
    hparams.transformer_ffn_type = "sepconv"
    return hparams


@registry.register_hparams
def universal_transformer_sepconv_tiny() -> HParams:
    """universal_transformer_tiny, changed as below."""
    hparams = universal_transformer_tiny()
    hparams.transformer_ffn_type = "sepconv"
    return hparams
