"""t2t-decoder on an image problem: the dev set's predicted labels, and image files.

A shake_shake (8 layers, width 16) trains 4 steps on a tiny MNIST archive in the real idx
format; the checks are on what the decoder writes, not on accuracy.
"""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("PIL")

HERE = os.path.dirname(__file__)
HPARAMS = "num_hidden_layers=8,hidden_size=16,batch_size=4"


def _archives():
    path = os.path.join(HERE, "..", "problems", "image_archives.py")
    spec = importlib.util.spec_from_file_location("image_archives_for_decode", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def command(module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"t2t.bin.{module}", *args],
                          capture_output=True, text=True, timeout=600)  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("image_decode")
    digits = _archives().write_mnist(str(tmp), n_train=12, n_test=5)
    out = command(
        "t2t_trainer", "--generate_data", f"--tmp_dir={tmp}", f"--data_dir={tmp / 'data'}",
        f"--output_dir={tmp / 'train'}", "--problem=image_mnist", "--model=shake_shake",
        "--hparams_set=shake_shake_quick", f"--hparams={HPARAMS}", "--train_steps=4",
        "--local_eval_frequency=4", "--eval_steps=1", "--noprogress_bar",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return tmp, digits


def test_dev_set_decode_writes_one_label_per_image(run):
    tmp, digits = run
    out = command("t2t_decoder", f"--output_dir={tmp / 'train'}", f"--decode_to_file={tmp / 'dev'}")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "accuracy:" in out.stdout and "BLEU" not in out.stdout
    stem = tmp / "dev.shake_shake.shake_shake_quick.image_mnist.beam4.alpha0.6"
    decodes = (stem.parent / (stem.name + ".decodes")).read_text().splitlines()
    targets = (stem.parent / (stem.name + ".targets")).read_text().splitlines()
    assert len(decodes) == len(targets) == 5
    assert all(d in {str(c) for c in range(10)} for d in decodes)  # labels, none cut at EOS (1)
    assert sorted(targets) == sorted(str(label) for label in digits["t10k"][1])


def test_decode_from_file_reads_image_paths(run, tmp_path):
    from PIL import Image

    tmp, digits = run
    paths = []
    for i, image in enumerate(digits["t10k"][0][:3]):
        paths.append(tmp_path / f"digit{i}.png")
        Image.fromarray(np.asarray(image)).save(paths[-1])
    listing = tmp_path / "images.txt"
    listing.write_text("\n".join(str(p) for p in paths) + "\n")
    out = command(
        "t2t_decoder", f"--output_dir={tmp / 'train'}", f"--decode_from_file={listing}",
        f"--decode_to_file={tmp_path / 'labels.txt'}",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    labels = (tmp_path / "labels.txt").read_text().splitlines()
    assert len(labels) == 3 and all(label in {str(c) for c in range(10)} for label in labels)


def test_a_missing_image_is_one_line(run, tmp_path):
    tmp, _ = run
    listing = tmp_path / "images.txt"
    listing.write_text(str(tmp_path / "nowhere.png") + "\n")
    out = command(
        "t2t_decoder", f"--output_dir={tmp / 'train'}", f"--decode_from_file={listing}",
        f"--decode_to_file={tmp_path / 'x.txt'}",
    )  # fmt: skip
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "cannot read image" in out.stderr


def test_class_one_is_a_label_not_the_end_of_a_sequence():
    """Label 1 shares EOS's id; the decoder writes it as a class (T2T wrote "")."""
    from types import SimpleNamespace

    import torch

    from t2t.bin.t2t_decoder import _decode_lines
    from t2t.data.text_encoder import ClassLabelEncoder

    predicted = [[([1], -0.1)], [([0], -0.2)], [([7], -0.3)]]
    loaded = SimpleNamespace(
        encoders={"targets": ClassLabelEncoder([str(c) for c in range(10)])},
        encode=lambda line: [2],
        make_inputs_fn=lambda: lambda lines: torch.zeros(len(lines), 1, dtype=torch.long),
        decode_batch_fn=lambda *args, **kwargs: lambda inputs: predicted[: inputs.shape[0]],
        final_id=lambda task_id=-1: 1,
    )
    hp = SimpleNamespace(
        beam_size=1, alpha=0.0, return_beams=False, extra_length=0, batch_size=8,
        max_input_size=-1, write_beam_scores=False, skip_eos_postprocess=False,
        multiproblem_task_id=-1, step_mode="module",
    )  # fmt: skip
    assert _decode_lines(loaded, ["a", "b", "c"], hp) == ["1", "0", "7"]
