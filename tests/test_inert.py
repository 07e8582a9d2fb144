"""No silent knobs: every hparam is read by t2t's code or listed in t2t.inert, with a warning.

`names_read_in(root)` scans t2t's source (Python's ast) for the places an hparam can be read:
an attribute load on an hparams-like object (`hp.x`, `hparams.x`, `self.hparams.x`,
`model_hparams.x`), or the name as a string argument of a call (`getattr(hp, "x")`,
`hp.get("x")`, `_hparam(hp, "x", 0)`), a subscript (`values["x"]`) or an `in` test. Writes
(`add_hparam` / `set_hparam`) and the bodies of registered hparams sets do not count: a set
that assigns a name does not make it do anything.
"""

import ast
import logging
import pathlib
import re
import subprocess
import sys

import pytest

from t2t import inert, registry
from t2t.decode.decoding import decode_hparams
from t2t.hparams import HParams, create_hparams

T2T_ROOT = pathlib.Path(__file__).resolve().parents[1] / "t2t"

_HPARAMS_LIKE = re.compile(r"(hp|hps|hparams|params)$", re.IGNORECASE)
_WRITES = {"add_hparam", "set_hparam", "del_hparam"}
_SET_DECORATORS = ("register_hparams", "register_ranged_hparams")


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _string(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def names_read_in(root: pathlib.Path) -> set[str]:
    """Every name that the Python files under `root` read as an hparam (see the docstring)."""
    read: set[str] = set()
    for path in root.rglob("*.py"):
        if path.name == "inert.py":  # the table of names that are NOT read
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        in_sets = {
            id(sub)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef)
            and any(k in ast.unparse(d) for d in node.decorator_list for k in _SET_DECORATORS)
            for sub in ast.walk(node)
        }
        for node in ast.walk(tree):
            if id(node) in in_sets:
                continue
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                owner = ast.unparse(node.value).rsplit(".", 1)[-1]
                if _HPARAMS_LIKE.search(owner):
                    read.add(node.attr)
            elif isinstance(node, ast.Call) and _callee(node) not in _WRITES:
                read.update(s for s in map(_string, node.args) if s)
            elif isinstance(node, ast.Subscript) and _string(node.slice):
                read.add(_string(node.slice))
            elif isinstance(node, ast.Compare) and _string(node.left):
                read.add(_string(node.left))
    return read


def silent_names(names: set[str], read: set[str], listed: dict[str, str]) -> list[str]:
    """The names that are neither read nor listed as inert: the knobs this test forbids."""
    return sorted(n for n in names if n not in read and n not in listed)


def registered_hparam_names() -> set[str]:
    names: set[str] = set()
    for set_name in registry.list_hparams():
        names.update(registry.hparams(set_name).values())
    return names


@pytest.fixture(scope="module")
def read_names() -> set[str]:
    return names_read_in(T2T_ROOT)


def test_every_registered_hparam_is_read_or_listed(read_names):
    names = registered_hparam_names()
    assert len(names) >= 150  # basic_params1 alone has 124: a listing bug cannot hide names
    assert silent_names(names, read_names, inert.INERT_HPARAMS) == []


def test_every_decode_hparam_is_read_or_listed(read_names):
    names = set(decode_hparams().values())
    assert len(names) >= 40
    assert silent_names(names, read_names, inert.INERT_DECODE_HPARAMS) == []


def test_the_check_fails_for_an_unread_unlisted_name(tmp_path, read_names):
    # A new set with a name nothing reads is caught ...
    @registry.register_hparams("zz_test_set_with_a_silent_knob")
    def zz_test_set_with_a_silent_knob():
        hp = registry.hparams("basic_1")
        hp.add_hparam("zz_brand_new_knob", 3)
        return hp

    try:
        names = registered_hparam_names()
        assert silent_names(names, read_names, inert.INERT_HPARAMS) == ["zz_brand_new_knob"]
        # ... and passes once the name is listed ...
        listed = {**inert.INERT_HPARAMS, "zz_brand_new_knob": inert.NOT_HERE}
        assert silent_names(names, read_names, listed) == []
    finally:
        del registry.Registries.hparams._entries_loaded()["zz_test_set_with_a_silent_knob"]
    # ... or once some code reads it (and a set that assigns it does not count as a read).
    (tmp_path / "sets.py").write_text(
        "from t2t import registry\n"
        "@registry.register_hparams('s')\n"
        "def s():\n"
        "    hparams.zz_knob_a = hparams.zz_knob_b\n"
        "    hparams.add_hparam('zz_knob_c', 1)\n"
    )
    (tmp_path / "model.py").write_text(
        "def f(hp, self):\n"
        "    return hp.zz_knob_d + self.hparams.zz_knob_e + getattr(hp, 'zz_knob_f', 0)\n"
        "def g(obj):\n"
        "    return obj.zz_knob_g\n"
    )
    found = names_read_in(tmp_path)
    knobs = {f"zz_knob_{c}" for c in "abcdefg"}
    assert sorted(found & knobs) == ["zz_knob_d", "zz_knob_e", "zz_knob_f"]


