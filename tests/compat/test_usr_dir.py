"""--t2t_usr_dir: a user directory written for the original T2T loads and registers."""

import os
import subprocess
import sys

import pytest

from t2t import registry
from t2t.compat.usr_dir import import_usr_dir
from t2t.errors import T2TError

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "my_t2t_usr_dir")


def test_t2t_user_dir_registers_hparams():
    import_usr_dir(FIXTURE)
    assert "my_very_own_hparams" in registry.list_hparams()
    hp = registry.hparams("my_very_own_hparams")
    assert hp.num_hidden_layers == 2 and hp.filter_size == 2048 and hp.batch_size == 4096
    hp = registry.hparams("transformer_my_tiny")  # derived from tensor2tensor.models.transformer
    assert hp.num_heads == 2 and hp.hidden_size == 128 and hp.num_hidden_layers == 2
    import tensor2tensor.utils.registry as aliased

    assert aliased is registry


def test_usr_dir_through_the_trainer_command():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "t2t.bin.t2t_trainer",
            f"--t2t_usr_dir={FIXTURE}",
            "--registry_help",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "* my_very_own_hparams" in out.stdout


def test_bad_usr_dir(tmp_path):
    with pytest.raises(T2TError, match="not a directory"):
        import_usr_dir(str(tmp_path / "missing"))
    with pytest.raises(T2TError, match="no __init__.py"):
        import_usr_dir(str(tmp_path))
