"""The user guides' examples run as written: docs/adding_a_problem.md, docs/adding_a_model.md.

Each guide is executed top to bottom in one temporary working directory, as a reader would
follow it. Fenced blocks are marked in their info string:

- ```python file=PATH / ```text file=PATH: written to PATH (relative to the working dir);
- ```python append=PATH: appended to PATH (e.g. a new import in my_t2t/__init__.py, or
  methods added at the end of a class);
- ```bash run: run with bash (-e -u -o pipefail) in the working dir; `t2t-*` and `python`
  are this interpreter's (`python -m t2t.bin.t2t_*`, with this checkout first on
  PYTHONPATH), so the real commands run in their own processes;
- ```python run: written to a script outside the working dir and run with cwd there.

Blocks without a mark are illustrations and are not run. The one change the test makes to
the guides' commands is in `SUBSTITUTIONS` below: fewer training steps (the guides train
for 1000). Then the outcomes are checked: files written, examples read back, checkpoints,
decodes, the guide's own model test passing, and (in-process) that a model implementing
only the decoding protocol's pair decodes with beam search exactly as the slow path.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROBLEM_GUIDE = ROOT / "docs" / "adding_a_problem.md"
MODEL_GUIDE = ROOT / "docs" / "adding_a_model.md"

# The only edits to the guides' commands: train for 4 steps instead of 1000, and evaluate
# once at the end (the same code paths, in seconds instead of minutes).
SUBSTITUTIONS = [
    (re.compile(r"--train_steps=\d+"), "--train_steps=4"),
    (re.compile(r"--local_eval_frequency=\d+"), "--local_eval_frequency=4"),
]

_FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclasses.dataclass
class Block:
    """One fenced code block of a guide."""

    lang: str
    marks: dict[str, str]  # {"file": "my_t2t/x.py"}, {"append": ...} or {"run": ""}
    text: str
    line: int  # 1-based line of the opening fence

    def where(self, guide: pathlib.Path) -> str:
        return f"{guide.name}:{self.line}"


def parse_blocks(guide: pathlib.Path) -> list[Block]:
    """Every fenced block of the guide, in order, with its marks."""
    source = guide.read_text(encoding="utf-8")
    blocks = []
    for match in _FENCE.finditer(source):
        marks = dict(
            part.split("=", 1) if "=" in part else (part, "") for part in match.group(2).split()
        )
        line = source.count("\n", 0, match.start()) + 1
        blocks.append(Block(match.group(1), marks, match.group(3), line))
    return blocks


def _shims(directory: pathlib.Path) -> dict[str, str]:
    """A bin dir whose t2t-* and python are this interpreter; the environment to run in."""
    directory.mkdir(exist_ok=True)
    commands = {f"t2t-{n}": f"-m t2t.bin.t2t_{n}" for n in ("datagen", "trainer", "decoder")}
    commands["python"] = ""
    for name, args in commands.items():
        path = directory / name
        path.write_text(f'#!/bin/sh\nexec "{sys.executable}" {args} "$@"\n')
        path.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{directory}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    # Tiny models: on a shared CPU, thread hand-offs cost more than the arithmetic.
    env["OMP_NUM_THREADS"] = "1"
    return env


Outputs = list[tuple[Block, str]]


def run_guide(guide: pathlib.Path, workdir: pathlib.Path) -> Outputs:
    """Follows the guide in `workdir`; returns each run block with its stdout."""
    env = _shims(workdir.parent / "bin")
    outputs: Outputs = []
    for block in parse_blocks(guide):
        if "file" in block.marks or "append" in block.marks:
            path = workdir / block.marks.get("file", block.marks.get("append"))
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w" if "file" in block.marks else "a", encoding="utf-8") as f:
                f.write(block.text)
        elif "run" in block.marks:
            if block.lang == "bash":
                script = block.text
                for pattern, replacement in SUBSTITUTIONS:
                    script = pattern.sub(replacement, script)
                command = ["bash", "-euo", "pipefail", "-c", script]
            else:
                path = workdir.parent / f"{guide.stem}_{block.line}.py"
                path.write_text(block.text, encoding="utf-8")
                command = [sys.executable, str(path)]
            out = subprocess.run(
                command, cwd=workdir, env=env, capture_output=True, text=True, timeout=600
            )
            assert out.returncode == 0, (
                f"{block.where(guide)} failed:\n{block.text}\n--- stderr:\n{out.stderr[-3000:]}"
            )
            outputs.append((block, out.stdout))
    return outputs


def output_of(outputs: Outputs, command: str) -> str:
    """The stdout of the (first) run block whose text contains `command`."""
    return next(stdout for block, stdout in outputs if command in block.text)


# ---- running the guides (once per module) ---------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("guides") / "work"
    path.mkdir()
    return path


@pytest.fixture(scope="module")
def problem_outputs(workdir) -> Outputs:
    return run_guide(PROBLEM_GUIDE, workdir)


@pytest.fixture(scope="module")
def model_outputs(problem_outputs, workdir) -> Outputs:
    return run_guide(MODEL_GUIDE, workdir)  # continues in the problem guide's directory


@pytest.fixture(scope="module")
def usr_dir(model_outputs, workdir):
    """The guides' user directory imported in this process; the registry restored after."""
    import torch

    from t2t import registry
    from t2t.compat.usr_dir import import_usr_dir

    tables = {
        name: table
        for name, table in vars(registry.Registries).items()
        if isinstance(table, registry.Registry)
    }
    saved = {name: dict(table._entries_loaded()) for name, table in tables.items()}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models (see OMP_NUM_THREADS in _shims)
    try:
        import_usr_dir(str(workdir / "my_t2t"))
        yield workdir
    finally:  # other tests list the registered models and hparams sets
        torch.set_num_threads(threads)
        for name, table in tables.items():
            table._entries.clear()
            table._entries.update(saved[name])
        for module in [m for m in sys.modules if m == "my_t2t" or m.startswith("my_t2t.")]:
            del sys.modules[module]