def test_inert_names_exist():
    # A typo in the table would hide nothing but must not pass unnoticed.
    assert set(inert.INERT_HPARAMS) <= registered_hparam_names()
    assert set(inert.INERT_DECODE_HPARAMS) <= set(decode_hparams().values())
    from absl import flags

    # The shared and compatibility flags, and the two commands with inert flags of their own.
    from t2t.bin import flags as t2t_flags
    from t2t.bin import t2t_exporter, t2t_query_server

    del t2t_flags, t2t_exporter, t2t_query_server
    assert sorted(name for name in inert.INERT_FLAGS if name not in flags.FLAGS) == []


def test_inert_table_counts_by_reason():
    counts: dict[str, int] = {}
    for table in (inert.INERT_HPARAMS, inert.INERT_DECODE_HPARAMS, inert.INERT_FLAGS):
        for why in table.values():
            tag = why.split(":", 1)[0]
            counts[tag] = counts.get(tag, 0) + 1
    assert set(counts) <= {
        "tpu", "cluster", "cloud_ml", "tf_graph", "dtype", "unused_in_t2t", "not_here",
        "multiproblem", "media", "estimator",
    }  # fmt: skip
    assert sum(counts.values()) == (
        len(inert.INERT_HPARAMS) + len(inert.INERT_DECODE_HPARAMS) + len(inert.INERT_FLAGS)
    )


def _warnings(caplog, name: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if name in r.getMessage()]


def test_setting_an_inert_hparam_warns_once(caplog, monkeypatch):
    monkeypatch.setattr(inert, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="t2t"):
        create_hparams("transformer_tiny", "hard_attention_k=8")
        create_hparams("transformer_tiny", "hard_attention_k=8")
        create_hparams("transformer_tiny", "use_custom_ops=True")  # the default: no warning
        create_hparams("transformer_tiny", "hidden_size=16")  # acts: no warning
    messages = _warnings(caplog, "hard_attention_k")
    assert len(messages) == 1 and "has no effect" in messages[0] and "model family" in messages[0]
    assert _warnings(caplog, "use_custom_ops") == [] and _warnings(caplog, "hidden_size") == []


def test_setting_an_inert_decode_hparam_warns_once(caplog, monkeypatch):
    monkeypatch.setattr(inert, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="t2t"):
        decode_hparams("shards=4,beam_size=2")
        decode_hparams("shards=4")
    messages = _warnings(caplog, "shards")
    assert len(messages) == 1 and "decode hparam shards=4" in messages[0]
    assert _warnings(caplog, "beam_size") == []


def test_warn_changed_compares_with_the_defaults():
    before = HParams(hard_attention_k=2, hidden_size=8).values()
    assert inert.warn_changed("hparam", before, {"hard_attention_k": 2, "hidden_size": 9}) == []
    assert inert.warn_changed("hparam", before, {"hard_attention_k": 4, "hidden_size": 9}) == [
        "hard_attention_k"
    ]


def _trainer(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "t2t.bin.t2t_trainer", *args], capture_output=True, text=True
    )


