"""Runs: an output dir's run files, checkpoints, averaging, step files, and the model builder.

Below both `t2t.train` and `t2t.decode`, so decoding never imports training:
`build` (the one model builder), `run_files` (hparams.json, run.json), `checkpoints`,
`averaging` (t2t-avg-all) and `step_files` (`<prefix>-<steps>` files, oldest first).
"""
