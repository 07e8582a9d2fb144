"""The Transformer / LSTM sets of t2t.models.transformer_more_hparams and lstm_area_hparams,
and the features they switch on: VQ-gated and top-k mixtures of experts, parameter
attention, supervised attention, area attention, activation_dtype as autocast."""

import json
import math
import os

import pytest
import torch

from t2t import registry
from t2t.layers import area_attention
from t2t.layers.vq_gating import VQGating
from t2t.train.trainer import TrainConfig
from tests.models.conftest import make_problem_hparams

GOLDEN = os.path.join(
    os.path.dirname(__file__), "..", "golden", "models", "transformer_sets_param_counts.json"
)
TRANSFORMER_SETS = [
    "transformer_topk_16_packed",
    "transformer_base_vq1_16_nb1_packed_nda_b01_scales",
    "transformer_base_vq1_16_nb1_packed_dan_b01_scales",
    "transformer_base_vq1_16_nb1_packed_nda_b01_scales_dialog",
    "transformer_base_vq_ada_32ex_packed",
    "transformer_ada_lmpackedbase",
    "transformer_ada_lmpackedbase_dialog",
    "transformer_ada_lmpackedbase_relative",
    "transformer_tall_finetune_tied",
    "transformer_tall_train_tied",
    "transformer_tall_finetune_uniencdec",
    "transformer_tall_train_uniencdec",
    "transformer_tall_finetune_textclass",
    "transformer_tall_pretrain_lm",
    "transformer_tall_pretrain_lm_tpu_adafactor",
    "transformer_tall_pretrain_lm_tpu_adafactor_large",
    "transformer_tall_pretrain_lm_tpu",
    "transformer_parameter_attention_a",
    "transformer_parameter_attention_b",
    "transformer_mlperf_tpu",
    "transformer_tpu_bf16_activation",
    "transformer_fairseq_fp16_activation_big",
    "transformer_packed_tpu",
    "transformer_tpu_with_conv",
    "transformer_lm_tpu_0",
    "transformer_lm_tpu_1",
    "transformer_supervised_attention",
    "transformer_tpu_1b",
]
LSTM_SETS = [
    "lstm_area_attention_base",
    "lstm_area_attention_enfr",
    "lstm_area_attention_char",
    "lstm_area_attention_char_enfr",
]
# The sets meant for packed language-model data: built without inputs.
LM_SETS = {n for n in TRANSFORMER_SETS if "packed" in n or "lmpacked" in n or "_lm" in n}


def tiny(name: str):
    """The set at hidden 16, one layer (depths that the heads divide)."""
    hp = registry.hparams(name)
    values = dict(hidden_size=16, num_hidden_layers=1)
    if name.startswith("lstm"):
        values.update(attention_layer_size=12)
    else:
        values.update(filter_size=32, num_heads=2, num_decoder_layers=0)
        if hp.parameter_attention_key_channels:
            values.update(parameter_attention_key_channels=8, parameter_attention_value_channels=8)
    for key, value in values.items():
        hp.set_hparam(key, value)
    return hp