def test_tpu_and_cloud_flags_are_accepted_with_a_warning():
    out = _trainer(
        "--use_tpu", "--master=grpc://10.0.0.1", "--tpu_num_shards=32", "--cloud_mlengine",
        "--xla_compile", "--inter_op_parallelism_threads=4", "--job-dir=gs://bucket/run",
        "--hparams_range=basic1", "--worker_gpu=4", "--registry_help",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    for name in ("use_tpu", "master", "tpu_num_shards", "cloud_mlengine", "xla_compile",
                 "inter_op_parallelism_threads", "job-dir", "hparams_range"):  # fmt: skip
        assert f"--{name}=" in out.stderr and "has no effect" in out.stderr, name
    assert "torchrun --standalone --nproc_per_node=4" in out.stderr


def test_problems_is_t2t_earlier_spelling_of_problem():
    out = _trainer("--problems=no_such_problem_xyz", "--model=transformer")
    assert out.returncode != 0 and "no_such_problem_xyz" in out.stderr
    assert "is not a registered problem" in out.stderr
    out = _trainer("--problems=algorithmic_reverse_binary40", "--problem=translate_ende_wmt32k")
    assert out.returncode == 2 and "disagree" in out.stderr


# ---- flags ----------------------------------------------------------------------------------

BIN_ROOT = T2T_ROOT / "bin"

# The flags of T2T 1.15.7's t2t-trainer and t2t-decoder (utils/flags.py, bin/t2t_trainer.py,
# bin/t2t_decoder.py): a T2T script may pass any of them.
T2T_TRAINER_AND_DECODER_FLAGS = """
registry_help tfdbg export_saved_model dbgprofile model hparams_set hparams_range hparams
problem data_dir train_steps eval_early_stopping_metric eval_early_stopping_metric_delta
eval_early_stopping_steps eval_early_stopping_metric_minimize eval_timeout_mins
eval_run_autoregressive eval_use_test_set keep_checkpoint_max enable_graph_rewriter
keep_checkpoint_every_n_hours save_checkpoints_secs log_device_placement warm_start_from
local_eval_frequency eval_throttle_seconds sync worker_job worker_gpu worker_replicas worker_id
worker_gpu_memory_fraction ps_gpu gpu_order ps_job ps_replicas decode_hparams decode_from_file
decode_to_file decode_reference t2t_usr_dir random_seed tpu_num_shards tpu_job_name
iterations_per_loop use_tpu use_tpu_estimator export_saved_model_api_version
use_guarantee_const_getter xla_compile xla_jit_level tpu_infeed_sleep_secs generate_data tmp_dir
profile inter_op_parallelism_threads intra_op_parallelism_threads optionally_use_dist_strat master
output_dir schedule eval_steps std_server_protocol cloud_tpu_name cloud_mlengine
cloud_mlengine_master_type autotune_objective autotune_maximize autotune_max_trials
autotune_parallel_trials log_step_count_steps gpu_automatic_mixed_precision job-dir
checkpoint_path keep_timestamp decode_interactive decode_shards score_file decode_in_memory
disable_grappler_optimizations
""".split()


def flags_defined_and_read(root: pathlib.Path) -> tuple[set[str], set[str]]:
    """(flag names defined with a literal name, names read as FLAGS.x / FLAGS["x"]) in root."""
    defined: set[str] = set()
    read: set[str] = set()
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = _callee(node)
                if name.startswith("DEFINE_") and node.args and _string(node.args[0]):
                    defined.add(_string(node.args[0]))
                elif name == "define_once" and len(node.args) > 1 and _string(node.args[1]):
                    defined.add(_string(node.args[1]))
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                if ast.unparse(node.value).endswith("FLAGS"):
                    read.add(node.attr)
            elif isinstance(node, ast.Subscript) and _string(node.slice):
                if ast.unparse(node.value).endswith("FLAGS"):
                    read.add(_string(node.slice))
    return defined, read


def test_every_flag_is_read_or_listed(tmp_path):
    from t2t.bin import flags as t2t_flags

    defined, read = flags_defined_and_read(BIN_ROOT)
    assert len(defined) >= 60
    assert sorted(defined - read - set(inert.INERT_FLAGS)) == []
    # The compatibility flags defined in a loop are exactly the listed ones, with those that
    # one command defines itself (t2t-exporter's as_text, t2t-query-server's cloud flag).
    own = {"hparams_range", "as_text", "cloud_mlengine_model_version"}
    assert set(t2t_flags._IGNORED) | own == set(inert.INERT_FLAGS)
    # The check catches a flag nobody reads:
    (tmp_path / "cmd.py").write_text(
        "flags.DEFINE_integer('zz_used', 1, '')\n"
        "flags.DEFINE_bool('zz_unused', False, '')\n"
        "print(FLAGS.zz_used)\n"
    )
    defined, read = flags_defined_and_read(tmp_path)
    assert sorted(defined - read - set(inert.INERT_FLAGS)) == ["zz_unused"]


def _flags_of(command: str) -> set[str]:
    code = f"import {command}; from absl import flags; print(' '.join(flags.FLAGS))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_every_t2t_trainer_and_decoder_flag_is_accepted():
    # One process per command: each defines its own flags, as when run from the shell.
    trainer_flags = _flags_of("t2t.bin.t2t_trainer")
    decoder_flags = _flags_of("t2t.bin.t2t_decoder")
    assert len(T2T_TRAINER_AND_DECODER_FLAGS) == 80
    ours = trainer_flags | decoder_flags
    assert [n for n in T2T_TRAINER_AND_DECODER_FLAGS if n not in ours] == []
