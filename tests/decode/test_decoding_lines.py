"""Decoding helpers without a trained run: file names, ordering, line formats, LM prefixes."""

import os

import pytest
import torch

from t2t.decode import decoding

USR_DIR = os.path.join(os.path.dirname(__file__), "..", "problems", "fixtures", "problems_usr_dir")


def test_default_output_filename_is_t2ts():
    name = decoding.default_output_filename("dev.en", "transformer", "tb", "p", 4, 0.6)
    assert name == "dev.en.transformer.tb.p.beam4.alpha0.6.decodes"
    # T2T keeps a name that already contains the beam/alpha suffix anywhere.
    assert decoding.default_output_filename(name, "m", "h", "q", 4, 0.6) == name
    kept = "x.beam2.alpha1.0.decodes.old"
    assert decoding.default_output_filename(kept, "m", "h", "q", 2, 1.0) == kept
    other = decoding.default_output_filename(name, "m", "h", "q", 2, 0.6)
    assert other.endswith(".m.h.q.beam2.alpha0.6.decodes")


def test_decode_hparams_defaults_and_overrides():
    hp = decoding.decode_hparams("beam_size=2,return_beams=True")
    assert (hp.beam_size, hp.alpha, hp.extra_length, hp.batch_size) == (2, 0.6, 100, 0)
    assert hp.return_beams and not hp.write_beam_scores and hp.delimiter == "\n"


