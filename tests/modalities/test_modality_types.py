"""Every registered modality type: parts' shapes, and loss values pinned on tiny inputs.

Golden values are derived by hand from T2T's formulas (the spec, section 5.4, and the
original's layers/modalities.py); each test says how. Uniform logits (all zeros) over V
classes give a cross-entropy of ln V per position, which most cases use. The multi_label,
one_hot_class_label, sigmoid_class_label, real_l2, real_log_poisson, generic_l2 and
symbol_one_hot values were also checked once against T2T 1.15.7's own loss functions on the
same inputs (they agree to float32 precision); ctc_symbol's differs from T2T by design (see
`t2t.modalities.ctc_symbol`).
"""

import math

import pytest
import torch

from t2t import registry
from t2t.errors import HParamsError
from t2t.modalities import ModalityType
from t2t.modalities.base import weights_all, weights_nonzero

# The 18 text / class / real types of T2T, by their ModalityType names.
TYPES = [
    ModalityType.SYMBOL,
    ModalityType.SYMBOL_WEIGHTS_ALL,
    ModalityType.SYMBOL_ONE_HOT,
    ModalityType.CTC_SYMBOL,
    ModalityType.IDENTITY_SYMBOL,
    ModalityType.CLASS_LABEL,
    ModalityType.MULTI_LABEL,
    ModalityType.ONE_HOT_CLASS_LABEL,
    ModalityType.SIGMOID_CLASS_LABEL,
    ModalityType.SIGMOID_MAX_POOLING_CLASS_LABEL,
    ModalityType.SOFTMAX_AVERAGE_POOLING_CLASS_LABEL,
    ModalityType.SOFTMAX_LAST_TIMESTEP_CLASS_LABEL,
    ModalityType.SOFTMAX_MAX_POOLING_CLASS_LABEL,
    ModalityType.REAL,
    ModalityType.REAL_L2_LOSS,
    ModalityType.REAL_LOG_POISSON_LOSS,
    ModalityType.IDENTITY,
    ModalityType.GENERIC_L2_LOSS,
]
LN3 = math.log(3.0)


def test_every_text_class_real_type_is_registered_under_its_t2t_name():
    assert len(TYPES) == 18
    assert set(TYPES) <= set(registry.list_modalities())
    # T2T's strings, not the constant names: REAL_L2_LOSS is "real_l2".
    assert ModalityType.REAL_L2_LOSS == "real_l2"
    assert ModalityType.REAL_LOG_POISSON_LOSS == "real_log_poisson"
    assert ModalityType.GENERIC_L2_LOSS == "generic_l2"
    for name in TYPES:
        assert registry.modality(name).REGISTERED_NAME == name


def test_problem_module_reexports_the_one_modality_type():
    from t2t.compat import modalities as layers_modalities
    from t2t.problems import problem

    assert problem.ModalityType is ModalityType
    assert layers_modalities.REAL_L2_LOSS == problem.ModalityType.REAL_L2_LOSS


def test_unknown_type_names_the_registered_ones():
    from t2t.modalities.base import get_modality

    with pytest.raises(HParamsError, match="did you mean real_l2") as error:
        get_modality("real_l2_los", "targets")
    assert "registered: class_label" in str(error.value)


# ---- inputs per family, for the shape test ------------------------------------------


def _inputs(name):
    """(input feature, targets, body output [2, 3, 4]) of the right kind for `name`."""
    g = torch.Generator().manual_seed(0)
    body = torch.randn(2, 3, 4, generator=g)
    ids = torch.tensor([[2, 3, 0], [1, 4, 2]])
    if "symbol" in name or name == ModalityType.IDENTITY:
        # no repeated neighbours: CTC fits each in 3 frames
        targets = torch.tensor([[2, 3, 0], [1, 2, 1]])
        return ids, targets, body
    if name == ModalityType.CLASS_LABEL:
        return torch.tensor([1, 4]), torch.tensor([[3], [0]]), body
    if name == ModalityType.MULTI_LABEL:
        return torch.tensor([1, 4]), torch.tensor([[3, 1], [2, 0]]), body
    if "class_label" in name:  # one-hot / multi-hot targets [B, V]
        return torch.tensor([1, 4]), torch.eye(5)[[3, 0]], body
    real = torch.rand(2, 3, generator=g)
    return real, real, body


