"""Two CPU processes (gloo DDP) make the same updates as one process with the global batch."""

import json
import os
import socket
import sys

import torch
import torch.multiprocessing as mp

from t2t.runs import checkpoints

sys.path.insert(0, os.path.dirname(__file__))
import toy_training  # noqa: E402

# fork: the children inherit the imported modules (spawn re-imports torch: ~30 s on a busy
# 2-core machine); torch resets its thread pools in forked children, as DataLoader relies on.
START_METHOD = "fork"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _losses(output_dir):
    with open(os.path.join(output_dir, "log.jsonl")) as f:
        return [json.loads(line)["loss"] for line in f]


def test_two_process_gloo_matches_single_process(tmp_path):
    steps = 4
    # Uneven token counts per process (random lengths): the loss must still be the
    # global sum(num) / sum(den), not the mean of per-process means.
    single = str(tmp_path / "single")
    toy_training.run_training(
        single, steps, save_every=steps, dropout=0.0, clip_grad_norm=1.0, weight_decay=0.01
    )
    multi = str(tmp_path / "ddp")
    mp.start_processes(
        toy_training.ddp_worker,
        start_method=START_METHOD,
        args=(2, _free_port(), multi, steps, {"clip_grad_norm": 1.0, "weight_decay": 0.01}),
        nprocs=2,
        join=True,
    )
    want = checkpoints.read_weights(checkpoints.latest_checkpoint(single))
    got = checkpoints.read_weights(checkpoints.latest_checkpoint(multi))
    assert set(want) == set(got)
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-5, atol=1e-6)
    for a, b in zip(_losses(single), _losses(multi), strict=True):
        assert abs(a - b) < 1e-5
    # every process's data position is in the checkpoint
    state = checkpoints.load_state(checkpoints.latest_checkpoint(multi))
    assert [r["data"]["pipeline"]["position"] for r in state["ranks"]] == [steps, steps]
    assert not os.path.exists(os.path.join(multi, "rank1"))
