"""`--help` of every t2t-* command shows the command's own flags and exits 0.

The commands are launched as the installed console scripts are (a wrapper `__main__` that
calls the module's `run`), which is where absl used to print only "Try --helpfull".
"""

import subprocess
import sys

import pytest

COMMANDS = {  # console script -> (module, some of its own flags)
    "t2t-trainer": ("t2t_trainer", ["--output_dir", "--schedule", "--hparams_set", "--problem"]),
    "t2t-datagen": ("t2t_datagen", ["--problem", "--data_dir", "--tmp_dir", "--random_seed"]),
    "t2t-decoder": ("t2t_decoder", ["--output_dir", "--decode_interactive", "--decode_hparams"]),
    "t2t-translate-all": ("t2t_translate_all", ["--model_dir", "--source", "--beam_size"]),
    "t2t-bleu": ("t2t_bleu", ["--reference", "--translation", "--translations_dir"]),
    "t2t-avg-all": ("t2t_avg_all", ["--model_dir", "--output_dir", "--n", "--min_steps"]),
    "t2t-build-vocab": ("build_vocab", ["--corpus_filepattern", "--vocab_filepath"]),
    "t2t-insights-server": (
        "t2t_insights_server",
        ["--configuration", "--static_path", "--port", "--t2t_usr_dir", "--decode_hparams"],
    ),
    "t2t-exporter": ("t2t_exporter", ["--output_dir", "--export_dir", "--export_format"]),
    "t2t-serve": ("t2t_serve", ["--export_dir", "--port", "--servable_name", "--max_batch_size"]),
    "t2t-query-server": ("t2t_query_server", ["--server", "--servable_name", "--inputs_once"]),
}


def launch(script: str, module: str, *args: str) -> subprocess.CompletedProcess:
    code = f"import sys; sys.argv[0] = {script!r}; from t2t.bin import {module}; {module}.run()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("script", sorted(COMMANDS))
def test_help_lists_the_commands_flags(script):
    module, names = COMMANDS[script]
    out = launch(script, module, "--help")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith(script + ":")  # the command's docstring
    for name in names:
        assert f"  {name}:" in out.stdout or f"  --[no]{name[2:]}:" in out.stdout, (
            name,
            out.stdout,
        )


def test_helpfull_lists_every_flag():
    out = launch("t2t-avg-all", "t2t_avg_all", "--helpfull")
    assert out.returncode == 0 and "--[no]logtostderr" in out.stdout and "--model_dir" in out.stdout