def _records(path: pathlib.Path) -> int:
    from t2t.problems import generator_utils

    return len(generator_utils.read_records(str(path)))


# ---- the guides themselves --------------------------------------------------------------


def test_guides_mark_their_examples():
    # A marking slip (a typo in "file=") would silently skip an example: count them.
    for guide, files, runs in ((PROBLEM_GUIDE, 11, 5), (MODEL_GUIDE, 5, 2)):
        blocks = parse_blocks(guide)
        written = [b for b in blocks if "file" in b.marks or "append" in b.marks]
        run = [b for b in blocks if "run" in b.marks]
        assert len(written) >= files and len(run) >= runs, guide.name
        for block in blocks:
            assert set(block.marks) <= {"file", "append", "run"}, block.where(guide)
            assert not block.marks.get("file", "x").startswith("/"), block.where(guide)
        commands = " ".join(b.text for b in run if b.lang == "bash")
        for pattern, _ in SUBSTITUTIONS:  # the test really shortens the guide's training
            assert pattern.search(commands), (guide.name, pattern.pattern)
        for command in ("t2t-datagen", "t2t-trainer", "t2t-decoder"):
            if guide is PROBLEM_GUIDE or command != "t2t-datagen":
                assert command in commands, (guide.name, command)


# ---- docs/adding_a_problem.md -------------------------------------------------------


def test_datagen_writes_the_shards_and_vocabulary(problem_outputs, workdir):
    data = workdir / "t2t_data"
    train = sorted(data.glob("reverse_words-train-*"))
    assert [p.name for p in train] == [
        "reverse_words-train-00000-of-00002",
        "reverse_words-train-00001-of-00002",
    ]
    assert sum(_records(p) for p in train) == 2000
    assert _records(data / "reverse_words-dev-00000-of-00001") == 100
    assert (data / "vocab.reverse_words.256.subwords").exists()
    # The guide's look at an example, from Python: inputs reversed are the targets.
    printed = output_of(problem_outputs, "problem.dataset(")
    source, target = (s.replace("<EOS>", "").split() for s in printed.strip().split(" -> "))
    assert source and target == source[::-1]


