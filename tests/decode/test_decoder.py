"""Decoding a trained run: the t2t.load API and the t2t-decoder / t2t-bleu commands.

One tiny run (a T2T-style user problem, a 16-wide Transformer, 8 steps) is trained once
for the module through the real commands: datagen -> trainer -> decoder -> bleu.
"""

import os
import subprocess
import sys

import pytest

import t2t

USR_DIR = os.path.join(os.path.dirname(__file__), "..", "problems", "fixtures", "problems_usr_dir")
TINY = "hidden_size=16,filter_size=32,num_heads=2,batch_size=64,learning_rate_warmup_steps=4"


def command(module: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [sys.executable, "-m", f"t2t.bin.{module}", *args],
        capture_output=True,
        text=True,
        timeout=300,
        input=stdin,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def decoder_in_process(capsys, *args: str) -> str:
    """Runs t2t-decoder's main in this process (saves a torch import per call); its stdout."""
    from absl import flags

    from t2t.bin import t2t_decoder

    argv = ["t2t-decoder", *args]
    try:
        flags.FLAGS(argv)
        assert t2t_decoder.main(argv[:1]) == 0
    finally:
        flags.FLAGS.unparse_flags()  # back to the defaults for the next caller
    return capsys.readouterr().out


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("decode")
    command(
        "t2t_datagen", f"--t2t_usr_dir={USR_DIR}", "--problem=my_tiny_translate",
        f"--data_dir={tmp / 'data'}", f"--tmp_dir={tmp / 'tmp'}",
    )  # fmt: skip
    command(
        "t2t_trainer", f"--t2t_usr_dir={USR_DIR}", "--problem=my_tiny_translate",
        "--model=transformer", "--hparams_set=transformer_tiny", f"--hparams={TINY}",
        f"--data_dir={tmp / 'data'}", f"--output_dir={tmp / 'train'}", "--train_steps=8",
        "--local_eval_frequency=8", "--eval_steps=1", "--random_seed=3", "--noprogress_bar",
    )  # fmt: skip
    return tmp


@pytest.fixture(scope="module")
def loaded(run_dir):
    from t2t.compat.usr_dir import import_usr_dir

    import_usr_dir(USR_DIR)
    return t2t.load(str(run_dir / "train"), device="cpu")


SENTENCES = [
    "alpha beta gamma delta epsilon",
    "",
    "zeta",
    "eta theta alpha beta",
    "ünïcödé ⚠ 😀 \x07 mixed Ελληνικά 中文",
    "alpha " * 300,
]


def test_batch_equals_one_by_one_in_input_order(loaded):
    together = loaded.decode(SENTENCES, beam_size=2, extra_length=6, batch_size=4)
    alone = [loaded.decode([s], beam_size=2, extra_length=6)[0] for s in SENTENCES]
    assert together == alone
    assert len(together) == len(SENTENCES) and all(isinstance(t, str) for t in together)


def test_greedy_equals_beam_of_one(loaded):
    greedy = loaded.decode(SENTENCES[:4], beam_size=1, extra_length=6)
    assert greedy == loaded.decode(SENTENCES[:4], beam_size=1, alpha=0.0, extra_length=6)


def test_return_beams_gives_sorted_scores(loaded):
    beams = loaded.decode(SENTENCES[:2], beam_size=3, return_beams=True, extra_length=6)
    for per_sentence in beams:
        assert len(per_sentence) == 3
        scores = [score for _, score in per_sentence]
        assert scores == sorted(scores, reverse=True)


def test_max_input_size_truncates(loaded):
    long = "alpha beta " * 200
    capped = loaded.decode([long], beam_size=1, extra_length=4, max_input_size=10)
    assert capped == loaded.decode([long[: len("alpha beta ") * 20]], beam_size=1,
                                   extra_length=4, max_input_size=10)  # fmt: skip


def test_decoder_file_default_name_and_bleu(run_dir):
    source = run_dir / "source.txt"
    source.write_text("\n".join(SENTENCES[:4]) + "\n", encoding="utf-8")
    common = [f"--t2t_usr_dir={USR_DIR}", f"--output_dir={run_dir / 'train'}"]
    command("t2t_decoder", *common, f"--decode_from_file={source}",
            "--decode_hparams=beam_size=2,alpha=0.6,extra_length=5")  # fmt: skip
    expected = f"{source}.transformer.transformer_tiny.my_tiny_translate.beam2.alpha0.6.decodes"
    lines = open(expected, encoding="utf-8").read().split("\n")
    assert len(lines) == 5 and lines[-1] == ""
    bleu = command("t2t_bleu", f"--translation={expected}", f"--reference={source}")
    assert "BLEU_uncased = " in bleu.stdout and "BLEU_cased = " in bleu.stdout


def test_decoder_beams_with_scores(run_dir, capsys):
    source = run_dir / "two.txt"
    source.write_text("alpha beta\nzeta\n", encoding="utf-8")
    out = run_dir / "two.decodes"
    checkpoint = run_dir / "train" / "model.ckpt-8"
    printed = decoder_in_process(capsys, f"--t2t_usr_dir={USR_DIR}",
            f"--output_dir={run_dir / 'train'}", f"--checkpoint_path={checkpoint}",
            "--keep_timestamp", f"--decode_reference={source}",
            f"--decode_from_file={source}", f"--decode_to_file={out}",
            "--decode_hparams=beam_size=2,return_beams=True,write_beam_scores=True,"
            "extra_length=4")  # fmt: skip
    assert "BLEU_uncased = " in printed and "BLEU_cased = " in printed
    assert os.path.getmtime(out) == os.path.getmtime(f"{checkpoint}.safetensors")
    for line in out.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        assert len(fields) == 4  # two beams, each text + score
        float(fields[1]), float(fields[3])


def test_score_matches_the_cli_score_file(run_dir, loaded, capsys):
    pairs = [("alpha beta", "beta alpha"), ("", ""), ("zeta ünï", "zeta")]
    source = run_dir / "pairs.tsv"
    source.write_text("".join(f"{a}\t{b}\n" for a, b in pairs), encoding="utf-8")
    out = run_dir / "pairs.scores"
    decoder_in_process(capsys, f"--t2t_usr_dir={USR_DIR}", f"--output_dir={run_dir / 'train'}",
            f"--score_file={source}", f"--decode_to_file={out}")  # fmt: skip
    expected = [f"{x:.6f}" for x in loaded.score(pairs)]
    assert out.read_text().splitlines() == expected
    assert all(float(x) > 0 for x in expected)


def test_decoder_dev_set_writes_three_files(run_dir, capsys):
    out = decoder_in_process(capsys, f"--t2t_usr_dir={USR_DIR}",
                  f"--output_dir={run_dir / 'train'}",
                  "--decode_hparams=beam_size=1,extra_length=4,num_samples=5")  # fmt: skip
    stem = (
        run_dir / "train" / "decode.transformer.transformer_tiny.my_tiny_translate.beam1.alpha0.6"
    )
    for suffix in ("decodes", "targets", "inputs"):
        assert len(open(f"{stem}.{suffix}", encoding="utf-8").read().split("\n")) == 6
    assert "per-sequence accuracy:" in out
    # return_beams: T2T writes one row per beam, with its input and target repeated.
    decoder_in_process(capsys, f"--t2t_usr_dir={USR_DIR}", f"--output_dir={run_dir / 'train'}",
                       "--decode_hparams=beam_size=2,return_beams=True,write_beam_scores=True,"
                       "extra_length=4,num_samples=3")  # fmt: skip
    stem = str(stem).replace("beam1", "beam2")
    decodes = open(f"{stem}.decodes", encoding="utf-8").read().split("\n")[:-1]
    targets = open(f"{stem}.targets", encoding="utf-8").read().split("\n")[:-1]
    assert len(decodes) == len(targets) == 6 and targets[0::2] == targets[1::2]
    assert all(len(row.split("\t")) == 2 for row in decodes)


def test_decoder_interactive_reads_stdin(run_dir):
    out = subprocess.run(
        [sys.executable, "-m", "t2t.bin.t2t_decoder", f"--t2t_usr_dir={USR_DIR}",
         f"--output_dir={run_dir / 'train'}", "--decode_interactive",
         "--decode_hparams=beam_size=1,extra_length=3"],
        input=b"alpha beta\n\nzeta\n" + b"\xff\xfe bad bytes\n",
        capture_output=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert len(out.stdout.decode().splitlines()) == 4


def test_decoder_errors_are_one_line(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "t2t.bin.t2t_decoder", f"--output_dir={tmp_path}"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "run.json" in out.stderr.strip().splitlines()[-1]


def test_translate_all_then_bleu_over_the_directory(run_dir):
    source = run_dir / "ta_source.txt"
    source.write_text("alpha beta\nzeta eta\n", encoding="utf-8")
    translations = run_dir / "translations"
    (run_dir / "train" / "flags.txt").write_text("--problem=my_tiny_translate\n")
    args = [
        f"--t2t_usr_dir={USR_DIR}",
        f"--model_dir={run_dir / 'train'}",
        f"--source={source}",
        f"--translations_dir={translations}",
        "--beam_size=2",
    ]
    out = command("t2t_translate_all", *args)  # fmt: skip
    assert (translations / "my_tiny_translate-8").exists()
    assert (
        translations / "my_tiny_translate-flags.txt"
    ).read_text() == "--problem=my_tiny_translate\n"
    assert len((translations / "my_tiny_translate-8").read_text().splitlines()) == 2
    again = command("t2t_translate_all", *args)  # a re-run skips what exists
    assert "Translated" in out.stdout and "Translated" not in again.stdout
    bleu = command("t2t_bleu", f"--translations_dir={translations}", f"--reference={source}",
                   f"--event_dir={run_dir / 'events'}")  # fmt: skip
    assert "my_tiny_translate-8" in bleu.stdout + bleu.stderr


def test_decoder_accepts_the_trainers_own_hparams(run_dir, capsys):
    # T2T's walkthrough passes the training --hparams to t2t-decoder again; the original
    # accepts it (issue 20: this stopped with "Multiple assignments to variable ...").
    source = run_dir / "again.txt"
    source.write_text("alpha beta\nzeta\n", encoding="utf-8")
    plain, repeated = run_dir / "again.plain", run_dir / "again.repeated"
    common = [f"--t2t_usr_dir={USR_DIR}", f"--output_dir={run_dir / 'train'}",
              f"--decode_from_file={source}",
              "--decode_hparams=beam_size=2,extra_length=4"]  # fmt: skip
    decoder_in_process(capsys, *common, f"--decode_to_file={plain}")
    decoder_in_process(capsys, *common, f"--decode_to_file={repeated}", f"--hparams={TINY}",
                       "--problem=my_tiny_translate", "--model=transformer",
                       "--hparams_set=transformer_tiny")  # fmt: skip
    assert repeated.read_text(encoding="utf-8") == plain.read_text(encoding="utf-8")


def test_load_accepts_the_trainers_own_hparams(run_dir, loaded):
    again = t2t.load(str(run_dir / "train"), device="cpu", hparams=TINY)
    assert again.decode(SENTENCES[:3], beam_size=2, extra_length=5) == loaded.decode(
        SENTENCES[:3], beam_size=2, extra_length=5
    )
    # A different value wins, as T2T applied the decoder's --hparams over the saved ones.
    changed = t2t.load(str(run_dir / "train"), device="cpu", hparams="learning_rate_warmup_steps=9")
    assert changed.hparams.learning_rate_warmup_steps == 9
