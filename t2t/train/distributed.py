"""Process-group setup under torchrun, and the few collectives the trainer needs.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; we then run DistributedDataParallel with
NCCL on GPUs and gloo on CPU. Without those variables (or WORLD_SIZE=1) everything here is a
no-op, so the trainer has one code path.
"""

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistributedContext:
    """Where this process sits: rank, world size, local rank and its device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_chief(self) -> bool:
        """Rank 0: the only process that writes checkpoints and logs."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """Whether more than one process trains (gradients are all-reduced)."""
        return self.world_size > 1


def setup(device: str | None = None) -> DistributedContext:
    """Initialises the process group from torchrun's environment if needed.

    Args:
        device: "cpu", "cuda" or None (CUDA when available). Under torchrun each process
            uses cuda:LOCAL_RANK.

    Returns:
        The DistributedContext of this process.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device is None else device.startswith("cuda")
    if use_cuda:
        torch.cuda.set_device(local_rank)
        torch_device = torch.device("cuda", local_rank)
    else:
        torch_device = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    if dist.is_initialized():
        rank, world_size = dist.get_rank(), dist.get_world_size()
    return DistributedContext(rank, world_size, local_rank, torch_device)


def shutdown(wait_for_others: bool = True) -> None:
    """Leaves the process group, if one was joined.

    Exiting with a live gloo/NCCL group can abort the interpreter at shutdown
    ("terminate called without an active exception") after the work is done.

    Args:
        wait_for_others: barrier first (after success); False after an error, when other
            processes may never reach the barrier.
    """
    if dist.is_initialized():
        if wait_for_others:
            dist.barrier()
        dist.destroy_process_group()


def all_reduce_sum(tensor: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """Sum of `tensor` over all processes (a copy; the input is untouched)."""
    total = tensor.detach().clone()
    if context.enabled:
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total


def all_gather_objects(obj: Any, context: DistributedContext) -> list[Any]:
    """[obj of rank 0, obj of rank 1, ...] (pickled over the process group, not from a file)."""
    if not context.enabled:
        return [obj]
    gathered: list[Any] = [None] * context.world_size
    dist.all_gather_object(gathered, obj)
    return gathered


def broadcast_object(obj: Any, context: DistributedContext) -> Any:
    """Rank 0's obj on every process."""
    if not context.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
