"""Faults injected into runs: held locks, flipped bytes, unreadable files, a full disk.

Each test reproduces a failure of issue 14 (a traceback, a silent restart, a corrupt
checkpoint used) and checks the behaviour wanted instead.
"""

import errno
import json
import logging
import os
import pickle
import subprocess
import sys
import textwrap

import pytest
import torch

from t2t.errors import DataError, HParamsError, OutputError, T2TError
from t2t.runs import checkpoints, digest, run_lock

sys.path.insert(0, os.path.dirname(__file__))
from toy_training import ToyModel, run_training  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _weights(output_dir, step):
    return checkpoints.weights_path(os.path.join(str(output_dir), f"model.ckpt-{step}"))


def _flip(path, offset_from_end=4, bit=6):
    with open(path, "r+b") as f:
        f.seek(-offset_from_end, os.SEEK_END)
        byte = f.read(1)[0]
        f.seek(-offset_from_end, os.SEEK_END)
        f.write(bytes([byte ^ (1 << bit)]))


def _final_weights(output_dir):
    return checkpoints.read_weights(checkpoints.latest_checkpoint(str(output_dir)))


# ---- 2. a digest of the tensor data --------------------------------------------------------


def test_flipped_bit_in_weights_is_detected_and_previous_checkpoint_used(tmp_path, caplog):
    run_training(str(tmp_path), 3)
    _flip(_weights(tmp_path, 3))
    with caplog.at_level(logging.WARNING):
        latest = checkpoints.latest_checkpoint(str(tmp_path))
    assert latest == str(tmp_path / "model.ckpt-2")
    assert "model.ckpt-3" in caplog.text and "digest" in caplog.text
    with pytest.raises(DataError, match="does not match its digest"):
        checkpoints.load_weights(ToyModel(), str(tmp_path / "model.ckpt-3"))
    with pytest.raises(DataError, match="digest"):
        checkpoints.average_checkpoints([str(tmp_path / "model.ckpt-3")])


def test_flipped_bit_resume_ends_with_the_same_weights(tmp_path):
    reference = tmp_path / "reference"
    run_training(str(reference), 4)
    damaged = tmp_path / "damaged"
    run_training(str(damaged), 3)
    _flip(_weights(damaged, 3), offset_from_end=10, bit=7)
    result = run_training(str(damaged), 4)  # resumes from step 2, not from the corrupt 3
    assert result["step"] == 4
    final, expected = _final_weights(damaged), _final_weights(reference)
    for name in expected:
        assert torch.equal(final[name], expected[name]), name


