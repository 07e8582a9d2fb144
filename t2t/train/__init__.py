"""Training: the one training loop, optimizers, learning-rate schedules, checkpoints."""
