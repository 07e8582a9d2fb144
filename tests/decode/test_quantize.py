"""int8 decoding (`t2t.decode.quantize`): which layers change, determinism, closeness to float32.

The run is a tiny Transformer trained a few steps on a T2T-style user problem through the
real commands (as in test_decoder.py); BLEU within 0.3 of float32 on a trained model is a
measurement, recorded in docs/results.md with its command.
"""

import os
import subprocess
import sys

import pytest
import torch
from torch import nn

import t2t
from t2t.decode import quantize as quantization
from t2t.errors import T2TError

USR_DIR = os.path.join(os.path.dirname(__file__), "..", "problems", "fixtures", "problems_usr_dir")
TINY = "hidden_size=32,filter_size=64,num_heads=2,batch_size=64,learning_rate_warmup_steps=4"
SENTENCES = ["alpha beta gamma delta epsilon", "zeta", "eta theta alpha beta", ""]


def command(module: str, *args: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", f"t2t.bin.{module}", *args],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("quantize")
    common = [f"--t2t_usr_dir={USR_DIR}", "--problem=my_tiny_translate", f"--data_dir={tmp / 'd'}"]
    command("t2t_datagen", *common, f"--tmp_dir={tmp / 'tmp'}")
    command(
        "t2t_trainer", *common, "--model=transformer", "--hparams_set=transformer_tiny",
        f"--hparams={TINY}", f"--output_dir={tmp / 'train'}", "--train_steps=12",
        "--local_eval_frequency=12", "--eval_steps=1", "--random_seed=5", "--noprogress_bar",
    )  # fmt: skip
    from t2t.compat.usr_dir import import_usr_dir

    import_usr_dir(USR_DIR)
    return tmp / "train"


def test_int8_swaps_every_linear_and_keeps_the_embedding_float():
    model = nn.Sequential(nn.Embedding(10, 8), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
    linears = sum(isinstance(m, nn.Linear) for m in model.modules())
    quantization.quantize(model, "int8")
    assert quantization.count_quantized(model) == linears == 2
    assert model[0].weight.dtype == torch.float32
    assert not model.training


def test_none_leaves_the_model_alone():
    model = nn.Linear(4, 4)
    assert quantization.quantize(model, "none") is model
    assert quantization.quantize(model, None) is model
    assert quantization.count_quantized(model) == 0


@pytest.mark.parametrize("choice", ["int4", "fp8", "yes"])
def test_unknown_choice_names_the_valid_ones(choice):
    with pytest.raises(T2TError, match="none, int8"):
        quantization.quantize(nn.Linear(2, 2), choice)


def test_a_model_off_the_cpu_is_refused():
    model = nn.Linear(2, 2, device="meta")
    with pytest.raises(T2TError, match="--device=cpu"):
        quantization.quantize(model, "int8")


def test_int8_logits_stay_close_to_float32(run_dir):
    exact = t2t.load(str(run_dir), device="cpu")
    int8 = t2t.load(str(run_dir), device="cpu", quantize="int8")
    assert quantization.count_quantized(int8.model) > 0
    assert quantization.count_quantized(exact.model) == 0
    ids = torch.tensor([exact.encode("alpha beta gamma delta")])
    features = {"inputs": ids, "targets": ids, "target_space_id": torch.tensor([0])}
    with torch.no_grad():
        want = exact.model(features)[0]
        got = int8.model(features)[0]
    assert got.shape == want.shape
    # int8 rounding moves each logit by a small fraction of the logits' spread.
    assert (got - want).abs().max() < 0.05 * (want.max() - want.min())


def test_int8_decodes_are_deterministic_and_mostly_equal_to_float32(run_dir):
    int8 = t2t.load(str(run_dir), device="cpu", quantize="int8")
    first = int8.decode(SENTENCES, beam_size=2, extra_length=6)
    again = int8.decode(SENTENCES, beam_size=2, extra_length=6)
    assert first == again
    exact = t2t.load(str(run_dir), device="cpu").decode(SENTENCES, beam_size=2, extra_length=6)
    assert sum(a == b for a, b in zip(first, exact, strict=True)) >= len(SENTENCES) // 2


def test_decoder_flag_decodes_a_file_in_int8(run_dir, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("\n".join(SENTENCES[:3]) + "\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    command(
        "t2t_decoder", f"--t2t_usr_dir={USR_DIR}", f"--output_dir={run_dir}", "--quantize=int8",
        f"--decode_from_file={source}", f"--decode_to_file={out}",
        "--decode_hparams=beam_size=2,extra_length=6",
    )  # fmt: skip
    want = t2t.load(str(run_dir), device="cpu", quantize="int8").decode(
        SENTENCES[:3], beam_size=2, extra_length=6
    )
    assert out.read_text(encoding="utf-8").splitlines() == want


def test_decoder_rejects_an_unknown_choice_in_one_line(run_dir):
    out = subprocess.run(
        [sys.executable, "-m", "t2t.bin.t2t_decoder", f"--t2t_usr_dir={USR_DIR}",
         f"--output_dir={run_dir}", "--quantize=int3", "--decode_interactive"],
        capture_output=True, text=True, timeout=300, input="",
    )  # fmt: skip
    assert out.returncode != 0
    assert "unknown quantization 'int3'" in out.stderr
    assert "Traceback" not in out.stderr