def test_read_inputs_strips_and_drops_trailing_empty(tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes("  a b \n\nc\xff\n".encode() + b"\xff\n")
    assert decoding.read_inputs(str(path)) == ["a b", "", "c\xff", "\ufffd"]


def test_length_sorted_order_is_stable_by_decreasing_token_count():
    lines = ["a", "a b c", "", "x y", "b", "p q r"]
    assert decoding.length_sorted_order(lines) == [1, 5, 3, 0, 4, 2]


def test_encode_batch_truncates_appends_eos_and_pads():
    batch = decoding.encode_batch(["ab", "abcdef", ""], lambda s: [ord(c) for c in s], 4)
    assert batch.tolist() == [[97, 98, 1, 0], [97, 98, 99, 1], [1, 0, 0, 0]]


def test_format_beams_lines():
    beams = [([5, 6, 1, 7], -0.123), ([6, 1], -1.5)]
    text = "".join  # ids -> text as characters of their digits
    decode = lambda ids: text(str(i) for i in ids)  # noqa: E731
    assert decoding.format_beams(beams, decode, False, True) == "56"
    assert decoding.format_beams(beams, decode, True, False) == "56\t6"
    assert decoding.format_beams(beams, decode, True, True) == "56\t-0.12\t6\t-1.50"
    assert decoding.format_beams(beams, decode, False, False, skip_eos_postprocess=True) == "5617"


def test_decode_lines_restores_input_order():
    seen = []

    def decode_batch(inputs):
        seen.append(inputs.shape)
        return [[(row[row != 0].tolist()[:-1], 0.0)] for row in inputs]  # echo without EOS

    lines = ["c", "a b c d", "", "b c"]
    results = decoding.decode_lines(
        lines, decode_batch, lambda s: [len(w) + 1 for w in s.split()], 2
    )
    assert [len(beams[0][0]) for beams in results] == [1, 4, 0, 2]
    assert seen == [torch.Size([2, 5]), torch.Size([2, 2])]  # longest first, then the rest


def test_dev_set_rows_per_beam():
    pytest.importorskip("absl")
    from t2t.bin.t2t_decoder import _rows_per_beam

    rows = _rows_per_beam(["a\t-1.00\tb\t-2.00"], ["in"], ["tg"], with_scores=True)
    assert rows == (["a\t-1.00", "b\t-2.00"], ["in", "in"], ["tg", "tg"])
    assert _rows_per_beam(["a\tb"], ["in"], ["tg"], False)[0] == ["a", "b"]


@pytest.fixture(scope="module")
def char_lm():
    """An untrained tiny Transformer LM (T2T-style user problem my_char_lm, byte vocabulary)."""
    from t2t.compat.usr_dir import import_usr_dir
    from t2t.decode.api import LoadedModel
    from t2t.train import experiment

    import_usr_dir(USR_DIR)
    torch.manual_seed(0)
    exp = experiment.build_experiment(
        "my_char_lm", "transformer", "transformer_tiny",
        "hidden_size=16,filter_size=32,num_heads=2,num_hidden_layers=1", "",
    )  # fmt: skip
    return LoadedModel(exp, "untrained", {})


@pytest.mark.parametrize("beam_size", [1, 2])
def test_language_model_prefixes_batch_equals_alone(char_lm, beam_size):
    prefixes = ["abc def", "x", "hello world again", "", "ünï 😀"]
    together = char_lm.decode(prefixes, beam_size=beam_size, extra_length=4, batch_size=8)
    alone = [char_lm.decode([p], beam_size=beam_size, extra_length=4)[0] for p in prefixes]
    assert together == alone


def test_score_is_the_mean_target_cross_entropy(char_lm):
    from t2t.decode import decoding as dec

    scores = char_lm.score([("", "abc"), ("ignored", "hello world")])
    for (_, text), score in zip([("", "abc"), ("", "hello world")], scores):
        targets = dec.encode_batch([text], char_lm._target_encode)  # [1, T], EOS included
        with torch.no_grad():
            logits, _ = char_lm.model({"targets": targets})  # [1, T, V]
        logp = torch.log_softmax(logits.float(), -1).gather(-1, targets[..., None])  # [1, T, 1]
        # T2T's score is losses["training"]: it includes the loss_multiplier, 2 for
        # character-level problems.
        assert char_lm.model.problem_hparams.loss_multiplier == 2.0
        assert score == pytest.approx(2.0 * float(-logp.mean()), rel=1e-5)
        assert targets.shape[1] == len(text) + 1


def test_names_and_order_match_the_original(tmp_path):
    """Golden values from T2T 1.15.7 (/tmp/t2t-original/bin/python): with absl flags
    --model=transformer --hparams_set=transformer_tiny, `decoding._decode_filename(base,
    problem, decode_hparams(...))`, and `decoding._get_sorted_inputs(path)` on this file."""
    name = decoding.default_output_filename
    assert name("dev.en", "transformer", "transformer_tiny", "my_problem", 2, 1.0) == (
        "dev.en.transformer.transformer_tiny.my_problem.beam2.alpha1.0.decodes"
    )
    kept = "x.beam2.alpha1.0.decodes.old"
    assert name(kept, "transformer", "transformer_tiny", "my_problem", 2, 1.0) == kept
    hp = decoding.decode_hparams("")
    assert name("dev.en", "transformer", "transformer_tiny", "p", hp.beam_size, hp.alpha) == (
        "dev.en.transformer.transformer_tiny.p.beam4.alpha0.6.decodes"
    )
    path = tmp_path / "in.txt"
    path.write_text("c d\n a b c \n\nx\ny z w\nq r\n\n", encoding="utf-8")
    lines = decoding.read_inputs(str(path))
    order = decoding.length_sorted_order(lines)
    assert [lines[i] for i in order] == ["a b c", "y z w", "c d", "q r", "x", "", ""]
    position = {index: rank for rank, index in enumerate(order)}  # T2T's sorted_keys
    assert sorted(position.items()) == [(0, 2), (1, 0), (2, 5), (3, 4), (4, 1), (5, 3), (6, 6)]


def test_read_prefixes_as_t2t_for_language_models(tmp_path):
    path = tmp_path / "prefixes.txt"
    path.write_text(" The end.\nno punct\n\nwhy?\n", encoding="utf-8")
    assert (
        decoding.read_prefixes(str(path), repeat=2) == [" The end. ", "no punct", "", "why? "] * 2
    )


def test_no_sentences_give_no_decodes(char_lm):
    assert char_lm.decode([]) == [] and char_lm.decode([], return_beams=True) == []
    assert char_lm.score([]) == []