def test_trainer_and_decoder_on_the_new_problem(problem_outputs, workdir):
    run_dir = workdir / "t2t_train" / "reverse_words"
    run = json.loads((run_dir / "run.json").read_text())
    assert (run["problem"], run["model"], run["hparams_set"]) == (
        "reverse_words",
        "transformer",
        "transformer_tiny",
    )
    assert run["train_steps"] == 4  # the test's substitution, not the guide's 1000
    assert (run_dir / "model.ckpt-4.safetensors").exists()
    # `cat decoded.txt`: one decode per line of inputs.txt (the decoder logs to stderr)
    assert len(output_of(problem_outputs, "t2t-decoder").splitlines()) == 2


def test_hooks_filter_examples_and_pick_metrics(usr_dir):
    from t2t import registry
    from t2t.problems.problem import DatasetSplit, Metrics

    problem = registry.problem("reverse_words_tagged")
    data_dir = str(usr_dir / "t2t_data")
    train = list(problem.dataset("train", data_dir=data_dir, shuffle_files=False))
    samples = problem.generate_samples(data_dir, None, DatasetSplit.TRAIN)
    short = sum(len(s["inputs"].split()) <= 4 for s in samples)
    assert 0 < len(train) == short < 2000  # preprocess_example dropped the long ones
    assert all("num_words" not in ex for ex in train)
    raw = next(iter(problem.dataset("eval", data_dir=data_dir, preprocess=False)))
    assert raw["num_words"].tolist() == [len(raw["inputs"]) - 1]  # one id per word, + EOS
    assert len(list(problem.dataset("eval", data_dir=data_dir))) == 100  # eval keeps all
    assert problem.eval_metrics() == [Metrics.ACC, Metrics.ACC_PER_SEQ, Metrics.NEG_LOG_PERPLEXITY]


def test_classification_problem_trains_an_encoder(usr_dir):
    import torch

    import t2t
    from t2t import registry
    from t2t.problems.pipeline import make_batches

    data = usr_dir / "t2t_data"
    assert sum(_records(p) for p in data.glob("sentence_has_animal-train-*")) == 800
    assert _records(data / "sentence_has_animal-dev-00000-of-00001") == 200
    problem = registry.problem("sentence_has_animal")
    encoders = problem.feature_encoders(str(data))
    for example in problem.dataset("eval", data_dir=str(data)):
        words = set(encoders["inputs"].decode(example["inputs"][:-1]).split())
        label = encoders["targets"].decode(example["targets"])
        assert label == ("animal" if words & {"cat", "dog", "bird"} else "no_animal")
    torch.manual_seed(0)
    model = t2t.create_model(
        "transformer_encoder", "transformer_tiny", problem="sentence_has_animal",
        hparams="hidden_size=16,filter_size=32,num_heads=2,batch_size=256",
        data_dir=str(data),
    )  # fmt: skip
    features = next(iter(make_batches(problem, "train", model.hparams, str(data), seed=1)))
    logits, losses = model(features)
    assert logits.shape[-1] == 2 and torch.isfinite(losses["training"])
    losses["training"].backward()


def test_problem_from_files_in_tmp_dir(usr_dir):
    from t2t import registry

    data_dir = str(usr_dir / "t2t_data")
    problem = registry.problem("pairs_from_files")
    encoder = problem.feature_encoders(data_dir)["targets"]
    dev = list(problem.dataset("eval", data_dir=data_dir, shuffle_files=False))
    assert sorted(encoder.decode(ex["targets"][:-1]) for ex in dev) == [
        "die kleine Katze",
        "ein roter Hund",
    ]
    assert len(list(problem.dataset("train", data_dir=data_dir))) == 6


