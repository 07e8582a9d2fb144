"""The flags shared by t2t-trainer and t2t-decoder, with T2T's names and defaults.

absl gives T2T's exact flag syntax (`--flag=value`, `--flag`, `--noflag`). Flags of the
original that configure machinery we do not have (TPUs, parameter servers, tfdbg) are
still accepted, so existing scripts run; using one prints a warning that it is ignored.
"""

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
flags.DEFINE_string("hparams_range", None, "Registered ranged hparams (search space) name.")
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

# Accepted so that T2T scripts keep running; they configure TF machinery we do not have.
_IGNORED = {
    "tfdbg": False,
    "export_saved_model": False,
    "dbgprofile": False,
    "enable_graph_rewriter": False,
    "log_device_placement": False,
    "sync": False,
    "worker_job": "/job:localhost",
    "worker_gpu": 1,
    "worker_replicas": 1,
    "worker_id": 0,
    "worker_gpu_memory_fraction": 0.95,
    "ps_gpu": 0,
    "gpu_order": "",
    "ps_job": "/job:ps",
    "ps_replicas": 0,
    "keep_checkpoint_every_n_hours": 10000,
    "eval_throttle_seconds": 600,
    "eval_run_autoregressive": False,
}
for _name, _default in _IGNORED.items():
    _define = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer, float: flags.DEFINE_float}
    _define.get(type(_default), flags.DEFINE_string)(
        _name, _default, "Accepted for compatibility with T2T; has no effect here."
    )


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
    return [name for name in _IGNORED if FLAGS[name].present]
