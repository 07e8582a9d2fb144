"""Checkpoint files: format, atomic writes, corrupt-latest fallback, keep_max, averaging."""

import os

import pytest
import torch
from safetensors.torch import load_file

from t2t.errors import DataError
from t2t.runs import checkpoints


class Tied(torch.nn.Module):
    """A module with a tied weight (stored once in safetensors)."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = torch.nn.Embedding(7, 4)
        self.out = torch.nn.Linear(4, 7, bias=False)
        self.out.weight = self.embedding.weight
        self.norm = torch.nn.LayerNorm(4)


def _save(tmp_path, step, model=None, keep=20):
    model = model or Tied()
    state = {"step": step, "optimizer": {"x": torch.ones(2)}, "ranks": [{"data": {"p": step}}]}
    return checkpoints.save_checkpoint(str(tmp_path), step, model, state, keep)


def test_layout_and_tf_index(tmp_path):
    _save(tmp_path, 100)
    _save(tmp_path, 200)
    assert sorted(os.listdir(tmp_path)) == [
        "checkpoint",
        "model.ckpt-100.safetensors",
        "model.ckpt-100.state.pt",
        "model.ckpt-200.safetensors",
        "model.ckpt-200.state.pt",
    ]
    assert (tmp_path / "checkpoint").read_text() == (
        'model_checkpoint_path: "model.ckpt-200"\n'
        'all_model_checkpoint_paths: "model.ckpt-100"\n'
        'all_model_checkpoint_paths: "model.ckpt-200"\n'
    )
    assert checkpoints.latest_checkpoint(str(tmp_path)) == str(tmp_path / "model.ckpt-200")
    assert checkpoints.load_state(str(tmp_path / "model.ckpt-200"))["step"] == 200


def test_weights_round_trip_with_tied_weights(tmp_path):
    model = Tied()
    prefix = _save(tmp_path, 5, model)
    fresh = Tied()
    checkpoints.load_weights(fresh, prefix)
    for (name, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert torch.equal(a, b), name
    assert fresh.out.weight is fresh.embedding.weight


def test_state_is_loaded_without_unpickling_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    prefix = str(tmp_path / "model.ckpt-1")
    torch.save({"step": 1, "evil": Evil()}, checkpoints.state_path(prefix))
    with pytest.raises(DataError, match="objects other than tensors"):
        checkpoints.load_state(prefix)


def test_keep_checkpoint_max(tmp_path):
    for step in (1, 2, 3, 4, 5):
        _save(tmp_path, step, keep=2)
    assert [os.path.basename(p) for p in checkpoints.list_checkpoints(str(tmp_path))] == [
        "model.ckpt-4",
        "model.ckpt-5",
    ]
    assert not (tmp_path / "model.ckpt-3.safetensors").exists()
    assert not (tmp_path / "model.ckpt-3.state.pt").exists()


def test_corrupt_latest_falls_back_to_previous(tmp_path, caplog):
    _save(tmp_path, 1)
    _save(tmp_path, 2)
    weights = tmp_path / "model.ckpt-2.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])  # truncated data
    assert checkpoints.latest_checkpoint(str(tmp_path)) == str(tmp_path / "model.ckpt-1")
    assert "skipping checkpoint" in caplog.text
    _save(tmp_path, 3)
    (tmp_path / "model.ckpt-3.state.pt").unlink()  # missing state
    assert checkpoints.latest_checkpoint(str(tmp_path)) == str(tmp_path / "model.ckpt-1")
    # but decoding needs only the weights
    assert checkpoints.latest_checkpoint(str(tmp_path), need_state=False) == str(
        tmp_path / "model.ckpt-3"
    )
    state = tmp_path / "model.ckpt-1.state.pt"
    data = bytearray(state.read_bytes())
    data[len(data) // 2] ^= 0xFF  # flipped byte inside the zip: CRC mismatch
    state.write_bytes(bytes(data))
    assert checkpoints.latest_checkpoint(str(tmp_path)) is None


def test_garbage_header_is_detected(tmp_path):
    _save(tmp_path, 1)
    (tmp_path / "model.ckpt-1.safetensors").write_bytes(
        b"\x08\x00\x00\x00\x00\x00\x00\x00{bad json"
    )
    with pytest.raises(DataError):
        checkpoints.check_checkpoint(str(tmp_path / "model.ckpt-1"))


def test_crash_while_writing_leaves_previous_latest(tmp_path, monkeypatch):
    _save(tmp_path, 1)

    def crash(tensors, path, metadata=None):
        with open(path, "wb") as f:
            f.write(b"partial")
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(checkpoints, "save_file", crash)
    with pytest.raises(KeyboardInterrupt):
        _save(tmp_path, 2)
    assert checkpoints.latest_checkpoint(str(tmp_path)) == str(tmp_path / "model.ckpt-1")
    assert not (tmp_path / "model.ckpt-2.safetensors").exists()
    assert not [n for n in os.listdir(tmp_path) if ".tmp-" in n]


def test_scan_without_index(tmp_path):
    _save(tmp_path, 10)
    _save(tmp_path, 20)
    (tmp_path / "checkpoint").unlink()
    assert checkpoints.latest_checkpoint(str(tmp_path)) == str(tmp_path / "model.ckpt-20")
    assert checkpoints.latest_checkpoint(str(tmp_path / "nothing")) is None


def test_average_is_exact_in_float64(tmp_path):
    paths = []
    for step in range(3):
        tensors = {
            "w": torch.tensor([1.0, 2.0, 1e8 + step], dtype=torch.float32),
            "h": torch.tensor([0.1, 0.2], dtype=torch.float16) * (step + 1),
            "i": torch.tensor([step * 3], dtype=torch.int64),
        }
        path = str(tmp_path / f"c{step}.safetensors")
        checkpoints.save_weights(tensors, path)
        paths.append(path)
    avg = checkpoints.average_checkpoints(paths)
    assert avg["w"].dtype == torch.float32 and avg["h"].dtype == torch.float16
    assert torch.equal(avg["w"], torch.tensor([1.0, 2.0, 1e8 + 1], dtype=torch.float32))
    want_h = (torch.tensor([0.1, 0.2], dtype=torch.float16).double() * 2).to(torch.float16)
    assert torch.equal(avg["h"], want_h)
    assert torch.equal(avg["i"], torch.tensor([3]))
    out = str(tmp_path / "avg.safetensors")
    checkpoints.save_weights(avg, out, step=7)
    assert torch.equal(load_file(out)["w"], avg["w"])
    with pytest.raises(DataError, match="No checkpoints"):
        checkpoints.average_checkpoints([])
