"""Step files: `<prefix>-<steps>` files visited oldest first (t2t-bleu, t2t-avg-all)."""

import os

from t2t.runs import step_files


def test_stepfiles_iterator_oldest_first_and_min_steps(tmp_path):
    for steps in (300, 20, 1000):
        (tmp_path / f"translate_ende-{steps}").write_text("x")
    (tmp_path / "translate_ende-12ab").write_text("x")  # not an integer step: skipped
    (tmp_path / "notes.txt").write_text("x")
    found = list(step_files.stepfiles_iterator(str(tmp_path), path_suffix=""))
    assert [f.steps for f in found] == [20, 300, 1000]
    assert found[0].filename == os.path.join(str(tmp_path), "translate_ende-20")
    found = list(step_files.stepfiles_iterator(str(tmp_path), min_steps=300, path_suffix=""))
    assert [f.steps for f in found] == [300, 1000]
    (tmp_path / "model.ckpt-5.index").write_text("x")
    found = list(step_files.stepfiles_iterator(str(tmp_path / "model.ckpt")))
    assert [(os.path.basename(f.filename), f.steps) for f in found] == [("model.ckpt-5", 5)]


def test_t2t_user_code_finds_stepfiles_iterator_in_bleu_hook():
    from t2t.compat import bleu_hook, tensor2tensor_aliases

    assert tensor2tensor_aliases.MODULE_ALIASES["tensor2tensor.utils.bleu_hook"] == (
        "t2t.compat.bleu_hook"
    )
    assert bleu_hook.stepfiles_iterator is step_files.stepfiles_iterator
    assert callable(bleu_hook.compute_bleu)