def _top_input(name, body):
    """What the top reads: the body output, or logits [B, T, V] for identity tops."""
    if name in (ModalityType.IDENTITY_SYMBOL, ModalityType.SYMBOL_ONE_HOT):
        return torch.randn(2, 3, 5)
    if name == ModalityType.GENERIC_L2_LOSS:
        return torch.randn(2, 3)
    return body


@pytest.mark.parametrize("name", TYPES)
def test_parts_shapes_and_a_finite_differentiable_loss(name, spec_for):
    vocab = 1 if name.startswith("real") else 5  # one prediction per real target
    modality, spec = spec_for(name, vocab_size=vocab)
    inputs, targets, body = _inputs(name)
    bottom = modality.bottom(spec)
    targets_bottom = modality.targets_bottom(spec)
    top = modality.top(spec)
    embedded = bottom(inputs)
    assert embedded.dtype == torch.float32 and embedded.shape[0] == 2
    if "symbol" in name and name not in (ModalityType.IDENTITY_SYMBOL,):
        expected = 5 if name == ModalityType.SYMBOL_ONE_HOT else 4
        assert embedded.shape == (2, 3, expected)
    if "class_label" in name:
        assert embedded.shape == (2, 1, 4)
        assert targets_bottom(targets).shape == (2, 1, 4)
        assert targets_bottom(targets).abs().sum() == 0
    if name.startswith("real"):
        assert embedded.shape == (2, 3, 4) and targets_bottom(targets).shape == (2, 3, 4)
    top_in = _top_input(name, body).requires_grad_()
    logits = top(top_in)
    if "class_label" in name:
        assert logits.shape == (2, 1, 5)
    elif name in (ModalityType.SYMBOL, ModalityType.SYMBOL_WEIGHTS_ALL, ModalityType.CTC_SYMBOL):
        assert logits.shape == (2, 3, 5)
    num, den = modality.loss(logits, targets, spec.hparams, vocab, modality.weights_fn)
    assert num.dim() == 0 and den.dim() == 0 and torch.isfinite(num)
    num.backward()
    assert top_in.grad is not None


# ---- golden values ------------------------------------------------------------------


def test_symbol_loss_and_weights(spec_for):
    # Zero logits over V = 3: ln 3 per position; PAD (0) labels weigh 0 for symbol and 1
    # for symbol_weights_all.
    logits = torch.zeros(1, 4, 3)
    labels = torch.tensor([[1, 2, 0, 0]])
    for name, count in ((ModalityType.SYMBOL, 2), (ModalityType.SYMBOL_WEIGHTS_ALL, 4)):
        modality, spec = spec_for(name, vocab_size=3)
        num, den = modality.loss(logits, labels, spec.hparams, 3, modality.weights_fn)
        assert den.item() == count
        assert math.isclose(num.item(), count * LN3, rel_tol=1e-6)


def test_symbol_bottom_and_top_values(spec_for, tiny_hp):
    # bottom = table row × sqrt(H) = 2 × row (H = 4), PAD -> 0; top = x · Wᵀ.
    hp = tiny_hp(shared_embedding_and_softmax_weights=True)
    modality, spec = spec_for(ModalityType.SYMBOL, vocab_size=5, hparams=hp)
    bottom, top = modality.bottom(spec), modality.top(spec)
    table = spec.tables[bottom.key]
    out = bottom(torch.tensor([[0, 2]]))
    torch.testing.assert_close(out[0, 1], 2.0 * table[2])
    assert out[0, 0].abs().sum() == 0
    torch.testing.assert_close(top(torch.eye(4)[None]), table.t()[None])
    # shared embedding and softmax: one table; without sharing, two (T2T's scopes)
    assert list(spec.tables.tables) == ["symbol_modality_5_4_shared"]
    modality, spec = spec_for(ModalityType.SYMBOL, vocab_size=5)
    modality.bottom(spec), modality.top(spec)
    assert list(spec.tables.tables) == [
        "symbol_modality_5_4_input_emb",
        "symbol_modality_5_4_softmax",
    ]


