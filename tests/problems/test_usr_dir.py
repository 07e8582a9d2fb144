"""A T2T user directory (tensor2tensor imports) generates and batches data unchanged."""

import os
import subprocess
import sys

from t2t import registry
from t2t.compat.usr_dir import import_usr_dir
from t2t.hparams import basic_params1
from t2t.problems import pipeline

USR_DIR = os.path.join(os.path.dirname(__file__), "fixtures", "problems_usr_dir")


def _hparams():
    hp = basic_params1()
    hp.batch_size = 64
    return hp


def test_user_problems_generate_and_batch(tmp_path):
    import_usr_dir(USR_DIR)
    data_dir, tmp_dir = str(tmp_path / "data"), str(tmp_path / "tmp")
    problem = registry.problem("my_tiny_translate")
    problem.generate_data(data_dir, tmp_dir)
    files = sorted(os.listdir(data_dir))
    assert files == [
        "my_tiny_translate-dev-00000-of-00001",
        *[f"my_tiny_translate-train-0000{i}-of-00003" for i in range(3)],
        "vocab.my_tiny.128",
    ]
    model_hparams = _hparams()
    model_hparams.add_hparam("data_dir", data_dir)
    hp = problem.get_hparams(model_hparams)
    assert hp.loss_multiplier == 1.5 and hp.input_space_id == 3 and hp.stop_at_eos == 1
    encoder = hp.vocabulary["targets"]
    batches = pipeline.make_batches(problem, "train", _hparams(), data_dir, seed=0)
    batch = next(iter(batches))
    row = batch["targets"][0]
    text = encoder.decode(row[row > 1].tolist())
    assert text == text.upper() and text.split()[0].lower() in [
        "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"
    ]  # fmt: skip
    n_eval = sum(
        b["targets"].shape[0] for b in pipeline.make_batches(problem, "eval", _hparams(), data_dir)
    )
    assert n_eval == 20  # 80 samples round-robin over 3 train + 1 dev shards

    lm = registry.problem("my_char_lm")
    lm.generate_data(data_dir, tmp_dir)
    batches = list(pipeline.make_batches(lm, "eval", _hparams(), data_dir))
    assert all("inputs" not in b for b in batches)
    assert sum(b["targets"].shape[0] for b in batches) == 5
    assert lm.get_hparams().loss_multiplier == 2.0


def test_datagen_with_t2t_usr_dir(tmp_path):
    launch = (
        "import sys; from t2t import registry; from t2t.bin import t2t_datagen; t2t_datagen.run()"
    )
    out = subprocess.run(
        [sys.executable, "-c", launch, f"--t2t_usr_dir={USR_DIR}", "--problem=my_char_lm",
         f"--data_dir={tmp_path}", f"--tmp_dir={tmp_path}/tmp"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "my_char_lm-train-00000-of-00001" in os.listdir(tmp_path)
