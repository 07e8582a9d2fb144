"""t2t.visualization on a trained tiny Transformer of a --t2t_usr_dir problem (conftest.py)."""

import os
import shutil

import numpy as np
import pytest

from t2t import visualization
from t2t.errors import T2TError

SENTENCE = "alpha beta gamma"
USR_DIR = os.path.join(os.path.dirname(__file__), "..", "problems", "fixtures", "problems_usr_dir")
HPARAMS = "hidden_size=16,filter_size=32,num_heads=2"
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]


@pytest.fixture(scope="module")
def view(loaded):
    return visualization.attention_view(loaded, SENTENCE)


def test_shapes_follow_the_pieces(loaded, view):
    layers, heads = loaded.hparams.num_hidden_layers, loaded.hparams.num_heads
    source, target = len(view.input_pieces), len(view.output_pieces)
    assert view.input_pieces[-1].startswith("<EOS>") and view.output_pieces[-1].startswith("<EOS>")
    assert source == len(view.input_ids) == len(loaded.encode(SENTENCE)) + 1
    assert target == len(view.output_ids)
    assert [m.shape for m in view.encoder_self] == [(heads, source, source)] * layers
    assert [m.shape for m in view.decoder_self] == [(heads, target, target)] * layers
    assert [m.shape for m in view.encoder_decoder] == [(heads, target, source)] * layers
    for kind in visualization.KINDS:
        assert all(m.dtype == np.float32 for m in getattr(view, kind))


def test_rows_are_distributions_and_the_decoder_is_causal(view):
    for kind in visualization.KINDS:
        for matrix in getattr(view, kind):
            assert (matrix >= 0).all()
            np.testing.assert_allclose(matrix.sum(-1), 1.0, atol=1e-5)
    for matrix in view.decoder_self:  # a position never attends to a later one
        assert np.triu(matrix, k=1).max() < 1e-6
        assert not np.allclose(matrix, np.tril(np.ones_like(matrix)) / matrix.shape[-1])


def test_the_translation_is_the_greedy_decode(loaded, view):
    assert view.translation == loaded.decode([SENTENCE], beam_size=1)[0]
    assert set(view.translation.split()) <= {w.upper() for w in WORDS}  # it has learnt a little
    assert view.beams[0][0] == view.translation and len(view.beams) == 1
    assert "".join(view.output_pieces).replace("_", " ").split()[:-1] == view.translation.split()


def test_beam_search_keeps_every_beam(loaded):
    view = visualization.attention_view(loaded, SENTENCE, beam_size=3, alpha=0.6)
    expected = loaded.decode([SENTENCE], beam_size=3, alpha=0.6, return_beams=True)[0]
    assert [text for text, _ in view.beams] == [text for text, _ in expected]
    np.testing.assert_allclose([s for _, s in view.beams], [s for _, s in expected], rtol=1e-5)
    assert view.translation == expected[0][0]
    assert all(1 not in ids[:-1] for ids in view.beam_ids)  # cut after EOS
    assert view.output_ids == view.beam_ids[0]


def test_recording_changes_nothing_the_model_computes(loaded, view):
    import torch

    from t2t.layers.attention import recording_attention

    features = {
        "inputs": torch.tensor([view.input_ids]),
        "targets": torch.tensor([view.output_ids]),
    }
    with torch.no_grad():
        plain = loaded.model(features)[0]
        with recording_attention() as recorder:
            recorded = loaded.model(features)[0]
    torch.testing.assert_close(recorded, plain, atol=1e-5, rtol=1e-5)
    assert len(recorder.records) == 3 * loaded.hparams.num_hidden_layers


def test_t2t_notebook_class_and_a_run_without_run_json(trained, loaded, tmp_path):
    """T2T's AttentionVisualizer took the names; a directory with only checkpoints works."""
    bare = tmp_path / "bare"
    shutil.copytree(trained["model_dir"], bare)
    os.remove(bare / "run.json")
    os.remove(bare / "hparams.json")
    visualizer = visualization.AttentionVisualizer(
        "transformer_tiny", "transformer", trained["data_dir"], "my_tiny_translate",
        model_dir=str(bare), hparams=HPARAMS, t2t_usr_dir=USR_DIR,
    )  # fmt: skip
    output, inputs, outputs, (enc, dec, encdec) = visualizer.get_vis_data_from_string(SENTENCE)
    assert output == loaded.decode([SENTENCE], beam_size=1)[0]
    assert len(enc) == len(dec) == len(encdec) == 2
    assert enc[0].shape == (1, 2, len(inputs), len(inputs))
    assert dec[1].shape == (1, 2, len(outputs), len(outputs))
    assert encdec[0].shape == (1, 2, len(outputs), len(inputs))


def test_missing_names_and_directories_are_one_line_errors(trained, tmp_path):
    with pytest.raises(T2TError, match="is not a directory"):
        visualization.load_model(str(tmp_path / "nothing"))
    with pytest.raises(T2TError, match="no run.json: give --problem"):
        visualization.load_model(str(tmp_path), model="transformer")
    with pytest.raises(T2TError, match="nonexistent_problem"):
        visualization.load_model(
            trained["model_dir"], problem="nonexistent_problem", t2t_usr_dir=USR_DIR
        )


def test_the_json_form_is_plain_lists(view):
    import json

    data = json.loads(json.dumps(view.to_json()))
    assert data["translation"] == view.translation
    assert np.allclose(np.array(data["encoder_decoder"][1]), view.encoder_decoder[1])
    assert data["beams"][0]["text"] == view.translation


@pytest.fixture(scope="module")
def language_model(tmp_path_factory):
    """A character language model of the user directory (no inputs), trained 2 steps."""
    import subprocess
    import sys

    tmp = tmp_path_factory.mktemp("lm")
    for module, *args in [
        ("t2t_datagen", f"--tmp_dir={tmp / 'tmp'}"),
        ("t2t_trainer", "--model=transformer", "--hparams_set=transformer_tiny",
         f"--hparams={HPARAMS}", f"--output_dir={tmp / 'train'}", "--train_steps=2",
         "--local_eval_frequency=2", "--eval_steps=1", "--noprogress_bar"),
    ]:  # fmt: skip
        out = subprocess.run(
            [sys.executable, "-m", f"t2t.bin.{module}", f"--t2t_usr_dir={USR_DIR}",
             "--problem=my_char_lm", f"--data_dir={tmp / 'data'}", *args],
            capture_output=True, text=True, timeout=600,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )  # fmt: skip
        assert out.returncode == 0, out.stderr[-3000:]
    return visualization.load_model(str(tmp / "train"), t2t_usr_dir=USR_DIR, device="cpu")


@pytest.mark.parametrize("beam_size", [1, 2])
def test_a_problem_without_inputs_shows_decoder_self_attention_only(language_model, beam_size):
    view = visualization.attention_view(language_model, "sentence", beam_size, extra_length=5)
    assert view.translation == language_model.decode(["sentence"], beam_size, extra_length=5)[0]
    assert view.input_ids == [] and view.input_pieces == []
    assert view.encoder_self == [] and view.encoder_decoder == []
    target = len(view.output_ids)
    assert view.output_pieces[:8] == list("sentence")  # the prefix, then the continuation
    assert all(ids[:8] == view.output_ids[:8] for ids in view.beam_ids)
    assert [m.shape for m in view.decoder_self] == [(2, target, target)] * 2
    for matrix in view.decoder_self:
        np.testing.assert_allclose(matrix.sum(-1), 1.0, atol=1e-5)