def test_symbol_one_hot(spec_for):
    # bottom: one-hot rows; loss: mean over all 4 positions (PAD included) of ln 3; den 1.
    modality, spec = spec_for(ModalityType.SYMBOL_ONE_HOT, vocab_size=3)
    assert modality.bottom(spec)(torch.tensor([[2, 0]])).tolist() == [[[0, 0, 1], [1, 0, 0]]]
    labels = torch.tensor([[1, 2, 0, 0]])
    num, den = modality.loss(torch.zeros(1, 4, 3), labels, spec.hparams, 3, weights_nonzero)
    assert den.item() == 1.0 and math.isclose(num.item(), LN3, rel_tol=1e-6)


def test_ctc_symbol_loss_by_hand(spec_for):
    # V = 3, blank = id 2 (TF's last class); two frames with softmax probabilities
    # [0.2, 0.5, 0.3] and [0.1, 0.6, 0.3]; target "1". The alignments of "1" in two frames
    # are (1, blank), (blank, 1) and (1, 1): p = .5·.3 + .3·.6 + .5·.6 = 0.63.
    modality, spec = spec_for(ModalityType.CTC_SYMBOL, vocab_size=3)
    logits = torch.log(torch.tensor([[[0.2, 0.5, 0.3], [0.1, 0.6, 0.3]]]))
    num, den = modality.loss(logits, torch.tensor([[1, 0]]), spec.hparams, 3, weights_nonzero)
    assert den.item() == 1.0
    assert math.isclose(num.item(), -math.log(0.63), rel_tol=1e-5)
    assert modality.weights_fn is not None and modality.sequence_targets


def test_identity_symbol_passes_ids_and_logits_through(spec_for):
    modality, spec = spec_for(ModalityType.IDENTITY_SYMBOL, vocab_size=3)
    ids = torch.tensor([[2, 0]])
    assert modality.bottom(spec)(ids).tolist() == [[2.0, 0.0]]
    logits = torch.zeros(1, 2, 3)
    assert modality.top(spec)(logits) is logits
    num, den = modality.loss(logits, ids, spec.hparams, 3, modality.weights_fn)
    assert den.item() == 1.0 and math.isclose(num.item(), LN3, rel_tol=1e-6)


def test_class_label_values(spec_for):
    modality, spec = spec_for(ModalityType.CLASS_LABEL, vocab_size=3)
    bottom = modality.bottom(spec)
    # bottom: kernel row × sqrt(H) = 2 × row
    torch.testing.assert_close(bottom(torch.tensor([2]))[0, 0], 2.0 * bottom.kernel[2])
    # top: mean over positions, then dense with bias
    top = modality.top(spec)
    body = torch.arange(24.0).reshape(2, 3, 4)
    torch.testing.assert_close(top(body), top.dense(body.mean(dim=1, keepdim=True)))
    # loss: every example counts, label 0 included (weights_all): 2 × ln 3 over 2.
    num, den = modality.loss(
        torch.zeros(2, 1, 3), torch.tensor([0, 2]), spec.hparams, 3, modality.weights_fn
    )
    assert den.item() == 2.0 and math.isclose(num.item(), 2 * LN3, rel_tol=1e-6)
    assert modality.scope_name(spec.hparams, 3) == "class_label_modality_3_4"


def test_multi_label_averages_per_example(spec_for):
    # Logits of example 0 favour class 1: p = softmax([0, ln 2, 0]) = [1/4, 1/2, 1/4];
    # its labels {1, 2} give (ln 2 + ln 4) / 2 = 1.5 ln 2. Example 1 has no label: not counted.
    modality, spec = spec_for(ModalityType.MULTI_LABEL, vocab_size=3)
    logits = torch.tensor([[[0.0, math.log(2.0), 0.0]], [[5.0, 0.0, 0.0]]])
    targets = torch.tensor([[1, 2], [0, 0]])
    num, den = modality.loss(logits, targets, spec.hparams, 3, modality.weights_fn)
    assert den.item() == 1.0
    assert math.isclose(num.item(), 1.5 * math.log(2.0), rel_tol=1e-5)


