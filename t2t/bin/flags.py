"""The flags shared by t2t-trainer and t2t-decoder, with T2T's names and defaults.

absl gives T2T's exact flag syntax (`--flag=value`, `--flag`, `--noflag`). Flags of the
original that configure machinery we do not have (TPUs, parameter servers, tfdbg) are
still accepted, so existing scripts run; using one prints a warning that it is ignored.
"""

import logging

from absl import flags

FLAGS = flags.FLAGS

flags.DEFINE_bool("registry_help", False, "Print the registered names and exit.")
flags.DEFINE_string(
    "t2t_usr_dir",
    None,
    "Path to a Python package that registers user "
    "problems, models and hparams sets (T2T's --t2t_usr_dir).",
)
flags.DEFINE_string("model", None, "Registered model name, e.g. transformer.")
flags.DEFINE_string("hparams_set", None, "Registered hparams set, e.g. transformer_base.")
flags.DEFINE_string(
    "hparams_range", None, "Cloud ML Engine tuning search space; accepted, has no effect here."
)
flags.DEFINE_string("hparams", "", 'Overrides of the hparams set: "name=value,...".')
flags.DEFINE_string("problem", None, "Registered problem name, e.g. translate_ende_wmt32k.")
flags.DEFINE_string("data_dir", None, "Directory with the problem's generated data.")
flags.DEFINE_integer("train_steps", 250000, "Number of training steps.")
flags.DEFINE_string("eval_early_stopping_metric", "loss", "Metric watched for early stopping.")
flags.DEFINE_float("eval_early_stopping_metric_delta", 0.1, "Smallest change that counts.")
flags.DEFINE_integer(
    "eval_early_stopping_steps",
    None,
    "Stop when the metric has not improved for this many steps (None: never).",
)
flags.DEFINE_bool("eval_early_stopping_metric_minimize", True, "Lower metric is better.")
flags.DEFINE_integer(
    "eval_timeout_mins",
    240,
    "continuous_eval: longest wait for a new checkpoint, in minutes (-1: forever).",
)
flags.DEFINE_bool("eval_use_test_set", False, "Evaluate on the test split instead of dev.")
flags.DEFINE_integer("keep_checkpoint_max", 20, "How many recent checkpoints to keep.")
flags.DEFINE_integer(
    "keep_checkpoint_every_n_hours",
    10000,
    "Besides the newest --keep_checkpoint_max, keep one checkpoint every N hours for good.",
)
flags.DEFINE_integer(
    "save_checkpoints_secs",
    0,
    "Save every N seconds instead of every --local_eval_frequency steps (0: by steps).",
)
flags.DEFINE_string("warm_start_from", None, "Initialise weights from this checkpoint.")
flags.DEFINE_integer("local_eval_frequency", 1000, "Evaluate and save every N steps.")
flags.DEFINE_string("decode_hparams", "", 'Decoding overrides: "beam_size=4,alpha=0.6,...".')
flags.DEFINE_string("decode_from_file", "", "Decode the lines of this file.")
flags.DEFINE_string("decode_to_file", "", "Write decodes to this file.")
flags.DEFINE_string("decode_reference", "", "Reference translations, for BLEU.")

# Flags of T2T's trainer and decoder that configure TF, TPU or cluster machinery t2t does not
# have, with T2T's defaults. They are accepted so that T2T scripts keep running; setting one
# to another value logs that it has no effect and why (the reasons live in t2t/inert.py).
_IGNORED: dict[str, object] = {
    "tfdbg": False,
    "dbgprofile": False,
    "export_saved_model": False,
    "export_saved_model_api_version": 1,
    "enable_graph_rewriter": False,
    "log_device_placement": False,
    "inter_op_parallelism_threads": 0,
    "intra_op_parallelism_threads": 0,
    "use_guarantee_const_getter": False,
    "disable_grappler_optimizations": False,
    "profile": False,
    "eval_throttle_seconds": 600,
    "use_tpu": False,
    "use_tpu_estimator": False,
    "tpu_num_shards": 8,
    "tpu_job_name": "",
    "tpu_infeed_sleep_secs": 0,
    "cloud_tpu_name": "",
    "xla_compile": False,
    "xla_jit_level": -1,
    "master": "",
    "std_server_protocol": "grpc",
    "sync": False,
    "worker_job": "/job:localhost",
    "worker_gpu": 1,
    "worker_replicas": 1,
    "worker_id": 0,
    "worker_gpu_memory_fraction": 0.95,
    "ps_gpu": 0,
    "ps_job": "/job:ps",
    "ps_replicas": 0,
    "gpu_order": "",
    "optionally_use_dist_strat": False,
    "cloud_mlengine": False,
    "cloud_mlengine_master_type": "",
    "job-dir": "",
    "autotune_objective": "",
    "autotune_maximize": True,
    "autotune_max_trials": 10,
    "autotune_parallel_trials": 1,
    "decode_shards": 1,
    "decode_in_memory": False,
    "gpu_automatic_mixed_precision": False,
    "eval_run_autoregressive": False,
}
for _name, _default in _IGNORED.items():
    _define = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer, float: flags.DEFINE_float}
    if _name not in FLAGS:  # t2t-decoder may define some of them itself
        _define.get(type(_default), flags.DEFINE_string)(
            _name, _default, "Accepted for compatibility with T2T; has no effect here."
        )
# T2T's earlier spelling of --problem (its slides and early docs use --problems).
flags.DEFINE_string("problems", None, "T2T's earlier spelling of --problem.")


def run_names() -> dict[str, str | None]:
    """--problem, --model, --hparams_set and --data_dir, as `run_files.resolve_run` takes them."""
    return {
        "problem": FLAGS.problem,
        "model": FLAGS.model,
        "hparams_set": FLAGS.hparams_set,
        "data_dir": FLAGS.data_dir,
    }


def ignored_flags_in_use() -> list[str]:
    """Names of compatibility-only flags the user set on the command line."""
    return [name for name in (*_IGNORED, "hparams_range") if FLAGS[name].present]


def check_compat_flags() -> None:
    """Warns once per inert flag set to a non-default value; maps --problems to --problem.

    `--worker_gpu=N` (N > 1) also says how to get N processes: torchrun.

    Raises:
        T2TError: --problems and --problem both given, with different values.
    """
    from t2t import inert
    from t2t.errors import T2TError

    for name in ignored_flags_in_use():
        if name == "worker_gpu" and FLAGS.worker_gpu > 1:
            continue  # said below, with the command that gives N processes
        inert.warn_if_set("flag", name, FLAGS[name].value, FLAGS[name].default)
    if FLAGS.worker_gpu > 1:
        logging.warning(
            "--worker_gpu=%d: t2t runs one process per GPU; start them with torchrun "
            "--standalone --nproc_per_node=%d $(which t2t-trainer) <the same flags>",
            FLAGS.worker_gpu,
            FLAGS.worker_gpu,
        )
    if FLAGS.problems:
        if FLAGS.problem and FLAGS.problem != FLAGS.problems:
            raise T2TError(
                f"--problems={FLAGS.problems} and --problem={FLAGS.problem} disagree; "
                "give one (--problems is T2T's earlier spelling of --problem)"
            )
        FLAGS.problem = FLAGS.problems
