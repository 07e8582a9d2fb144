"""A tiny trained translation model for the Insights and visualization tests.

The problem is the T2T-style user problem of tests/problems/fixtures/problems_usr_dir
(word lists -> reversed and upper-cased), so everything here also runs a --t2t_usr_dir
problem. A 16-wide 2-layer Transformer trains 200 steps through the real commands (under a
minute on 2 busy CPU cores). What it learns in so few steps depends on the float rounding
of the machine, so the tests compare with the model's own decodes, never with fixed text.
"""

import json
import os
import subprocess
import sys

import pytest

USR_DIR = os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "problems", "fixtures", "problems_usr_dir")
)
HPARAMS = (
    "hidden_size=16,filter_size=32,num_heads=2,batch_size=256,"
    "learning_rate_warmup_steps=20,learning_rate=0.5"
)
PROBLEM = "my_tiny_translate"


def command(module: str, *args: str) -> None:
    # One OpenMP thread: on a loaded machine torch's spinning threads made these 150 steps
    # take 5 minutes instead of 40 s.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-m", f"t2t.bin.{module}", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-3000:]


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """{"data_dir", "model_dir"} of the trained run."""
    tmp = tmp_path_factory.mktemp("insights")
    data, train = str(tmp / "data"), str(tmp / "train")
    command(
        "t2t_datagen", f"--t2t_usr_dir={USR_DIR}", f"--problem={PROBLEM}",
        f"--data_dir={data}", f"--tmp_dir={tmp / 'tmp'}",
    )  # fmt: skip
    command(
        "t2t_trainer", f"--t2t_usr_dir={USR_DIR}", f"--problem={PROBLEM}",
        "--model=transformer", "--hparams_set=transformer_tiny", f"--hparams={HPARAMS}",
        f"--data_dir={data}", f"--output_dir={train}", "--train_steps=200",
        "--local_eval_frequency=200", "--eval_steps=1", "--random_seed=3", "--noprogress_bar",
    )  # fmt: skip
    return {"data_dir": data, "model_dir": train}


@pytest.fixture(scope="session")
def loaded(trained):
    from t2t import visualization

    return visualization.load_model(trained["model_dir"], t2t_usr_dir=USR_DIR, device="cpu")


@pytest.fixture(scope="session")
def configuration(trained) -> dict:
    """A T2T Insights configuration for the trained model (its names given in full)."""
    return {
        "configuration": [
            {
                "source_language": "en",
                "target_language": "up",
                "label": "tiny_reverse",
                "transformer": {
                    "model": "transformer",
                    "model_dir": trained["model_dir"],
                    "data_dir": trained["data_dir"],
                    "hparams": "",
                    "hparams_set": "transformer_tiny",
                    "problem": PROBLEM,
                },
            }
        ],
        "language": [{"code": "en", "name": "English"}, {"code": "up", "name": "Upper case"}],
    }


@pytest.fixture(scope="session")
def configuration_file(configuration, tmp_path_factory) -> str:
    """`configuration` written to a file."""
    path = tmp_path_factory.mktemp("configuration") / "configuration.json"
    path.write_text(json.dumps(configuration))
    return str(path)


@pytest.fixture(scope="session")
def app(configuration_file):
    """The Insights FastAPI app serving the trained model (the built-in page)."""
    from t2t.bin.t2t_insights_server import build_app

    return build_app(configuration_file, usr_dir=USR_DIR)