def test_one_hot_and_softmax_pooling_losses_keep_t2ts_denominator(spec_for):
    # Mean softmax xent of zero logits over 3 classes is ln 3; T2T's denominator is
    # Σ weights_all(one-hot targets) = B·V = 6.
    targets = torch.eye(3)[[0, 2]]
    for name in (
        ModalityType.ONE_HOT_CLASS_LABEL,
        ModalityType.SOFTMAX_AVERAGE_POOLING_CLASS_LABEL,
        ModalityType.SOFTMAX_LAST_TIMESTEP_CLASS_LABEL,
        ModalityType.SOFTMAX_MAX_POOLING_CLASS_LABEL,
    ):
        modality, spec = spec_for(name, vocab_size=3)
        num, den = modality.loss(torch.zeros(2, 1, 3), targets, spec.hparams, 3, weights_all)
        assert den.item() == 6.0 and math.isclose(num.item(), LN3, rel_tol=1e-6), name
    with pytest.raises(HParamsError, match="one value per class"):
        modality.loss(torch.zeros(2, 1, 3), torch.tensor([0, 2]), spec.hparams, 3, weights_all)


def test_sigmoid_losses(spec_for):
    # Elementwise sigmoid xent: logit 2 with label 1 -> ln(1 + e^-2); with label 0 ->
    # ln(1 + e^2); the numerator is their mean over the 2 elements, den = 2.
    expected = (math.log1p(math.exp(-2.0)) + math.log1p(math.exp(2.0))) / 2
    for name in (ModalityType.SIGMOID_CLASS_LABEL, ModalityType.SIGMOID_MAX_POOLING_CLASS_LABEL):
        modality, spec = spec_for(name, vocab_size=2)
        logits = torch.full((1, 1, 2), 2.0)
        num, den = modality.loss(logits, torch.tensor([[1, 0]]), spec.hparams, 2, weights_all)
        assert den.item() == 2.0 and math.isclose(num.item(), expected, rel_tol=1e-6)


@pytest.mark.parametrize(
    "name, pooled",
    [
        (ModalityType.SOFTMAX_AVERAGE_POOLING_CLASS_LABEL, [[4.0, 5.0]]),
        (ModalityType.SOFTMAX_LAST_TIMESTEP_CLASS_LABEL, [[8.0, 9.0]]),
        (ModalityType.SOFTMAX_MAX_POOLING_CLASS_LABEL, [[8.0, 9.0]]),
        (ModalityType.SIGMOID_MAX_POOLING_CLASS_LABEL, [[8.0, 9.0]]),
    ],
)
def test_pooling_tops(name, pooled, spec_for):
    # body [[0, 1], [4, 5], [8, 9]] with the dense layer set to identity: mean -> [4, 5];
    # last and max -> [8, 9].
    modality, spec = spec_for(name, vocab_size=2, depth=2)
    top = modality.top(spec)
    with torch.no_grad():
        top.dense.weight.copy_(torch.eye(2))
        top.dense.bias.zero_()
    body = torch.tensor([[[0.0, 1.0], [4.0, 5.0], [8.0, 9.0]]])
    assert top(body).tolist() == [pooled]


def test_pooling_scope_names_are_t2ts(spec_for):
    hp = spec_for(ModalityType.SYMBOL)[1].hparams
    expected = {
        ModalityType.SIGMOID_CLASS_LABEL: "sigmoid_class_symbol_modality_7_4",
        ModalityType.SIGMOID_MAX_POOLING_CLASS_LABEL: (
            "sigmoid_max_pooling_class_symbol_modality_7_4"
        ),
        ModalityType.SOFTMAX_AVERAGE_POOLING_CLASS_LABEL: (
            "softmax_average_pooling_onehot_class_label_modality_7_4"
        ),
        ModalityType.SOFTMAX_LAST_TIMESTEP_CLASS_LABEL: (
            "softmax_last_timestep_onehot_class_label_modality_7_4"
        ),
        ModalityType.SOFTMAX_MAX_POOLING_CLASS_LABEL: (
            "softmax_max_pooling_onehot_class_label_modality_7_4"
        ),
        ModalityType.MULTI_LABEL: "class_label_modality_7_4",
        ModalityType.CTC_SYMBOL: "symbol_modality_7_4",
        ModalityType.REAL_L2_LOSS: "real_l2_loss_modality",
        ModalityType.GENERIC_L2_LOSS: "generic_l2_loss_modality",
        ModalityType.IDENTITY: "identity_modality",
    }
    for name, scope in expected.items():
        assert registry.modality(name)().scope_name(hp, 7) == scope


