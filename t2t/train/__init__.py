"""Training: the one training loop, optimizers, learning-rate schedules, distributed set-up
(checkpoints and run files are in `t2t.runs`)."""
