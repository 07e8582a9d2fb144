"""Decoding a MultiProblem model for one task, T2T's way: each input's ids end with the
task's id (decode hparam multiproblem_task_id) instead of EOS, and the model continues
after it. A tiny tiny_multi run (tests/problems/fixtures/multi_problem_usr_dir) trained
in this process for 2 steps."""

import os

import pytest

import t2t
from t2t import registry
from t2t.decode import protocol
from t2t.errors import T2TError

USR_DIR = os.path.join(
    os.path.dirname(__file__), "..", "problems", "fixtures", "multi_problem_usr_dir"
)
TINY = "hidden_size=16,filter_size=32,num_heads=2,num_hidden_layers=1,batch_size=64"
LM_ID, CLASS_ID = 258, 259  # the character vocabulary's 258 ids, then one per task


def _in_process(module, capsys, *args: str) -> str:
    from absl import flags

    argv = [module.__name__, *args]
    try:
        flags.FLAGS(argv)
        assert module.main(argv[:1]) == 0
    finally:
        flags.FLAGS.unparse_flags()
    return capsys.readouterr().out


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from t2t.compat.usr_dir import import_usr_dir

    import_usr_dir(USR_DIR)
    tmp = tmp_path_factory.mktemp("multi_decode")
    registry.problem("tiny_multi").generate_data(str(tmp / "data"), str(tmp / "tmp"))
    return tmp


@pytest.fixture(scope="module")
def trained(run_dir):
    from absl import flags

    from t2t.bin import t2t_trainer

    argv = [
        "t2t-trainer", f"--t2t_usr_dir={USR_DIR}", "--problem=tiny_multi",
        "--model=transformer", "--hparams_set=transformer_tiny", f"--hparams={TINY}",
        f"--data_dir={run_dir / 'data'}", f"--output_dir={run_dir / 'train'}",
        "--train_steps=2", "--local_eval_frequency=0", "--eval_steps=1", "--random_seed=1",
        "--noprogress_bar",
    ]  # fmt: skip
    try:
        flags.FLAGS(argv)
        assert t2t_trainer.main(argv[:1]) == 0
    finally:
        flags.FLAGS.unparse_flags()
    return t2t.load(str(run_dir / "train"), device="cpu")


def test_the_task_id_ends_each_prefix_and_the_decode_follows_it(trained, monkeypatch):
    seen = []
    infer = protocol.infer

    def spy(model, features, *args, **kwargs):
        seen.append(features["inputs"].tolist())
        return infer(model, features, *args, **kwargs)

    monkeypatch.setattr(protocol, "infer", spy)
    lines = ["ab ba", "c", ""]
    decoded = trained.decode(lines, beam_size=1, multiproblem_task_id=CLASS_ID, extra_length=3)
    encode = trained.encoders["targets"].encode
    prefixes = sorted(row for batch in seen for row in batch)
    assert prefixes == sorted([*encode(line), CLASS_ID] for line in lines)
    assert len(decoded) == 3
    seen.clear()
    trained.decode(["ab"], beam_size=1, extra_length=3)  # no task: the prefix alone (no EOS)
    assert seen == [[encode("ab")]]


def test_an_unknown_task_id_names_the_tasks(trained):
    assert trained.final_id(-1) == 1 and trained.final_id(LM_ID) == LM_ID
    with pytest.raises(T2TError, match=r"258 \(tiny_char_lm\), 259 \(tiny_char_class\)"):
        trained.final_id(300)


def test_t2t_decoder_decodes_a_chosen_task(trained, run_dir, capsys):
    from t2t.bin import t2t_decoder

    source, target = run_dir / "in.txt", run_dir / "out.txt"
    lines = ["ab ba cab", "bca", "aa bb"]
    source.write_text("\n".join(lines) + "\n")
    _in_process(
        t2t_decoder, capsys, f"--t2t_usr_dir={USR_DIR}", f"--output_dir={run_dir / 'train'}",
        f"--decode_from_file={source}", f"--decode_to_file={target}", "--device=cpu",
        f"--decode_hparams=beam_size=2,alpha=0.6,extra_length=4,multiproblem_task_id={CLASS_ID}",
    )  # fmt: skip
    expected = trained.decode(
        lines, beam_size=2, alpha=0.6, extra_length=4, multiproblem_task_id=CLASS_ID
    )
    assert target.read_text().split("\n")[:-1] == expected


def test_t2t_decoder_decodes_the_dev_set_task_by_task(trained, run_dir, capsys):
    """A MultiProblem's dev set: each task with inputs into its own T2T files, prompted with
    its task id; the language-model task has no prompts and is skipped with a note."""
    from t2t.bin import t2t_decoder

    stem = run_dir / "dev"
    out = _in_process(
        t2t_decoder, capsys, f"--t2t_usr_dir={USR_DIR}", f"--output_dir={run_dir / 'train'}",
        f"--decode_to_file={stem}", "--device=cpu",
        "--decode_hparams=beam_size=1,extra_length=2",
    )  # fmt: skip
    assert "tiny_char_lm: no inputs to prompt with" in out
    assert "tiny_char_class (task id 259): decoded 4 dev examples" in out
    name = "dev.transformer.transformer_tiny.tiny_char_class.beam1.alpha0.6"
    inputs = (run_dir / f"{name}.inputs").read_text().split("\n")[:-1]
    targets = (run_dir / f"{name}.targets").read_text().split("\n")[:-1]
    decodes = (run_dir / f"{name}.decodes").read_text().split("\n")[:-1]
    # The fixture's dev labels: 1 when the text starts with "a" (spelled as the digit).
    assert targets == ["1" if line.startswith("a") else "0" for line in inputs]
    assert len(inputs) == 4 and all(inputs)
    expected = trained.decode(inputs, beam_size=1, extra_length=2, multiproblem_task_id=CLASS_ID)
    assert decodes == expected


def test_t2t_decoder_refuses_the_dev_set_of_a_task_without_inputs(trained, run_dir):
    from t2t.bin.decode_multi_problem import chosen_tasks

    with pytest.raises(T2TError, match="tiny_char_lm .task id 258. has no inputs"):
        chosen_tasks(trained.problem, LM_ID)
    assert [task.name for task in chosen_tasks(trained.problem, CLASS_ID)] == ["tiny_char_class"]