def test_real_losses(spec_for):
    # predictions [1, 2, 1] squeezed against targets [1, 2]:
    # real_l2: (0 - 1)² + (2 - 2)² = 1 over 2 weights;
    # real_log_poisson: (e^0 - 1·0) + (e^2 - 2·2) = 1 + e² - 4.
    predictions = torch.tensor([[[0.0], [2.0]]])
    targets = torch.tensor([[1.0, 2.0]])
    l2, spec = spec_for(ModalityType.REAL_L2_LOSS)
    num, den = l2.loss(predictions, targets, spec.hparams, 1, l2.weights_fn)
    assert (num.item(), den.item()) == (1.0, 2.0)
    poisson, _ = spec_for(ModalityType.REAL_LOG_POISSON_LOSS)
    num, den = poisson.loss(predictions, targets, spec.hparams, 1, poisson.weights_fn)
    assert den.item() == 2.0 and math.isclose(num.item(), math.exp(2.0) - 3.0, rel_tol=1e-6)
    # real: T2T's generic cross-entropy, targets truncated to ids; zero logits: ln 3 each.
    real, _ = spec_for(ModalityType.REAL)
    num, den = real.loss(torch.zeros(1, 2, 3), targets, spec.hparams, 3, real.weights_fn)
    assert den.item() == 2.0 and math.isclose(num.item(), 2 * LN3, rel_tol=1e-6)


def test_real_bottom_and_top_are_dense(spec_for):
    modality, spec = spec_for(ModalityType.REAL, vocab_size=3)
    bottom, top = modality.bottom(spec), modality.top(spec)
    x = torch.tensor([[0.5, -1.0]])  # [B, T] -> one channel
    torch.testing.assert_close(bottom(x), bottom.dense(x[..., None]))
    assert top(torch.zeros(1, 2, 4)).shape == (1, 2, 3)


def test_identity_and_generic_l2(spec_for):
    identity, spec = spec_for(ModalityType.IDENTITY, vocab_size=3)
    assert identity.bottom(spec)(torch.tensor([[2, 0]])).dtype == torch.float32
    num, den = identity.loss(
        torch.zeros(1, 2, 3), torch.tensor([[1, 0]]), spec.hparams, 3, identity.weights_fn
    )
    assert den.item() == 2.0 and math.isclose(num.item(), 2 * LN3, rel_tol=1e-6)
    # generic_l2: mean of (body - targets)² = ((1-0)² + (3-1)²) / 2 = 2.5, den 1.
    l2, spec = spec_for(ModalityType.GENERIC_L2_LOSS)
    num, den = l2.loss(
        torch.tensor([[1.0, 3.0]]), torch.tensor([[0, 1]]), spec.hparams, 1, weights_all
    )
    assert (num.item(), den.item()) == (2.5, 1.0)


def test_label_smoothing_comes_from_the_hparams(spec_for, tiny_hp):
    # With smoothing the value is a KL divergence: 0 for a prediction equal to the smoothed
    # target (0.9 on the label, 0.05 on each of the 2 others).
    modality, spec = spec_for(ModalityType.SYMBOL, vocab_size=3)
    hp = tiny_hp(label_smoothing=0.1)
    logits = torch.log(torch.tensor([[[0.05, 0.9, 0.05]]]))
    num, den = modality.loss(logits, torch.tensor([[1]]), hp, 3, modality.weights_fn)
    assert den.item() == 1.0 and abs(num.item()) < 1e-5


def test_t2t_user_code_finds_modality_type_where_t2t_has_it():
    from t2t.compat import tensor2tensor_aliases

    if not tensor2tensor_aliases.install():
        pytest.skip("the original tensor2tensor is installed")
    from tensor2tensor.data_generators import problem
    from tensor2tensor.layers import modalities

    assert modalities.ModalityType is ModalityType is problem.ModalityType
    assert modalities.ModalityType.REAL_L2_LOSS in registry.list_modalities()
