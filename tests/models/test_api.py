"""create_model and parameter counts equal to the original T2T's.

The expected counts were measured with T2T 1.15.7 (trainable variables of the model built
for the named problem); the problems' vocab sizes are 32002, 8002 and 4 (text vocab + PAD +
EOS for algorithmic_reverse_nlplike32k / _nlplike8k, 2 + 2 for algorithmic_reverse_binary40).
The models are built on the meta device, so no memory is allocated.
"""

import pytest

from t2t.errors import T2TError, UnknownNameError
from t2t.runs.build import count_trainable_parameters, create_model, create_model_on_meta


@pytest.mark.parametrize(
    "hparams_set, vocab, expected",
    [
        ("transformer_base", 32002, 60_505_088),
        ("transformer_big", 32002, 209_090_560),
        ("transformer_small", 8002, 5_737_984),
        ("transformer_tiny", 4, 927_744),
    ],
)
def test_parameter_count_equals_original(hparams_set, vocab, expected, problem_hparams):
    model = create_model_on_meta(
        "transformer", hparams_set, problem_hparams=problem_hparams(vocab, vocab)
    )
    assert count_trainable_parameters(model) == expected


def test_create_model_with_overrides(problem_hparams):
    model = create_model(
        "transformer",
        "transformer_tiny",
        hparams="hidden_size=16,filter_size=8",
        problem_hparams=problem_hparams(),
    )
    assert model.hparams.hidden_size == 16
    assert model.training


def test_create_model_errors(problem_hparams):
    with pytest.raises(UnknownNameError, match="transformer"):
        create_model("transformerr", "transformer_tiny", problem_hparams=problem_hparams())
    with pytest.raises(T2TError, match="problem_hparams"):
        create_model("transformer", "transformer_tiny")


def test_hparams_values_follow_t2t():
    from t2t import registry

    base = registry.hparams("transformer_base")
    assert (base.hidden_size, base.filter_size, base.num_heads, base.num_hidden_layers) == (
        512,
        2048,
        8,
        6,
    )
    assert base.layer_preprocess_sequence == "n" and base.layer_postprocess_sequence == "da"
    assert base.learning_rate_schedule == "constant*linear_warmup*rsqrt_decay*rsqrt_hidden_size"
    assert base.optimizer_adam_beta2 == 0.997 and base.learning_rate_constant == 2.0
    v1 = registry.hparams("transformer_base_v1")
    assert (v1.layer_preprocess_sequence, v1.layer_postprocess_sequence) == ("none", "dan")
    assert len(v1.values()) == 153
    relative = registry.hparams("transformer_relative")
    assert relative.pos is None and relative.max_relative_position == 20
    big = registry.hparams("transformer_big")
    assert (big.hidden_size, big.num_heads, big.layer_prepostprocess_dropout) == (1024, 16, 0.3)
