"""Speech problems end to end on tiny archives in LibriSpeech's real layout.

The audio is synthesised here (sine sweeps + noise, written as 16-bit flac with soundfile),
packed as openslr's `<split>.tar.gz` and placed in --tmp_dir, where the problems find it
instead of downloading (T2T skips a download when the file exists).
"""

import os
import sys

import numpy as np
import pytest

pytest.importorskip("soundfile")

from t2t import registry  # noqa: E402
from t2t.data import example_codec, tfrecord  # noqa: E402
from t2t.errors import DataError  # noqa: E402
from t2t.hparams import HParams  # noqa: E402
from t2t.problems.speech_recognition import AUDIO_HPARAMS  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import speech_data  # noqa: E402

EXPECTED_SPLITS = {
    "librispeech": (
        ["train-clean-100", "train-clean-360", "train-other-500"],
        ["dev-clean", "dev-other"],
        ["test-clean", "test-other"],
    ),
    "librispeech_clean_small": (["train-clean-100"], ["dev-clean"], ["test-clean"]),
    "librispeech_clean": (["train-clean-100", "train-clean-360"], ["dev-clean"], ["test-clean"]),
    "librispeech_noisy": (["train-other-500"], ["dev-other"], ["test-other"]),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """(tmp_dir with every split's archive, {split: {utt_id: (samples, text)}}, data_dir)."""
    root = tmp_path_factory.mktemp("librispeech")
    tmp_dir = str(root / "tmp")
    os.makedirs(tmp_dir)
    return tmp_dir, speech_data.write_all_librispeech(tmp_dir), str(root / "data")


def _records(data_dir: str, prefix: str) -> list[dict]:
    names = sorted(f for f in os.listdir(data_dir) if f.startswith(prefix))
    return [
        example_codec.decode_example(record)
        for name in names
        for record in tfrecord.read_records(os.path.join(data_dir, name))
    ]


def _text(targets) -> str:
    return bytes(int(i) - 2 for i in targets[:-1]).decode()


def _expected(written: dict, splits: list[str]) -> dict:
    return {utt: value for split in splits for utt, value in written[split].items()}


@pytest.mark.parametrize("name", sorted(EXPECTED_SPLITS))
def test_problem_writes_t2t_features_of_its_splits(corpus, name):
    tmp_dir, written, data_dir = corpus
    problem = registry.problem(name)
    problem.generate_data(data_dir, tmp_dir)
    files = [f for f in os.listdir(data_dir) if f.startswith(name + "-")]
    assert len([f for f in files if "-train-" in f]) == 100
    assert f"{name}-dev-00000-of-00001" in files and f"{name}-test-00000-of-00001" in files
    assert not [f for f in files if "unshuffled" in f]
    for tag, splits in zip(("train", "dev", "test"), EXPECTED_SPLITS[name]):
        records = _records(data_dir, f"{name}-{tag}-")
        expected = _expected(written, splits)
        assert sorted(r["utt_id"][0].decode() for r in records) == sorted(expected)
        for record in records:
            utt_id = record["utt_id"][0].decode()
            samples, text = expected[utt_id]
            np.testing.assert_array_equal(
                record["waveforms"], (samples.astype(np.float32) / 32767).astype(np.float32)
            )
            assert list(record["waveform_lens"]) == [len(samples)]
            assert list(record["targets"]) == [b + 2 for b in text.encode()] + [1]
            assert record["raw_transcript"] == [text.encode()]
            assert record["spk_id"] == [utt_id.split("-")[0].encode()]
    # the test shard is written in utterance order (T2T does not shuffle it)
    test_ids = [r["utt_id"][0].decode() for r in _records(data_dir, f"{name}-test-")]
    assert test_ids == sorted(test_ids)


def test_preprocessing_gives_filterbank_inputs_or_waveforms(corpus):
    tmp_dir, written, data_dir = corpus
    problem = registry.problem("librispeech_clean_small")
    problem.generate_data(data_dir, tmp_dir)
    hparams = HParams(max_input_seq_length=0, max_target_seq_length=0, prepend_mode="none")
    problem.get_hparams(hparams)
    for name, value in AUDIO_HPARAMS.items():
        assert getattr(hparams, name) == value  # added, as T2T's problem does
    example = next(iter(problem.dataset("eval", data_dir, hparams=hparams)))
    assert sorted(example) == ["inputs", "targets"]
    # ceil((N - 1) / 160) frames (pre-emphasis drops a sample), then 250 zero frames
    frames = {-(-(len(samples) - 1) // 160) for samples, _ in written["dev-clean"].values()}
    assert example["inputs"].shape in {(n + 250, 80, 3) for n in frames}
    assert not example["inputs"][-250:].any()
    hparams.audio_preproc_in_bottom = True
    hparams.audio_keep_example_waveforms = True
    example = next(iter(problem.dataset("eval", data_dir, hparams=hparams)))
    assert example["inputs"].shape[1:] == (1, 1)
    np.testing.assert_array_equal(example["inputs"][:, 0, 0], example["waveforms"])


def test_problem_hparams_are_t2t_s():
    problem = registry.problem("librispeech")
    hp = problem.get_hparams()
    assert hp.modality == {"inputs": "speech_recognition", "targets": "symbol"}
    assert hp.vocab_size == {"inputs": None, "targets": 256}
    assert (hp.input_space_id, hp.target_space_id) == (13, 2)
    assert problem.eval_metrics()[-2:] == ["edit_distance", "word_error_rate"]
    assert problem.feature_encoders(None)["targets"].encode("AB") == [67, 68, 1]


@pytest.mark.parametrize(
    "name, eval_problem",
    [
        ("librispeech_train_full_test_clean", "librispeech_clean"),
        ("librispeech_train_full_test_other", "librispeech_noisy"),
    ],
)
def test_train_full_test_problems_read_other_problems_files(corpus, name, eval_problem):
    tmp_dir, written, data_dir = corpus
    problem = registry.problem(name)
    with pytest.raises(DataError, match=f"generate librispeech and {eval_problem}"):
        problem.generate_data(data_dir, tmp_dir)
    for needed in ("librispeech", eval_problem):
        registry.problem(needed).generate_data(data_dir, tmp_dir)
    hparams = HParams(max_input_seq_length=0, max_target_seq_length=0, prepend_mode="none")
    train_dev_test = EXPECTED_SPLITS["librispeech"][0], *EXPECTED_SPLITS[eval_problem][1:]
    for mode, splits in zip(("train", "eval", "test"), train_dev_test):
        examples = list(problem.dataset(mode, data_dir, hparams=hparams, shuffle_files=False))
        expected = _expected(written, splits)
        assert sorted(_text(e["targets"]) for e in examples) == sorted(
            text for _, text in expected.values()
        )


def test_a_damaged_archive_is_a_one_line_error(tmp_path):
    (tmp_path / "test-clean.tar.gz").write_bytes(b"no archive")
    problem = registry.problem("librispeech_clean_small")
    with pytest.raises(DataError, match="damaged archive"):
        list(problem.generator(str(tmp_path), str(tmp_path), problem.TEST_DATASETS))