def test_custom_modality_from_the_problem_and_from_hparams(usr_dir):
    import torch

    import t2t
    from t2t.decode import protocol
    from t2t.problems.pipeline import make_batches

    normed = sys.modules["my_t2t.normed_symbol"]
    data_dir = str(usr_dir / "t2t_data")
    tiny = "hidden_size=16,filter_size=32,num_heads=2,batch_size=256"
    for problem, hparams_set in (
        ("reverse_words_normed", "transformer_tiny"),
        ("reverse_words", "transformer_tiny_normed"),
    ):
        torch.manual_seed(0)
        model = t2t.create_model("transformer", hparams_set, problem, tiny, data_dir=data_dir)
        assert isinstance(model.bottoms["inputs"], normed.NormedEmbedding), problem
        assert isinstance(model.target_bottom, normed.NormedEmbedding), problem
        assert isinstance(model.target_top, torch.nn.Linear), problem
        assert not list(model.modality_weights.tables)  # no symbol tables were built
        features = next(iter(make_batches(problem, "train", model.hparams, data_dir, seed=1)))
        _, losses = model(features)
        losses["training"].backward()
        assert model.bottoms["inputs"].embedding.weight.grad.abs().sum() > 0
        # The custom parts decode too, the cached path equal to the slow one.
        model.eval()
        inputs = {"inputs": features["inputs"][:3]}
        fast = protocol.infer(model, inputs, 5, beam_size=3, alpha=0.6)
        slow = protocol.slow_infer(model, inputs, 5, beam_size=3, alpha=0.6)
        assert torch.equal(fast["outputs"], slow["outputs"])


# ---- docs/adding_a_model.md ---------------------------------------------------------


def test_new_model_trains_decodes_and_passes_its_own_test(model_outputs, workdir):
    run_dir = workdir / "t2t_train" / "my_gru"
    run = json.loads((run_dir / "run.json").read_text())
    assert (run["model"], run["hparams_set"], run["problem"]) == (
        "my_gru",
        "my_gru_tiny",
        "reverse_words",
    )
    assert (run_dir / "model.ckpt-4.safetensors").exists()
    assert len(output_of(model_outputs, "t2t-decoder").splitlines()) == 2


def test_the_guides_own_model_tests_pass(usr_dir):
    # Section 6's test file, written by its file= block, run here in-process (`python -m
    # pytest` in a subprocess would cost another torch import for the same functions).
    path = usr_dir / "tests" / "test_my_gru.py"
    spec = importlib.util.spec_from_file_location("guide_test_my_gru", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tests = [getattr(module, name) for name in dir(module) if name.startswith("test_")]
    assert len(tests) == 3
    for test in tests:
        test()


def test_new_model_decodes_through_the_protocol_pair_as_the_slow_path(model_outputs, usr_dir):
    import torch

    import t2t
    from t2t.decode import protocol

    loaded = t2t.load(str(usr_dir / "t2t_train" / "my_gru"), device="cpu")
    model = loaded.model
    assert type(model).__name__ == "MyGru" and protocol.implements_protocol(model)
    # The model defines the pair and nothing else of decoding: no predict, no search code.
    assert not hasattr(model, "predict") and not hasattr(model, "decode_step_modules")
    steps = []
    step = model.decode_step
    model.decode_step = lambda ids, i, states: steps.append(ids.shape[0]) or step(ids, i, states)
    lines = ["the cat sat on the mat", "red bird flew over the tree"]
    texts = loaded.decode(lines, beam_size=4, alpha=0.6)
    assert steps and max(steps) == 2 * 4  # cached steps ran, over batch x beams rows
    # Section 4's t2t-decoder ran before section 5 added the pair, so it decoded through the
    # slow path (in its own process): the cached path gives the same text.
    assert texts == output_of(model_outputs, "t2t-decoder").splitlines()
    inputs = torch.nn.utils.rnn.pad_sequence(
        [torch.tensor(loaded.encode(line) + [1]) for line in lines], batch_first=True
    )
    for beam_size, top_beams in ((1, 1), (4, 1), (4, 2)):
        fast = protocol.infer(model, {"inputs": inputs}, 8, beam_size, top_beams, 0.6)
        slow = protocol.slow_infer(model, {"inputs": inputs}, 8, beam_size, top_beams, 0.6)
        assert torch.equal(fast["outputs"], slow["outputs"])
        torch.testing.assert_close(fast["scores"], slow["scores"], atol=1e-5, rtol=1e-5)
