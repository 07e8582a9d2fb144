"""A tiny model and a resumable batch source for the trainer tests (also a script).

Run as a script it trains the toy model into --output_dir; the kill -9 test starts it as a
subprocess and kills it after a checkpoint.
"""

import argparse
import time
from typing import Any

import torch
import torch.nn.functional as F

from t2t import registry
from t2t.hparams import basic_params1
from t2t.train import learning_rate, optimizers, trainer  # noqa: F401 (registers optimizers)

VOCAB = 20


class ToyModel(torch.nn.Module):
    """Embedding -> dense+relu -> dropout -> layer norm -> logits; padded cross-entropy."""

    def __init__(self, hidden: int = 16, dropout: float = 0.1) -> None:
        super().__init__()
        self.embedding = torch.nn.Embedding(VOCAB, hidden)
        self.dense = torch.nn.Linear(hidden, hidden)
        self.dropout = torch.nn.Dropout(dropout)
        self.norm = torch.nn.LayerNorm(hidden)
        self.out = torch.nn.Linear(hidden, VOCAB)

    def forward(self, features: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        x = self.embedding(features["inputs"])  # [B, T, H]
        x = self.dropout(torch.relu(self.dense(x)))
        logits = self.out(self.norm(x))  # [B, T, V]
        targets = features["targets"]  # [B, T]
        weights = (targets != 0).float()
        ce = F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1), reduction="none")
        num = (ce.reshape(targets.shape) * weights).sum()
        den = weights.sum()
        if "poison" in features:  # the NaN test's batches
            num = num * torch.where(features["poison"].bool(), float("nan"), 1.0)
        losses = {"training": num / den.clamp(min=1.0), "training_num": num, "training_den": den}
        return logits, losses


class ToyBatches:
    """Deterministic batches; batch i depends only on (seed, i). Resumable by position.

    Each global batch has `batch_size` rows with random lengths (zero padding); process
    `rank` of `world_size` gets rows rank::world_size of it.
    """

    def __init__(
        self,
        num_batches: int = 50,
        batch_size: int = 4,
        length: int = 6,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        sleep: float = 0.0,
        nan_at: int | None = None,
    ) -> None:
        self.num_batches, self.batch_size, self.length = num_batches, batch_size, length
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.sleep, self.nan_at = sleep, nan_at
        self.position = 0

    def batch(self, i: int) -> dict[str, torch.Tensor]:
        gen = torch.Generator().manual_seed(self.seed * 100003 + i)
        inputs = torch.randint(2, VOCAB, (self.batch_size, self.length), generator=gen)
        lengths = torch.randint(1, self.length + 1, (self.batch_size, 1), generator=gen)
        inputs = inputs * (torch.arange(self.length)[None, :] < lengths)
        targets = (inputs + 1) % VOCAB * (inputs != 0)
        rows = slice(self.rank, None, self.world_size)
        return {"inputs": inputs[rows], "targets": targets[rows]}

    def __iter__(self):
        if self.position >= self.num_batches:
            self.position = 0
        while self.position < self.num_batches:
            i = self.position
            self.position += 1
            if self.sleep:
                time.sleep(self.sleep)
            batch = self.batch(i)
            if self.nan_at is not None and i >= self.nan_at:
                batch["poison"] = torch.tensor(1)
            yield batch

    def state_dict(self) -> dict[str, Any]:
        return {"position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.position = state["position"]


def toy_hparams(optimizer: str = "adam", **overrides: Any):
    hparams = basic_params1()
    hparams.optimizer = optimizer
    hparams.learning_rate_schedule = "constant*linear_warmup"
    hparams.learning_rate_constant = 0.05
    hparams.learning_rate_warmup_steps = 2
    for key, value in overrides.items():
        hparams.set_hparam(key, value)
    return hparams


def run_training(
    output_dir: str,
    train_steps: int,
    save_every: int = 1,
    seed: int = 1,
    optimizer: str = "adam",
    sleep: float = 0.0,
    dropout: float = 0.1,
    rank: int = 0,
    world_size: int = 1,
    **config: Any,
) -> dict[str, Any]:
    """Trains a fresh toy model (or resumes) in output_dir; logs every step."""
    hparams = toy_hparams(optimizer)
    torch.manual_seed(seed)
    model = ToyModel(dropout=dropout)
    cfg = trainer.TrainConfig.from_hparams(
        hparams,
        output_dir=output_dir,
        train_steps=train_steps,
        save_checkpoints_steps=save_every,
        log_every_steps=1,
        seed=seed,
        progress_bar=False,
        device="cpu",
        **config,
    )
    return trainer.train(
        model,
        lambda params: registry.optimizer(hparams.optimizer)(params, hparams),
        learning_rate.learning_rate_schedule(hparams),
        ToyBatches(sleep=sleep, rank=rank, world_size=world_size),
        cfg,
    )


def ddp_worker(
    rank: int,
    world_size: int,
    port: int,
    output_dir: str,
    train_steps: int,
    hparams_overrides: dict[str, Any],
) -> None:
    """One process of a CPU (gloo) data-parallel run, as torchrun would start it."""
    import os

    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world_size),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    try:
        run_training(
            output_dir,
            train_steps,
            save_every=train_steps,
            dropout=0.0,
            rank=rank,
            world_size=world_size,
            **hparams_overrides,
        )
    finally:
        torch.distributed.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--train_steps", type=int, default=6)
    parser.add_argument("--sleep", type=float, default=0.0)
    args = parser.parse_args()
    torch.set_num_threads(1)  # the kill -9 test compares with an in-process 1-thread run
    run_training(args.output_dir, args.train_steps, sleep=args.sleep)


if __name__ == "__main__":
    main()
