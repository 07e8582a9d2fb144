"""Speech recognition through the commands: a user's SpeechRecognitionProblem (in a
--t2t_usr_dir) -> t2t-datagen -> t2t-trainer (a tiny Transformer ASR, a few steps) ->
t2t-decoder on a list of audio files, with character and word error rates."""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("soundfile")

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "problems"))
import speech_data  # noqa: E402

USR_DIR = os.path.join(os.path.dirname(__file__), "..", "problems", "fixtures", "speech_usr_dir")
TINY = (
    "hidden_size=16,filter_size=32,num_heads=2,num_encoder_layers=1,num_decoder_layers=1,"
    "batch_size=60000,learning_rate_warmup_steps=10"
)


def command(name: str, *args: str) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [sys.executable, "-m", f"t2t.bin.{name}", f"--t2t_usr_dir={USR_DIR}", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("speech")
    tmp_dir, data_dir, train_dir = root / "tmp", root / "data", root / "train"
    corpus = speech_data.write_manifest_corpus(str(tmp_dir))
    command("t2t_datagen", "--problem=my_speech", f"--data_dir={data_dir}", f"--tmp_dir={tmp_dir}")
    out = command(
        "t2t_trainer",
        "--problem=my_speech",
        "--model=transformer",
        "--hparams_set=transformer_librispeech_v1",
        f"--hparams={TINY}",
        f"--data_dir={data_dir}",
        f"--output_dir={train_dir}",
        "--train_steps=4",
        "--local_eval_frequency=4",
        "--eval_steps=1",
        "--random_seed=3",
        "--device=cpu",
        "--noprogress_bar",
    )
    return root, corpus, out


def test_datagen_writes_the_user_problem_shards(run):
    root, _, _ = run
    assert sorted(os.listdir(root / "data")) == [
        "my_speech-dev-00000-of-00001",
        "my_speech-train-00000-of-00002",
        "my_speech-train-00001-of-00002",
    ]


def test_trainer_evaluates_edit_distance_and_wer(run):
    root, _, _ = run
    with open(root / "train" / "log.jsonl") as f:
        evals = [r for r in map(json.loads, f) if r.get("split") == "eval"]
    assert evals and evals[-1]["step"] == 4
    for metric in ("edit_distance", "word_error_rate"):
        assert evals[-1][f"metrics-my_speech/targets/{metric}"] >= 0.0
    hparams = json.loads((root / "train" / "hparams.json").read_text())
    assert hparams["audio_num_mel_bins"] == 80 and hparams["num_zeropad_frames"] == 250


def test_decoder_transcribes_audio_files(run):
    root, corpus, _ = run
    dev = corpus["dev"]
    listing, reference = root / "dev_audio.txt", root / "dev_ref.txt"
    listing.write_text("".join(f"{root / 'tmp' / path}\n" for path, _ in dev))
    reference.write_text("".join(f"{text}\n" for _, text in dev))
    decodes = root / "dev.decodes"
    out = command(
        "t2t_decoder",
        f"--output_dir={root / 'train'}",
        f"--decode_from_file={listing}",
        f"--decode_to_file={decodes}",
        f"--decode_reference={reference}",
        "--decode_hparams=beam_size=2,alpha=0.6,extra_length=20",
        "--device=cpu",
    )
    lines = decodes.read_text().split("\n")
    assert len(lines) == len(dev) + 1 and lines[-1] == ""
    assert "CER = " in out.stdout and "WER = " in out.stdout


def test_decoder_decodes_the_dev_set_with_error_rates(run, tmp_path):
    root, corpus, _ = run
    out = command(
        "t2t_decoder",
        f"--output_dir={root / 'train'}",
        f"--decode_to_file={tmp_path / 'dev'}",
        "--decode_hparams=beam_size=1,extra_length=5,num_samples=2",
        "--device=cpu",
    )
    assert "Decoded 2 dev examples" in out.stdout and "WER = " in out.stdout
    targets = sorted(p for p in os.listdir(tmp_path) if p.endswith(".targets"))
    written = (tmp_path / targets[0]).read_text().splitlines()
    assert set(written) <= {text for _, text in corpus["dev"]}


def test_decoder_names_a_missing_audio_file(run, tmp_path):
    root, corpus, _ = run
    listing = tmp_path / "list.txt"
    good = root / "tmp" / corpus["dev"][0][0]
    listing.write_text(f"{good}\n{tmp_path / 'missing.wav'}\n")
    out = subprocess.run(
        [sys.executable, "-m", "t2t.bin.t2t_decoder", f"--t2t_usr_dir={USR_DIR}",
         f"--output_dir={root / 'train'}", f"--decode_from_file={listing}",
         f"--decode_to_file={tmp_path / 'out'}", "--device=cpu"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode != 0
    assert "line 2" in out.stderr and "missing.wav does not exist" in out.stderr
