"""T2T's Insights configuration file: read as T2T wrote it, every mistake one clear line."""

import json
import logging

import pytest

from t2t.errors import T2TError
from t2t.insights import configuration

T2T_EXAMPLE = {  # the configuration of T2T's Insights walkthrough, as its users wrote it
    "configuration": [
        {
            "source_language": "en",
            "target_language": "de",
            "label": "transformers_wmt32k",
            "transformer": {
                "model": "transformer",
                "model_dir": "/tmp/t2t/train",
                "data_dir": "/tmp/t2t/data",
                "hparams": "",
                "hparams_set": "transformer_base_single_gpu",
                "problem": "translate_ende_wmt32k",
            },
        }
    ],
    "language": [{"code": "en", "name": "English"}, {"code": "de", "name": "German"}],
}


def write(tmp_path, data) -> str:
    path = tmp_path / "configuration.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def test_reads_t2t_s_example(tmp_path):
    config = configuration.read(write(tmp_path, T2T_EXAMPLE))
    [model] = config.models
    assert (model.label, model.source_language, model.target_language) == (
        "transformers_wmt32k", "en", "de",
    )  # fmt: skip
    assert model.transformer["problem"] == "translate_ende_wmt32k"
    assert model.transformer["t2t_usr_dir"] == model.transformer["decode_hparams"] == ""
    assert config.languages["de"] == {"code": "de", "name": "German"}


def test_unknown_keys_are_ignored_with_a_warning(tmp_path, caplog):
    data = json.loads(json.dumps(T2T_EXAMPLE))
    data["configuration"][0]["transformer"]["beam"] = 4
    with caplog.at_level(logging.WARNING):
        configuration.read(write(tmp_path, data))
    assert "ignoring unknown key 'beam'" in caplog.text


def broken(change):
    data = json.loads(json.dumps(T2T_EXAMPLE))
    change(data)
    return data


@pytest.mark.parametrize(
    "data, message",
    [
        ("{not json", "is not valid JSON"),
        ("[]", "expected a JSON object"),
        (broken(lambda d: d.pop("language")), "'language' must be a list"),
        (broken(lambda d: d.update(configuration=[])), "lists no model"),
        (broken(lambda d: d["configuration"][0].pop("label")), "'label' must be a non-empty"),
        (broken(lambda d: d["configuration"][0].pop("transformer")), "missing the 'transformer'"),
        (
            broken(lambda d: d["configuration"][0]["transformer"].pop("model_dir")),
            "missing 'model_dir'",
        ),
        (
            broken(lambda d: d["configuration"][0]["transformer"].update(hparams=3)),
            "'hparams' must be a string",
        ),
        (
            broken(lambda d: d["configuration"][0].update(target_language="fr")),
            "uses language 'fr', which is not in 'language' (known: de, en)",
        ),
        (
            broken(lambda d: d["configuration"].append(d["configuration"][0])),
            "two models are labelled 'transformers_wmt32k'",
        ),
    ],
)
def test_mistakes_are_one_line_errors(tmp_path, data, message):
    with pytest.raises(T2TError) as error:
        configuration.read(write(tmp_path, data))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_missing_file(tmp_path):
    with pytest.raises(T2TError, match="does not exist"):
        configuration.read(str(tmp_path / "nope.json"))
    with pytest.raises(T2TError, match="--configuration is required"):
        configuration.read("")