def _features(lm: bool, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    features = {"targets": torch.randint(2, 11, (2, 4), generator=g)}
    features["targets"][0, 3:] = 0
    if not lm:
        features["inputs"] = torch.randint(2, 11, (2, 5), generator=g)
        features["inputs"][1, 3:] = 0
    return features


def test_every_new_set_is_registered_and_covered_by_test_every_model():
    from tests.models.test_every_model import CASES

    cases = set(CASES)
    for name in TRANSFORMER_SETS:
        assert ("transformer", name) in cases
    for name in LSTM_SETS:
        assert ("lstm_seq2seq_attention", name) in cases


@pytest.mark.parametrize("name", TRANSFORMER_SETS + LSTM_SETS)
def test_forward_backward(name):
    torch.manual_seed(0)
    lm = name in LM_SETS
    model_name = "lstm_seq2seq_attention" if name.startswith("lstm") else "transformer"
    problem = make_problem_hparams(inputs=None if lm else "symbol")
    model = registry.model(model_name)(tiny(name), problem)
    _, losses = model(_features(lm))
    loss = losses["training"] + sum(v for k, v in losses.items() if k == "moe_loss")
    assert torch.isfinite(loss)
    if registry.hparams(name).get("ffn_layer") == "local_moe":
        assert losses["moe_loss"] > 0
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize(
    "name",
    [
        "transformer_base_vq1_16_nb1_packed_nda_b01_scales",
        "transformer_topk_16_packed",
        "transformer_parameter_attention_b",
        "lstm_area_attention_base",
    ],
)
def test_cached_decoding_equals_the_full_forward_pass(name, greedy):
    """Greedy decoding with the cache gives the argmax of the full forward pass."""
    torch.manual_seed(0)
    lstm = name.startswith("lstm")
    model_name = "lstm_seq2seq_attention" if lstm else "transformer"
    model = registry.model(model_name)(tiny(name), make_problem_hparams()).eval()
    inputs = _features(False)["inputs"]
    with torch.no_grad():
        states = model.init_decode_states({"inputs": inputs}, 4)
        ids = greedy(model.decode_step, torch.zeros(2, dtype=torch.long), 4, states)[:, 1:]
        logits, _ = model({"inputs": inputs, "targets": ids})
    # The LSTM counts a target row's length as its non-PAD ids + 1: all positions count.
    assert ((ids != 0).sum(1) + 1 >= ids.shape[1]).all()
    assert torch.equal(logits.argmax(-1), ids)


def _brute_force_area_attention(query, keys, values, lengths, width):
    """Each area listed by hand: mean key, summed value, areas touching padding skipped."""
    batch, length, _ = keys.shape
    out = []
    for b in range(batch):
        scores, vals = [], []
        for w in range(1, width + 1):
            for start in range(length - w + 1):
                if start + w > lengths[b]:
                    continue
                scores.append(query[b] @ keys[b, start : start + w].mean(0))
                vals.append(values[b, start : start + w].sum(0))
        weights = torch.softmax(torch.stack(scores), 0)
        out.append((weights[:, None] * torch.stack(vals)).sum(0))
    return torch.stack(out)


def test_area_attention_equals_a_brute_force_reference():
    g = torch.Generator().manual_seed(0)
    keys, values = torch.randn(2, 5, 4, generator=g), torch.randn(2, 5, 3, generator=g)
    query = torch.randn(2, 4, generator=g)
    lengths = torch.tensor([5, 3])
    padding = torch.arange(5)[None] >= lengths[:, None]
    area_k = area_attention.area_keys(keys, 3, "mean", training=False)  # [B, A, 4]
    area_v = area_attention.area_values(values, 3, "sum")
    bias = area_attention.area_padding(padding, 3).float() * -1e9
    assert area_k.shape[1] == 5 + 4 + 3
    weights = torch.softmax(torch.einsum("bd,bad->ba", query, area_k) + bias, -1)
    ours = torch.einsum("ba,bad->bd", weights, area_v)
    expected = _brute_force_area_attention(query, keys, values, lengths, 3)
    torch.testing.assert_close(ours, expected)
    maxed = area_attention.area_keys(keys, 2, "max", training=False)
    torch.testing.assert_close(maxed[:, 5 + 1], torch.maximum(keys[:, 1], keys[:, 2]))


def test_vq_gating_picks_the_nearest_scaled_codebook_entry_and_its_loss():
    torch.manual_seed(0)
    gating = VQGating(depth=4, num_experts=8, k=1, beta=0.1, use_scales=True)
    with torch.no_grad():
        gating.scales.copy_(torch.randn(8))
    x = torch.randn(6, 4)
    expert, loss = gating(x)
    means, scales = gating.means[0], torch.softmax(gating.scales, 0)
    dist = ((x[:, None] - means[None]) ** 2).sum(-1) / scales  # [N, E]
    assert torch.equal(expert[:, 0], dist.argmin(-1))
    chosen = means[expert[:, 0]]
    counts = torch.bincount(expert[:, 0], minlength=8).float()
    mse = ((x - chosen) ** 2).mean()
    torch.testing.assert_close(loss, mse + 0.1 * mse + (counts * scales).mean())


def test_supervised_attention_adds_a_kl_loss_that_vanishes_on_its_own_attention():
    torch.manual_seed(0)
    hp = tiny("transformer_supervised_attention")
    model = registry.model("transformer")(hp, make_problem_hparams()).eval()
    features = _features(False)
    features["inputs"][1, 3:] = 5  # no padding: the kept logits carry no -1e9 bias
    _, plain = model(features)
    assert "attention_loss" not in plain
    uniform = dict(features, expected_attentions=torch.zeros(2, 4, 5))
    _, losses = model(uniform)
    assert losses["attention_loss"] > 0
    layer = model.decoder.layers[0].encdec_attention.sublayer
    layer.keep_logits = True
    model(features)
    logits = layer.kept[0].mean(1).detach()  # [B, T, S]
    layer.keep_logits, layer.kept = False, None
    _, losses = model(dict(features, expected_attentions=logits))
    assert abs(losses["attention_loss"].item()) < 1e-5
    hp.expected_attention_loss_type = "mse"
    _, losses = model(dict(features, expected_attentions=logits))
    assert abs(losses["attention_loss"].item()) < 1e-6


def test_activation_dtype_selects_autocast():
    def config(name):
        return TrainConfig.from_hparams(registry.hparams(name), output_dir="x", train_steps=1)

    bf16 = config("transformer_tpu_bf16_activation")
    fp16 = config("transformer_fairseq_fp16_activation_big")
    plain = config("transformer_tpu")
    assert (
        TrainConfig.from_hparams(
            registry.hparams("transformer_tpu"),
            output_dir="x",
            train_steps=1,
            autocast_dtype="bfloat16",
        ).autocast_dtype
        == "bfloat16"
    )  # t2t-trainer --bf16 still wins
    assert (bf16.autocast_dtype, fp16.autocast_dtype, plain.autocast_dtype) == (
        "bfloat16",
        "float16",
        None,
    )
    model = registry.model("transformer")(tiny("transformer_tpu_bf16_activation"),
                                          make_problem_hparams())  # fmt: skip
    with torch.autocast("cpu", dtype=torch.bfloat16):
        _, losses = model(_features(False))
    losses["training"].backward()
    assert torch.isfinite(losses["training"])


def _golden() -> dict:
    with open(GOLDEN) as f:
        return json.load(f)


def _unused_in_the_original(name: str, hp) -> int:
    """Trainable variables T2T 1.15.7 creates for these sets but never uses, per layer:
    the discrete bottleneck's codebook ("means" [1, 16, hidden], built from z_size 4 even on
    the top-k path) and, on the VQ path, its two dense layers "vch2" (hidden -> filter, with
    bias) and "vcfin" (filter -> hidden, with bias), whose output vq_gating drops."""
    if hp.get("ffn_layer") != "local_moe":
        return 0
    hidden, filter_size = hp.hidden_size, hp.filter_size
    per_layer = 0
    if hp.gating_type == "topk":
        per_layer += 2**hp.z_size * hidden  # the codebook
    else:
        per_layer += hidden * filter_size + filter_size + filter_size * hidden + hidden
    return per_layer * (hp.num_decoder_layers or hp.num_hidden_layers)


def _at_golden_depth(name: str):
    """The set at the golden's number of layers (its widths unchanged)."""
    hp = registry.hparams(name)
    hp.num_hidden_layers = _golden()["layers"]
    if hp.get("num_decoder_layers"):
        hp.num_decoder_layers = _golden()["layers"]
    return hp


def _count_on_meta(model_name: str, hp, lm: bool) -> int:
    problem = make_problem_hparams(20, 20, inputs=None if lm else "symbol")
    with torch.device("meta"):  # shapes only: the sizes of the big sets without their memory
        model = registry.model(model_name)(hp, problem)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize(
    "key", sorted(k for k, v in _golden()["counts"].items() if isinstance(v, int))
)
def test_parameter_counts_equal_the_originals(key):
    """Counts made by tests/golden/models/make_transformer_sets_param_counts.py with T2T
    1.15.7 (vocabulary 20, the sets at 2 layers), plus for the mixtures of experts the
    variables the original creates and never uses (see `_unused_in_the_original`)."""
    model_name, name = key.split("/")
    hp = _at_golden_depth(name)
    ours = _count_on_meta(model_name, hp, name in LM_SETS)
    assert ours + _unused_in_the_original(name, hp) == _golden()["counts"][key]


def test_the_sets_the_original_cannot_build_are_recorded_as_such():
    counts = _golden()["counts"]
    for key in (
        "transformer/transformer_base_vq_ada_32ex_packed",
        "lstm_seq2seq_attention/lstm_area_attention_base",
    ):
        if key in counts:
            assert str(counts[key]).startswith("error")
    # Ours builds it: one codebook entry per expert (T2T's first layer had 16 for 32 experts).
    hp = tiny("transformer_base_vq_ada_32ex_packed")
    model = registry.model("transformer")(hp, make_problem_hparams(inputs=None))
    gating = model.decoder.layers[0].ffn.sublayer.moe.gating
    assert gating.means.shape == (1, 32, 16) and math.isclose(gating.beta, 0.25)


def test_the_transformers_local_moe_loss_coefficient_is_t2ts_1e_2():
    """T2T's transformer_ffn_layer calls local_moe without moe_loss_coef (1e-3 in these
    sets), so local_moe's default 1e-2 applies; local_moe_tpu reads the hparam."""
    hp = tiny("transformer_topk_16_packed")
    assert hp.moe_loss_coef == 1e-3
    model = registry.model("transformer")(hp, make_problem_hparams(inputs=None))
    assert model.decoder.layers[0].ffn.sublayer.moe.loss_coef == 1e-2
    hp.ffn_layer = "local_moe_tpu"
    hp.gating_type = "topk"
    model = registry.model("transformer")(hp, make_problem_hparams(inputs=None))
    assert model.decoder.layers[0].ffn.sublayer.moe.loss_coef == 1e-3
