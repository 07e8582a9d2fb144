"""The export directory: what it holds, t2t.load of it, and damaged exports.

The run and export come from tests/export/tiny_run.py (a tiny Transformer trained in-process).
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

import t2t
from t2t.errors import DataError, T2TError
from t2t.runs import export_dir

SENTENCES = ["2 3 4 5", "9 8 7", "1 1 2 3 5 8", "0", ""]
USR_DIR = os.path.join(os.path.dirname(__file__), "..", "problems", "fixtures", "problems_usr_dir")


def test_export_holds_every_part_with_digests(trained):
    _, export = trained
    manifest = json.load(open(os.path.join(export, "manifest.json")))
    assert manifest["format"] == "t2t-export" and manifest["format_version"] == 1
    assert manifest["source"]["step"] == 300 and manifest["torch_version"]
    for name in (
        "model.safetensors",
        "hparams.json",
        "problem.json",
        "decode_hparams.json",
        "ctranslate2/model.bin",
        "onnx/encoder.onnx",
        "onnx/decoder_step.onnx",
    ):
        entry = manifest["files"][name]
        assert entry["sha256"] == export_dir.file_sha256(os.path.join(export, name))
    problem = json.load(open(os.path.join(export, "problem.json")))
    assert problem["problem"] == "algorithmic_reverse_decimal40" and problem["has_inputs"]
    assert problem["encoders"]["inputs"] == {"kind": "TextEncoder", "num_reserved_ids": 2}
    assert problem["vocab_size"] == {"inputs": 12, "targets": 12}


def test_load_export_decodes_as_the_run(trained):
    run, export = trained
    from_run, from_export = t2t.load(run, device="cpu"), t2t.load(export, device="cpu")
    for beam in (1, 3):
        a = from_run.decode(SENTENCES, beam_size=beam, return_beams=True, extra_length=8)
        assert from_export.decode(SENTENCES, beam_size=beam, return_beams=True,
                                  extra_length=8) == a  # fmt: skip
    assert from_export.decode(["2 3 4 5"], beam_size=1) == ["5 4 3 2"]  # it learned to reverse


def test_load_export_refuses_run_arguments(trained):
    with pytest.raises(T2TError, match="export directory"):
        t2t.load(trained[1], data_dir="/somewhere")


def _copy(trained, tmp_path, name="export"):
    target = tmp_path / name
    shutil.copytree(trained[1], target)
    return str(target)


def test_changed_file_fails_its_digest(trained, tmp_path):
    export = _copy(trained, tmp_path)
    path = os.path.join(export, "hparams.json")
    text = open(path).read().replace('"hidden_size": 32', '"hidden_size": 31')
    open(path, "w").write(text)
    with pytest.raises(DataError, match="SHA-256 differs"):
        t2t.load(export, device="cpu")


def test_missing_or_truncated_file(trained, tmp_path):
    export = _copy(trained, tmp_path)
    with open(os.path.join(export, "model.safetensors"), "r+b") as f:
        f.truncate(100)
    with pytest.raises(DataError, match="another size"):
        export_dir.read_export(export, verify=False)
    export = _copy(trained, tmp_path, "second")
    os.remove(os.path.join(export, "problem.json"))
    with pytest.raises(DataError, match="problem.json is missing"):
        export_dir.read_export(export)


def test_bad_manifests(trained, tmp_path):
    export = _copy(trained, tmp_path)
    manifest = os.path.join(export, "manifest.json")
    good = json.load(open(manifest))
    open(manifest, "w").write("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        export_dir.read_export(export)
    json.dump(dict(good, format_version=99), open(manifest, "w"))
    with pytest.raises(DataError, match="newer than this t2t reads"):
        export_dir.read_export(export)
    os.remove(manifest)
    with pytest.raises(DataError, match="not an export directory"):
        export_dir.read_export(export)
    with pytest.raises(DataError, match="does not exist"):
        export_dir.read_export(str(tmp_path / "nowhere"))


def _cli(module, *args, env=None):
    return subprocess.run([sys.executable, "-m", f"t2t.bin.{module}", *args],
                          capture_output=True, text=True, timeout=300, env=env)  # fmt: skip


def test_exporter_errors_are_one_line(trained, tmp_path):
    out = _cli("t2t_exporter", f"--output_dir={trained[0]}", "--export_format=t2t,tflite",
               f"--export_dir={tmp_path / 'x'}")  # fmt: skip
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert (
        out.stderr.strip()
        .splitlines()[-1]
        .endswith(
            "--export_format: unknown format 'tflite'; use a comma list of t2t, ctranslate2, onnx"
        )
    )
    out = _cli("t2t_exporter", f"--output_dir={tmp_path / 'missing'}")
    assert out.returncode == 2 and "Traceback" not in out.stderr and "does not exist" in out.stderr


def test_usr_dir_problem_export_decodes_without_the_usr_dir(tmp_path):
    """A user-directory problem with a subword vocabulary: exported, then loaded in a fresh
    process that never imports the user directory and has no data_dir."""
    from t2t.compat.usr_dir import import_usr_dir
    from t2t.decode.api import load
    from t2t.export import exporter
    from t2t.runs import build, checkpoints, run_files

    import_usr_dir(USR_DIR)
    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    from t2t import registry

    registry.problem("my_tiny_translate").generate_data(data, str(tmp_path / "tmp"))
    hparams = "hidden_size=16,filter_size=32,num_heads=2"
    exp = build.build_run("my_tiny_translate", "transformer", "transformer_tiny", hparams, data)
    run_files.write_run_files(run, exp.hparams, {
        "problem": "my_tiny_translate", "model": "transformer", "hparams_set": "transformer_tiny",
        "hparams": hparams, "data_dir": data})  # fmt: skip
    checkpoints.save_checkpoint(run, 1, exp.model.eval(), {"step": 1})
    loaded = load(run, device="cpu")
    expected = loaded.decode(["alpha beta", "zeta"], beam_size=2, return_beams=True, extra_length=4)
    export = exporter.export_loaded(loaded, str(tmp_path / "export"), ["t2t"])
    assert os.listdir(os.path.join(export, "vocab")) == ["vocab.my_tiny.128"]
    shutil.rmtree(data)  # the vocabulary now lives only in the export
    code = ("import json, sys, t2t; m = t2t.load(sys.argv[1], device='cpu'); "
            "print(json.dumps(m.decode(['alpha beta', 'zeta'], beam_size=2, return_beams=True, "
            "extra_length=4)))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code, export], capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert [[tuple(b) for b in beams] for beams in got] == expected


def test_exporter_quantize_int8_is_the_exports_default(trained, tmp_path):
    """t2t-exporter --quantize=int8: t2t.load of the export decodes with int8 linear layers
    unless told otherwise, and the CTranslate2 model's weights are int8."""
    from t2t.decode.quantize import count_quantized

    target = tmp_path / "int8"
    out = _cli("t2t_exporter", f"--output_dir={trained[0]}", "--quantize=int8",
               "--export_format=t2t,ctranslate2", f"--export_dir={target}")  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads((target / "decode_hparams.json").read_text())["quantize"] == "int8"
    assert count_quantized(t2t.load(str(target), device="cpu").model) > 0
    assert count_quantized(t2t.load(str(target), device="cpu", quantize="none").model) == 0
    int8_bytes = os.path.getsize(target / "ctranslate2" / "model.bin")
    float_bytes = os.path.getsize(os.path.join(trained[1], "ctranslate2", "model.bin"))
    assert int8_bytes < 0.85 * float_bytes  # linear weights int8 (embeddings stay float)
