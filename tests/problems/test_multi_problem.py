"""MultiProblem: T2T's mixing schedules, task ids, normalized examples, mixed batches, the
per-task loss, and t2t-trainer on a tiny multi-problem.

The schedule golden (multi_problem_golden.json) was made by running T2T 1.15.7's own
MultiProblem.dataset over fake tasks with fixed random draws
(tests/golden/problems/make_multi_problem_golden.py); here the same draws go through
t2t's `mixing_probability` and `choose_task`.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import torch

from t2t import registry
from t2t.hparams import basic_params1
from t2t.modalities import multi_problem_loss as mpl
from t2t.problems import multi_problem as mp

GOLDEN = pathlib.Path(__file__).parent.parent / "golden" / "problems" / "multi_problem_golden.json"
USR_DIR = pathlib.Path(__file__).parent / "fixtures" / "multi_problem_usr_dir"


def golden() -> dict:
    return json.loads(GOLDEN.read_text())


def test_schedules_pick_the_tasks_the_original_picks():
    data, defaults = golden(), basic_params1()
    assert len(data["cases"]) >= 7
    for case in data["cases"]:
        hp = {k: getattr(defaults, k) for k in defaults.values() if k.startswith("multiproblem")}
        hp.update(case["hparams"])
        n = case["num_tasks"]
        thresholds = mp.per_task_thresholds(hp["multiproblem_per_task_threshold"], n)
        picked = []
        for step, draw in enumerate(data["draws"], start=1):
            prob = mp.mixing_probability(
                hp["multiproblem_mixing_schedule"], step,
                hp["multiproblem_schedule_threshold"], hp["multiproblem_schedule_max_examples"],
            )  # fmt: skip
            picked.append(mp.choose_task(draw, prob, n, thresholds))
        assert picked == case["tasks"], case["name"]


def test_inverse_exp_decay_matches_the_original():
    ref = golden()["inverse_exp_decay"]
    ours = [mp.inverse_exp_decay(ref["max_step"], ref["min_value"], s) for s in ref["steps"]]
    np.testing.assert_allclose(ours, ref["values"], rtol=1e-5)


def test_task_probabilities_and_bad_schedule():
    assert mp.task_probabilities(0.3, 3) == pytest.approx([0.7, 0.15, 0.15])
    assert mp.task_probabilities(0.0, 2, mp.per_task_thresholds("1,3", 2)) == [0.25, 0.75]
    assert mp.per_task_thresholds("1,2", 3) is None  # a warning, as in T2T
    with pytest.raises(ValueError, match="constant, exponential, pretrain"):
        mp.mixing_probability("linear", 1, 0.5, 10)


def test_lm1b_imdb_vocabulary_and_task_ids():
    problem = registry.problem("languagemodel_lm1b_sentiment_imdb")
    hp = problem.get_hparams()
    # 256 bytes + 2 reserved, + 2 task ids + 2 classes (T2T's get_hparams).
    assert hp.vocab_size == {"targets": 262} and hp.modality == {"targets": "symbol"}
    assert [t.task_id for t in problem.task_list] == [258, 259]
    assert hp.multiproblem_tasks[1] == ("sentiment_imdb_characters", 259, True)


class _Task:
    def __init__(self, task_id, has_inputs, classes=False):
        self.task_id, self.has_inputs = task_id, has_inputs
        if classes:
            self.class_labels = ["neg", "pos"]


def test_normalize_example_nlp():
    a = np.array
    lm = mp.normalize_example_nlp(_Task(300, False), {"targets": a([5, 6, 1])},
                                  False, "character", 302, -1, -1, -1)  # fmt: skip
    assert lm["targets"].tolist() == [300, 5, 6, 1] and lm["task_id"].tolist() == [300]
    cls = {"inputs": a([7, 8, 1]), "targets": a([1])}
    out = mp.normalize_example_nlp(_Task(301, True, True), cls, False, "character", 302, -1, -1, -1)
    assert out["targets"].tolist() == [7, 8, 301, 51] and "inputs" not in out  # "1" is id 51
    out = mp.normalize_example_nlp(_Task(301, True, True), cls, False, "subwords", 302, -1, -1, -1)
    assert out["targets"].tolist() == [7, 8, 301, 303]
    seq = {"inputs": a([7, 8, 9, 1]), "targets": a([4, 4, 4, 1])}
    out = mp.normalize_example_nlp(_Task(301, True), seq, False, "subwords", 302, 2, 3, 6)
    assert out["targets"].tolist() == [7, 8, 301, 4, 4, 4]
    out = mp.normalize_example_nlp(_Task(301, True), seq, True, "subwords", 302, 2, 3, 6)
    assert out["inputs"].tolist() == [7, 8, 301] and out["targets"].tolist() == [4, 4, 4, 1]


def test_weights_and_reweighted_loss():
    labels = torch.tensor([[300, 5, 6, 1, 0], [7, 8, 301, 51, 0]])
    assert mpl.weights_multi_problem(labels, 301).tolist()[1] == [0, 0, 0, 1, 0]
    assert mpl.weights_multi_problem_all(labels, 300).tolist() == [[1, 1, 1, 1, 0], [0] * 5]
    assert mpl.weights_multi_problem_input(labels, 301).tolist()[1] == [1, 1, 1, 0, 0]
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 310)
    tasks = [("lm", 300, False), ("cls", 301, True)]

    def loss_fn(logits, labels, hparams, vocab, weights_fn):
        w = weights_fn(labels)
        xent = torch.nn.functional.cross_entropy(logits.transpose(1, 2), labels, reduction="none")
        return (xent * w).sum(), w.sum()

    hp = basic_params1()
    num, den, parts = mpl.aggregate_task_losses(loss_fn, logits, labels, hp, 310, tasks)
    plain = loss_fn(logits, labels, hp, 310, lambda x: (x != 0).float())
    torch.testing.assert_close(num, plain[0]) and torch.testing.assert_close(den, plain[1])
    hp.multiproblem_reweight_label_loss = True
    hp.multiproblem_label_weight = 0.75
    num, den, parts = mpl.aggregate_task_losses(loss_fn, logits, labels, hp, 310, tasks)
    expected = parts["lm_loss"] + 0.75 * parts["cls_label_loss"] + 0.25 * parts["cls_seq_loss"]
    torch.testing.assert_close(num, expected)
    assert float(den) == 2.0  # each task counts once: the losses are averaged


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from t2t.compat import usr_dir

    usr_dir.import_usr_dir(str(USR_DIR))
    root = tmp_path_factory.mktemp("multi")
    problem = registry.problem("tiny_multi")
    problem.generate_data(str(root / "data"), str(root / "tmp"))
    return problem, str(root / "data")


def test_generates_each_task_and_mixes_both(tiny_data):
    problem, data_dir = tiny_data
    names = sorted(os.listdir(data_dir))
    assert any(n.startswith("tiny_char_lm-train") for n in names)
    assert any(n.startswith("tiny_char_class-dev") for n in names)
    hp = basic_params1()
    hp.batch_size = 64
    hp.multiproblem_schedule_threshold = 0.5
    from t2t.problems.pipeline import make_batches

    batches = make_batches(problem, "train", hp, data_dir, seed=3)
    seen, stream = set(), iter(batches)
    for _ in range(6):
        batch = next(stream)
        # Every row starts with its task id or holds it after the inputs.
        for row, task_id in zip(batch["targets"].tolist(), batch["task_id"][:, 0].tolist()):
            assert task_id in row and task_id in (258, 259)
            seen.add(task_id)
    assert seen == {258, 259}
    assert batches.state_dict()["problem_step"] > 0
    evals = list(make_batches(problem, "eval", hp, data_dir))
    ids = torch.cat([b["task_id"][:, 0] for b in evals]).tolist()
    assert sorted(ids) == [258] * 4 + [259] * 4  # both dev sets, interleaved, once


@pytest.mark.slow
def test_trainer_cli_on_a_tiny_multi_problem(tmp_path, tiny_data):
    _, data_dir = tiny_data
    out = subprocess.run(
        [sys.executable, "-m", "t2t.bin.t2t_trainer", f"--t2t_usr_dir={USR_DIR}",
         "--problem=tiny_multi", "--model=transformer", "--hparams_set=transformer_tiny",
         "--hparams=hidden_size=16,filter_size=32,num_heads=2,num_hidden_layers=1,"
         "batch_size=64,multiproblem_mixing_schedule=exponential,"
         "multiproblem_schedule_max_examples=50",
         f"--data_dir={data_dir}", f"--output_dir={tmp_path / 'train'}", "--train_steps=4",
         "--local_eval_frequency=4", "--eval_steps=2", "--noprogress_bar"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    log = [json.loads(line) for line in open(tmp_path / "train" / "log.jsonl")]
    evals = [r for r in log if any(k.startswith("metrics-tiny_char_class/") for k in r)]
    assert evals, log[-3:]
    assert any(k.startswith("metrics-tiny_char_lm/targets/accuracy") for k in evals[-1])


# ---- multi_problem_v2 schedules: the cases of T2T's multi_problem_v2_test.py -------------


def test_v2_encode_decode_schedule():
    from t2t.problems import multi_problem_v2 as v2

    for schedule, string in [
        (("step", (100,), ((0.25, 0.75),)), "step @100 0.25 0.75"),
        (("linear", (100, 200), ((0.25, 0.75), (0.62, 0.38))),
         "linear @100 0.25 0.75 @200 0.62 0.38"),
    ]:  # fmt: skip
        assert v2.encode_schedule(schedule) == string
        assert v2.decode_schedule(string) == schedule
    assert v2.tuplize([1.0, np.ones([2, 3])]) == (1.0, ((1.0, 1.0, 1.0), (1.0, 1.0, 1.0)))


def test_v2_interpolation_and_distribution():
    from t2t.problems import multi_problem_v2 as v2

    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0])
    fp = np.array([[0.2, 0.4], [0.4, 0.2]])
    np.testing.assert_allclose(
        v2.linear_interpolation(x, np.array([0.0, 1.0]), fp),
        [[0.2, 0.4], [0.2, 0.4], [0.3, 0.3], [0.4, 0.2], [0.4, 0.2]], rtol=1e-6,
    )  # fmt: skip
    fp = np.array([[0.1, 0.4], [0.9, 0.2], [0.6, 0.9]])
    np.testing.assert_allclose(
        v2.step_interpolation(x, np.array([0.0, 0.6, 0.9]), fp),
        [[0.1, 0.4], [0.1, 0.4], [0.1, 0.4], [0.6, 0.9], [0.6, 0.9]],
    )
    pmfs = ((0.25, 0.75), (0.62, 0.38))
    linear = [v2.get_schedule_distribution(("linear", (100, 200), pmfs), s)
              for s in (50, 100, 150, 200, 250)]  # fmt: skip
    np.testing.assert_allclose(
        linear, [[0.25, 0.75], [0.25, 0.75], [0.435, 0.565], [0.62, 0.38], [0.62, 0.38]],
        rtol=1e-6,
    )  # fmt: skip
    step = [v2.get_schedule_distribution(("step", (100, 200), pmfs), s) for s in (50, 150, 250)]
    np.testing.assert_allclose(step, [[0.25, 0.75], [0.25, 0.75], [0.62, 0.38]])
    picks = [v2.categorical_case([0.2, 0.6, 0.2], r) for r in (0.1, 0.4, 0.6, 0.9)]
    assert picks == [0, 1, 1, 2]