def test_old_checkpoints_without_digest_still_load(tmp_path):
    from safetensors.torch import save_model

    model = ToyModel()
    path = str(tmp_path / "model.ckpt-5.safetensors")
    save_model(model, path, metadata={"format": "pt"})  # what older versions wrote
    other = ToyModel()
    checkpoints.load_weights(other, path)
    for (name, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert torch.equal(a, b), name


def test_verification_can_be_skipped(tmp_path):
    run_training(str(tmp_path), 1)
    _flip(_weights(tmp_path, 1))
    with pytest.raises(DataError):
        checkpoints.read_weights(_weights(tmp_path, 1))
    with digest.verifying(False):
        checkpoints.read_weights(_weights(tmp_path, 1))  # the user's choice: no check


def test_digest_stored_in_metadata_and_matches_tensors(tmp_path):
    run_training(str(tmp_path), 1)
    _, header = digest.read_header(_weights(tmp_path, 1))
    tensors = checkpoints.read_weights(_weights(tmp_path, 1))
    metadata = header["__metadata__"]
    assert metadata[digest.DIGEST_KEY] == digest.tensors_digest(tensors, metadata)
    # The metadata is covered too: a changed step is a mismatch.
    _header_edit(_weights(tmp_path, 1), b'"step":"1"', b'"step":"7"')
    with pytest.raises(DataError, match="digest"):
        checkpoints.read_weights(_weights(tmp_path, 1))


def test_averager_leaves_out_a_corrupt_checkpoint(tmp_path, caplog):
    from t2t.runs.averaging import sliding_window_averages

    run_training(str(tmp_path / "run"), 3)
    _flip(_weights(tmp_path / "run", 2))
    with caplog.at_level(logging.WARNING):
        written = list(sliding_window_averages(str(tmp_path / "run"), str(tmp_path / "avg"), n=2))
    assert [os.path.basename(p) for p in written] == ["model.ckpt-3"]
    assert "model.ckpt-2" in caplog.text


# ---- 3. corruptions that crashed -----------------------------------------------------------


def _header_edit(path, old, new):
    data = open(path, "rb").read()
    (length,) = __import__("struct").unpack("<Q", data[:8])
    header = data[8 : 8 + length]
    assert old in header
    header = header.replace(old, new, 1)
    assert len(header) == length
    open(path, "wb").write(data[:8] + header + data[8 + length :])


@pytest.mark.parametrize("kind", ["key_name", "data_offset"])
def test_header_flip_keeping_json_valid_falls_back(tmp_path, caplog, kind):
    run_training(str(tmp_path), 2)
    path = _weights(tmp_path, 2)
    if kind == "key_name":
        _header_edit(path, b'"dense.weight"', b'"dense.weighu"')
    else:
        _, header = digest.read_header(path)
        begin, end = header["dense.bias"]["data_offsets"]
        _header_edit(path, f"[{begin},{end}]".encode(), f"[{begin},{end - 4}]".encode())
    with caplog.at_level(logging.WARNING):
        result = run_training(str(tmp_path), 3)
    assert result["step"] == 3
    assert "skipping checkpoint" in caplog.text and "model.ckpt-2" in caplog.text


def test_header_flip_in_old_checkpoint_without_digest_falls_back(tmp_path, caplog):
    from safetensors.torch import save_model

    run_training(str(tmp_path), 2)
    model = ToyModel()
    checkpoints.load_weights(model, str(tmp_path / "model.ckpt-2"))
    save_model(model, _weights(tmp_path, 2), metadata={"format": "pt"})  # digest-less
    _header_edit(_weights(tmp_path, 2), b'"dense.weight"', b'"dense.weighu"')
    with caplog.at_level(logging.WARNING):
        result = run_training(str(tmp_path), 3)  # resumes from step 1
    assert result["step"] == 3 and "model.ckpt-2" in caplog.text


@pytest.mark.parametrize("content", [b"\xff\xfe garbage \x00\x81", b'model_checkpoint_path: "mo'])
def test_unreadable_index_falls_back_to_scanning(tmp_path, caplog, content):
    run_training(str(tmp_path), 2)
    (tmp_path / "checkpoint").write_bytes(content)
    with caplog.at_level(logging.WARNING):
        assert checkpoints.latest_checkpoint(str(tmp_path)) == str(tmp_path / "model.ckpt-2")
    assert "unreadable checkpoint index" in caplog.text
    assert run_training(str(tmp_path), 3)["step"] == 3


def test_state_refused_by_safe_unpickler_falls_back(tmp_path, caplog):
    run_training(str(tmp_path), 2)
    state_file = checkpoints.state_path(str(tmp_path / "model.ckpt-2"))
    state = torch.load(state_file, weights_only=True)
    state["extra"] = logging.Formatter()  # an object the safe loader refuses
    torch.save(state, state_file)
    with pytest.raises(DataError, match="objects other than tensors"):
        checkpoints.load_state(str(tmp_path / "model.ckpt-2"))
    with caplog.at_level(logging.WARNING):
        result = run_training(str(tmp_path), 3)
    assert result["step"] == 3
    text = caplog.text
    assert "model.ckpt-2.state.pt" in text and "weights_only=False" not in text


def test_warning_is_one_line(tmp_path, caplog):
    run_training(str(tmp_path), 2)
    _flip(_weights(tmp_path, 2))
    with caplog.at_level(logging.WARNING):
        checkpoints.latest_checkpoint(str(tmp_path))
    skipped = [r.getMessage() for r in caplog.records if "skipping" in r.getMessage()]
    assert skipped and all("\n" not in m for m in skipped)


# ---- 4. all checkpoints unreadable ---------------------------------------------------------


def test_refuses_to_start_over_when_all_checkpoints_are_unreadable(tmp_path):
    run_training(str(tmp_path), 2)
    for step in (1, 2):
        _flip(_weights(tmp_path, step))
    before = {n: os.path.getmtime(tmp_path / n) for n in os.listdir(tmp_path)}
    with pytest.raises(DataError, match="none can be read.*--start_over_if_unreadable"):
        run_training(str(tmp_path), 3)
    for name, mtime in before.items():
        if name.startswith("model.ckpt"):
            assert os.path.getmtime(tmp_path / name) == mtime, name
    result = run_training(str(tmp_path), 3, start_over_if_unreadable=True)
    assert result["step"] == 3 and checkpoints.latest_checkpoint(str(tmp_path))


# ---- 1. one trainer per output dir ---------------------------------------------------------

_HOLD = textwrap.dedent(
    """
    import sys, time
    from t2t.runs import run_lock
    with run_lock.hold(sys.argv[1]):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def _holder_process(output_dir, seconds):
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(output_dir), str(seconds)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_trainer_stops_naming_the_holder(tmp_path):
    proc = _holder_process(tmp_path, 60)
    try:
        with pytest.raises(run_lock.RunLockedError) as info:
            run_training(str(tmp_path), 2)
        message = str(info.value)
        assert f"pid {proc.pid}" in message and "started" in message
        assert "\n" not in message
        assert not checkpoints.list_checkpoints(str(tmp_path))
        # Readers do not take the lock.
        assert checkpoints.latest_checkpoint(str(tmp_path)) is None
    finally:
        proc.kill()
        proc.wait()


def test_two_concurrent_trainers_one_stops(tmp_path):
    script = os.path.join(os.path.dirname(__file__), "toy_training.py")
    env = dict(os.environ, PYTHONPATH=ROOT)
    args = [sys.executable, script, "--output_dir", str(tmp_path), "--train_steps", "6"]
    first = subprocess.Popen(args + ["--sleep", "0.3"], env=env, stderr=subprocess.PIPE)
    deadline = 60
    import time

    start = time.time()
    while not (tmp_path / run_lock.HOLDER_FILE).exists() and time.time() - start < deadline:
        time.sleep(0.05)
    second = subprocess.run(args, env=env, capture_output=True, text=True)
    first.communicate(timeout=120)
    assert first.returncode == 0
    assert second.returncode != 0
    assert "in use by another trainer" in second.stderr
    assert f"pid {first.pid}" in second.stderr
    steps = [json.loads(line)["step"] for line in open(tmp_path / "log.jsonl")]
    assert steps == sorted(steps) and len(steps) == len(set(steps))


def test_stale_lock_after_kill_is_taken_over(tmp_path):
    proc = _holder_process(tmp_path, 60)
    proc.kill()  # SIGKILL: no cleanup ran, the holder file stays
    proc.wait()
    assert (tmp_path / run_lock.HOLDER_FILE).exists()
    assert run_training(str(tmp_path), 1)["step"] == 1
    assert not (tmp_path / run_lock.HOLDER_FILE).exists()  # released at the end


def test_trainer_command_reports_held_lock_in_one_line(tmp_path):
    proc = _holder_process(tmp_path / "out", 60)
    try:
        from t2t.train import experiment

        options = experiment.RunOptions(output_dir=str(tmp_path / "out"), train_steps=1)
        with pytest.raises(run_lock.RunLockedError, match=f"pid {proc.pid}"):
            with run_lock.hold(options.output_dir):
                pass
    finally:
        proc.kill()
        proc.wait()


# ---- 8. leftovers of a kill ----------------------------------------------------------------


def test_temporary_files_left_by_a_kill_are_removed(tmp_path):
    run_training(str(tmp_path), 1)
    leftover = tmp_path / "model.ckpt-2.safetensors.tmp-99999"
    leftover.write_bytes(b"x" * 1000)
    other = tmp_path / "hparams.json.tmp12345"
    other.write_text("{")
    keep = tmp_path / "notes.tmp-draft"
    keep.write_text("mine")
    run_training(str(tmp_path), 2)
    assert not leftover.exists() and not other.exists() and keep.exists()


def test_checkpoint_files_get_the_permissions_of_other_files(tmp_path):
    old = os.umask(0o022)
    try:
        run_training(str(tmp_path), 1)
    finally:
        os.umask(old)
    mode = os.stat(_weights(tmp_path, 1)).st_mode & 0o777
    log_mode = os.stat(tmp_path / "log.jsonl").st_mode & 0o777
    assert mode == log_mode == 0o644


# ---- 6. a full disk ------------------------------------------------------------------------


def test_disk_full_while_checkpointing_is_one_line_with_path_and_reason(tmp_path, monkeypatch):
    run_training(str(tmp_path), 1)

    def full(tensors, path, metadata=None):
        with open(path, "wb") as f:
            f.write(b"partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(checkpoints, "save_file", full)
    with pytest.raises(OutputError) as info:
        run_training(str(tmp_path), 2)
    message = str(info.value)
    assert "No space left on device" in message and "model.ckpt-2" in message
    assert not [n for n in os.listdir(tmp_path) if ".tmp" in n]
    assert checkpoints.latest_checkpoint(str(tmp_path)) == str(tmp_path / "model.ckpt-1")


def test_disk_full_inside_torch_save_is_reported(tmp_path, monkeypatch):
    real_save = torch.save

    def failing_save(obj, path, *args, **kwargs):
        try:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as err:
            raise RuntimeError("[enforce fail at inline_container.cc] . unexpected pos") from err

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OutputError, match="No space left on device"):
        run_training(str(tmp_path), 1)
    monkeypatch.setattr(torch, "save", real_save)


def test_output_dir_that_is_a_file_or_read_only(tmp_path):
    from t2t.data.output_paths import check_output_dir

    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(OutputError, match="Not a directory"):
        check_output_dir(str(a_file))
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o555)
    try:
        if os.access(read_only, os.W_OK):  # root ignores modes
            pytest.skip("running as root: a read-only mode does not stop writes")
        with pytest.raises(OutputError, match="Permission denied"):
            check_output_dir(str(read_only))
    finally:
        read_only.chmod(0o755)


def test_read_only_file_system_is_one_line(tmp_path, monkeypatch):
    import tempfile

    from t2t.data.output_paths import check_output_dir

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(tmp_path / "x"))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(OutputError, match=f"cannot write to {tmp_path}.*: Read-only file system"):
        check_output_dir(str(tmp_path))


def test_decode_to_file_checked_before_the_work(tmp_path):
    from t2t.data.output_paths import check_output_file
    from t2t.decode import decoding

    with pytest.raises(OutputError, match="does not exist"):
        check_output_file(str(tmp_path / "missing" / "out.txt"))
    (tmp_path / "adir").mkdir()
    with pytest.raises(OutputError, match="Is a directory"):
        decoding.write_records(str(tmp_path / "adir"), ["a"])
    assert not (tmp_path / "adir.incomplete").exists()


# ---- 7. numbers that make no sense ---------------------------------------------------------


@pytest.mark.parametrize(
    "override, match",
    [
        ("hidden_size=-3", "hidden_size=-3"),
        ("hidden_size=0", "hidden_size=0"),
        ("batch_size=0", "batch_size=0"),
        ("num_heads=0", "num_heads=0"),
        ("dropout=1.5", "dropout=1.5"),
    ],
)
def test_impossible_model_hparams(override, match):
    from t2t.hparams import create_hparams
    from t2t.value_checks import check_model_hparams

    with pytest.raises(HParamsError, match=match):
        check_model_hparams(create_hparams("transformer_tiny", override))


@pytest.mark.parametrize("override", ["beam_size=0", "beam_size=-2", "batch_size=-1"])
def test_impossible_decode_hparams(override):
    from t2t.decode.decoding import decode_hparams
    from t2t.value_checks import check_decode_hparams

    with pytest.raises(HParamsError, match=override.split("=")[0]):
        check_decode_hparams(decode_hparams(override))


def test_sane_values_pass():
    from t2t.decode.decoding import decode_hparams
    from t2t.hparams import create_hparams
    from t2t.value_checks import check_decode_hparams, check_model_hparams, check_train_steps

    check_model_hparams(create_hparams("transformer_tiny"))
    check_decode_hparams(decode_hparams("beam_size=1"))
    check_train_steps(1)
    for bad in (0, -1):
        with pytest.raises(HParamsError, match="train_steps"):
            check_train_steps(bad)


def test_errors_are_t2t_errors():
    assert issubclass(OutputError, T2TError) and issubclass(OutputError, OSError)
    assert issubclass(run_lock.RunLockedError, T2TError)
    assert pickle.loads(pickle.dumps(DataError("x"))).args == ("x",)


# ---- 8. the evaluation cut short by a kill -------------------------------------------------


def _train_with_eval(output_dir, steps):
    import toy_training

    from t2t import registry
    from t2t.train import trainer
    from t2t.train.learning_rate import learning_rate_schedule

    hparams = toy_training.toy_hparams()
    torch.manual_seed(1)
    config = trainer.TrainConfig(
        output_dir=str(output_dir),
        train_steps=steps,
        save_checkpoints_steps=2,
        log_every_steps=2,
        eval_steps=2,
        progress_bar=False,
        device="cpu",
        seed=1,
    )
    return trainer.train(
        toy_training.ToyModel(),
        lambda p: registry.optimizer("adam")(p, hparams),
        learning_rate_schedule(hparams),
        toy_training.ToyBatches(),
        config,
        eval_batches=[toy_training.ToyBatches(seed=9).batch(i) for i in range(2)],
    )


def test_evaluation_cut_short_by_a_kill_is_redone_on_resume(tmp_path):
    _train_with_eval(tmp_path / "reference", 4)
    _train_with_eval(tmp_path / "run", 2)
    log_path = tmp_path / "run" / "log.jsonl"
    lines = log_path.read_text().splitlines()
    # As if killed during the evaluation after checkpoint 2: no eval line, a cut train line.
    kept = [line for line in lines if '"split"' not in line]
    log_path.write_text("\n".join(kept) + '\n{"step": 3, "lo')
    _train_with_eval(tmp_path / "run", 4)
    records = []
    for line in log_path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            assert line == '{"step": 3, "lo'  # the cut line stays alone on its line
    assert [r["step"] for r in records if r.get("split") == "eval"] == [2, 4]
    final, expected = _final_weights(tmp_path / "run"), _final_weights(tmp_path / "reference")
    for name in expected:
        assert torch.equal(final[name], expected[name]), name


# ---- 8. an empty or truncated vocabulary ---------------------------------------------------


def _vocab_hparams(path):
    from t2t.data import text_encoder
    from t2t.hparams import HParams

    return HParams(vocabulary={"targets": text_encoder.TokenTextEncoder(str(path))})


class _Problem:
    vocab_filename = "vocab.tokens"


def test_empty_token_vocabulary_is_a_vocabulary_error(tmp_path):
    from t2t.runs.vocab_check import check_vocabularies

    (tmp_path / "vocab.tokens").write_text("")
    with pytest.raises(DataError, match="vocab.tokens is empty"):
        check_vocabularies(_Problem(), _vocab_hparams(tmp_path / "vocab.tokens"), str(tmp_path))


def test_truncated_token_vocabulary_is_a_vocabulary_error(tmp_path):
    from t2t.runs.vocab_check import check_vocabularies, vocab_sizes

    path = tmp_path / "vocab.tokens"
    path.write_text("\n".join(f"w{i}" for i in range(50)) + "\n")
    full = vocab_sizes(_vocab_hparams(path))
    path.write_text("\n".join(f"w{i}" for i in range(20)))  # cut short
    with pytest.raises(DataError, match="truncated or not the run's vocabulary"):
        check_vocabularies(_Problem(), _vocab_hparams(path), str(tmp_path), recorded=full)
    check_vocabularies(_Problem(), _vocab_hparams(path), str(tmp_path), recorded=None)
