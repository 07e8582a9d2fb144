"""Text problem bases: Text2Text, Text2Self (LM), Text2Class, and `text2text_tmpdir`.

A text problem yields raw text samples from `generate_samples`; the base builds (or
loads) the vocabulary, encodes the samples (+ EOS), writes sharded TFRecords and shuffles
each shard, as T2T's `text_problems` does (data spec, section 2). User directories written
for T2T subclass these classes unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from t2t import registry
from t2t.data import text_encoder
from t2t.data.text_encoder import EOS_ID
from t2t.problems import generator_utils
from t2t.problems.problem import (
    DatasetSplit,
    FixedLenFeature,
    Metrics,
    ModalityType,
    Problem,
    VarLenFeature,
    preprocess_example_common,
)

# Generation-time packing and the file iterators live in their own modules; T2T code
# reaches them through text_problems.
from t2t.problems.text_iterators import (  # noqa: F401 - re-exported
    Sample,
    text2class_txt_iterator,
    text2real_txt_iterator,
    text2self_txt_iterator,
    text2text_distill_iterator,
    text2text_txt_iterator,
    text2text_txt_iterator_with_index,
    text2text_txt_iterator_with_label,
    text2text_txt_tab_iterator,
    txt_line_iterator,
)
from t2t.problems.text_packing import pack_examples, pack_records  # noqa: F401 - re-exported


class VocabType:
    """Vocabulary types of a Text2TextProblem."""

    CHARACTER = "character"
    SUBWORD = "subwords"
    TOKEN = "tokens"


class Text2TextProblem(Problem):
    """Text in, text out. Subclasses define `is_generate_per_split` and `generate_samples`."""

    @property
    def dataset_splits(self) -> list[dict[str, Any]]:
        """Splits and their shard counts: 100 train shards and 1 dev shard by default."""
        return [
            {"split": DatasetSplit.TRAIN, "shards": 100},
            {"split": DatasetSplit.EVAL, "shards": 1},
        ]

    @property
    def is_generate_per_split(self) -> bool:
        """True: generate_samples per split. False: TRAIN samples spread over all splits."""
        raise NotImplementedError()

    def generate_samples(self, data_dir: str, tmp_dir: str, dataset_split: str) -> Iterable[Sample]:
        """Yields raw samples: {"inputs": str, "targets": str} (+ extra list features)."""
        raise NotImplementedError()

    @property
    def vocab_type(self) -> str:
        """How text becomes ids: subwords (default), characters (bytes) or tokens."""
        return VocabType.SUBWORD

    @property
    def approx_vocab_size(self) -> int:
        """Target size of the subword vocabulary (2**15)."""
        return 2**15

    @property
    def additional_reserved_tokens(self) -> list[str]:
        """Tokens reserved in the vocabulary after PAD and EOS (none by default)."""
        return []

    @property
    def oov_token(self) -> str | None:
        """The token that out-of-vocabulary words become, for a token vocabulary (None: none)."""
        return None

    @property
    def max_samples_for_vocab(self) -> int | None:
        """Samples read to build the vocabulary (None: all)."""
        return None

    @property
    def packed_length(self) -> int | None:
        """Length of the packed rows (None: examples are not packed)."""
        return None

    @property
    def packed_spacing(self) -> int:
        """Padding ids between packed examples (0)."""
        return 0

    @property
    def max_subtoken_length(self) -> int | None:
        """Longest subword the vocabulary builder makes (200)."""
        return 200

    @property
    def batch_size_means_tokens(self) -> bool:
        """True: batch_size counts tokens, not examples."""
        return True

    @property
    def already_shuffled(self) -> bool:
        """False: the generated samples are shuffled after writing."""
        return False

    @property
    def inputs_prefix(self) -> str:
        """Text prepended to every input before encoding (none)."""
        return ""

    @property
    def targets_prefix(self) -> str:
        """Text prepended to every target before encoding (none)."""
        return ""

    @property
    def use_vocab_from_other_problem(self) -> Problem | None:
        """A problem whose vocabulary file this one uses (None: its own)."""
        return None

    @property
    def has_inputs(self) -> bool:
        """True: examples have inputs and targets (False: targets only)."""
        return True

    @property
    def vocab_filename(self) -> str:
        """The vocabulary file name (the other problem's when one is named)."""
        other = self.use_vocab_from_other_problem
        if other is not None:
            return other.vocab_filename
        if self.vocab_type == VocabType.SUBWORD:
            name, size = self.dataset_filename(), self.approx_vocab_size
            return f"vocab.{name}.{size}.{VocabType.SUBWORD}"
        return f"vocab.{self.dataset_filename()}.{VocabType.TOKEN}"

    def generate_text_for_vocab(self, data_dir: str, tmp_dir: str) -> Iterator[str]:
        """The text the subword vocabulary is built from (TRAIN samples)."""
        for i, sample in enumerate(self.generate_samples(data_dir, tmp_dir, DatasetSplit.TRAIN)):
            if self.has_inputs:
                yield sample["inputs"]
            yield sample["targets"]
            if self.max_samples_for_vocab and (i + 1) >= self.max_samples_for_vocab:
                break

    def get_or_create_vocab(self, data_dir: str | None, tmp_dir: str | None, force_get=False):
        """The problem's encoder, read from `data_dir` or built from `tmp_dir` (see the
        module function of the same name)."""
        return get_or_create_vocab(self, data_dir, tmp_dir, force_get)

    def generate_encoded_samples(
        self, data_dir: str, tmp_dir: str, dataset_split: str
    ) -> Iterator[Sample]:
        """Samples of the split encoded with the vocabulary (created first if missing)."""
        # Eager, as in T2T: the vocabulary exists before the first shard is opened.
        generator = self.generate_samples(data_dir, tmp_dir, dataset_split)
        encoder = self.get_or_create_vocab(data_dir, tmp_dir)
        return text2text_generate_encoded(
            generator,
            encoder,
            has_inputs=self.has_inputs,
            inputs_prefix=self.inputs_prefix,
            targets_prefix=self.targets_prefix,
        )

    def generate_data(self, data_dir: str, tmp_dir: str, task_id: int = -1) -> None:
        """Writes the train and dev shards (and the vocabulary) into `data_dir`."""
        generate_text_problem_data(self, data_dir, tmp_dir)

    def feature_encoders(self, data_dir: str | None) -> dict[str, Any]:
        """{"targets": encoder} (and "inputs", the same encoder) from the stored vocabulary."""
        encoder = self.get_or_create_vocab(data_dir, None, force_get=True)
        encoders = {"targets": encoder}
        if self.has_inputs:
            encoders["inputs"] = encoder
        return encoders

    def hparams(self, defaults: Any, model_hparams: Any) -> None:
        """Symbol modalities with the encoders' vocab sizes; EOS stops decoding; characters
        weigh the loss by 2; packed problems add identity segmentation/position features."""
        p = defaults
        p.stop_at_eos = int(True)
        p.modality = {"targets": ModalityType.SYMBOL}
        p.vocab_size = {"targets": self._encoders["targets"].vocab_size}
        if self.has_inputs:
            p.modality["inputs"] = ModalityType.SYMBOL
            p.vocab_size["inputs"] = self._encoders["inputs"].vocab_size
        if self.vocab_type == VocabType.CHARACTER:
            p.loss_multiplier = 2.0
        if self.packed_length:
            streams = ["inputs", "targets"] if self.has_inputs else ["targets"]
            for stream in streams:
                for suffix in ("_segmentation", "_position"):
                    p.modality[stream + suffix] = ModalityType.IDENTITY
                    p.vocab_size[stream + suffix] = None

    def max_length(self, model_hparams: Any) -> int:
        """The packed length when packed, else the model hparams' max length."""
        return self.packed_length or super().max_length(model_hparams)

    def example_reading_spec(self):
        """Variable-length int features: targets (and inputs, and packing features)."""
        fields = {"targets": VarLenFeature()}
        if self.has_inputs:
            fields["inputs"] = VarLenFeature()
        if self.packed_length:
            streams = ["inputs", "targets"] if self.has_inputs else ["targets"]
            for stream in streams:
                fields[stream + "_segmentation"] = VarLenFeature()
                fields[stream + "_position"] = VarLenFeature()
        return fields, None

    def eval_metrics(self) -> list[str]:
        """Accuracy, top-5 accuracy, per-sequence accuracy, log perplexity, BLEU and ROUGE."""
        return [
            Metrics.ACC,
            Metrics.ACC_TOP5,
            Metrics.ACC_PER_SEQ,
            Metrics.NEG_LOG_PERPLEXITY,
            Metrics.APPROX_BLEU,
            Metrics.ROUGE_2_F,
            Metrics.ROUGE_L_F,
        ]

    def _pack_fn(self):
        """None, or records -> packed records (for `packed_length` problems)."""
        if not self.packed_length:
            return None
        return lambda records: pack_records(
            records, self.has_inputs, self.packed_length, self.packed_spacing
        )


def get_or_create_vocab(
    problem: Text2TextProblem, data_dir: str | None, tmp_dir: str | None, force_get: bool = False
) -> Any:
    """The problem's encoder: bytes, a subword vocab (loaded or built) or a token vocab.

    Raises:
        DataError: a vocabulary file that must exist is missing.
        ValueError: an unknown vocab_type.
    """
    vocab_type = problem.vocab_type
    if vocab_type == VocabType.CHARACTER:
        return text_encoder.ByteTextEncoder()
    path = os.path.join(data_dir, problem.vocab_filename) if data_dir else None
    if vocab_type == VocabType.SUBWORD:
        if force_get:
            _require_vocab(problem, path)
            return text_encoder.SubwordTextEncoder(path)
        other = problem.use_vocab_from_other_problem
        if other is not None:
            return other.get_or_create_vocab(data_dir, tmp_dir, force_get)
        return generator_utils.get_or_generate_vocab_inner(
            data_dir,
            problem.vocab_filename,
            problem.approx_vocab_size,
            problem.generate_text_for_vocab(data_dir, tmp_dir),
            max_subtoken_length=problem.max_subtoken_length,
            reserved_tokens=text_encoder.RESERVED_TOKENS + problem.additional_reserved_tokens,
        )
    if vocab_type == VocabType.TOKEN:
        _require_vocab(problem, path)
        return text_encoder.TokenTextEncoder(path, replace_oov=problem.oov_token)
    raise ValueError(f"Unrecognized VocabType: {vocab_type}")


def _require_vocab(problem: Problem, path: str | None) -> None:
    from t2t.errors import DataError

    if not path or not os.path.exists(path):
        raise DataError(
            f"{problem.name}: vocabulary file {path or problem.vocab_filename} not found "
            "(pass the data_dir that t2t-datagen wrote, or run t2t-datagen "
            f"--problem={problem.name})"
        )


def generate_text_problem_data(problem: Text2TextProblem, data_dir: str, tmp_dir: str) -> None:
    """Writes the shards of every split (then shuffles them), as T2T's Text2TextProblem."""
    path_fns = {
        DatasetSplit.TRAIN: problem.training_filepaths,
        DatasetSplit.EVAL: problem.dev_filepaths,
        DatasetSplit.TEST: problem.test_filepaths,
    }
    split_paths = [
        (
            split["split"],
            path_fns[split["split"]](data_dir, split["shards"], problem.already_shuffled),
        )
        for split in problem.dataset_splits
    ]
    all_paths = [path for _, paths in split_paths for path in paths]
    if problem.is_generate_per_split:
        for split, paths in split_paths:
            generator_utils.generate_files(
                problem.generate_encoded_samples(data_dir, tmp_dir, split), paths
            )
    else:
        generator_utils.generate_files(
            problem.generate_encoded_samples(data_dir, tmp_dir, DatasetSplit.TRAIN), all_paths
        )
    generator_utils.shuffle_dataset(all_paths, extra_fn=problem._pack_fn())


def text2text_generate_encoded(
    sample_generator: Iterable[Sample],
    vocab: Any,
    targets_vocab: Any = None,
    has_inputs: bool = True,
    inputs_prefix: str = "",
    targets_prefix: str = "",
) -> Iterator[Sample]:
    """Encodes "inputs"/"targets" text (+ EOS); other keys pass through unchanged."""
    targets_vocab = targets_vocab or vocab
    for sample in sample_generator:
        if has_inputs:
            sample["inputs"] = vocab.encode(inputs_prefix + sample["inputs"]) + [EOS_ID]
        sample["targets"] = targets_vocab.encode(targets_prefix + sample["targets"]) + [EOS_ID]
        yield sample


# ----------------------------------------------------------------------------- subclasses


class Text2SelfProblem(Text2TextProblem):
    """Language modelling: samples are {"targets": str}; no inputs."""

    @property
    def has_inputs(self) -> bool:
        """False: a language model has targets only."""
        return False


class Text2ClassProblem(Text2TextProblem):
    """Text in, class label out: samples {"inputs": str, "label": int}."""

    @property
    def num_classes(self) -> int:
        """Number of classes (defined by each problem)."""
        raise NotImplementedError()

    def class_labels(self, data_dir: str | None) -> list[str]:
        """The class names by id (default: "ID_0", "ID_1", ...)."""
        del data_dir
        return [f"ID_{i}" for i in range(self.num_classes)]

    def generate_text_for_vocab(self, data_dir: str, tmp_dir: str) -> Iterator[str]:
        """The inputs of the training samples (up to `max_samples_for_vocab`)."""
        for i, sample in enumerate(self.generate_samples(data_dir, tmp_dir, DatasetSplit.TRAIN)):
            yield sample["inputs"]
            if self.max_samples_for_vocab and (i + 1) >= self.max_samples_for_vocab:
                break

    def generate_encoded_samples(self, data_dir, tmp_dir, dataset_split) -> Iterator[Sample]:
        """{"inputs": ids + EOS, "targets": [label]} of the split."""
        generator = self.generate_samples(data_dir, tmp_dir, dataset_split)
        encoder = self.get_or_create_vocab(data_dir, tmp_dir)
        for sample in generator:
            yield {
                "inputs": encoder.encode(sample["inputs"]) + [EOS_ID],
                "targets": [sample["label"]],
            }

    def feature_encoders(self, data_dir: str | None) -> dict[str, Any]:
        """{"inputs": text encoder, "targets": class label encoder}."""
        encoder = self.get_or_create_vocab(data_dir, None, force_get=True)
        return {
            "inputs": encoder,
            "targets": text_encoder.ClassLabelEncoder(self.class_labels(data_dir)),
        }

    def hparams(self, defaults: Any, model_hparams: Any) -> None:
        """Symbol inputs, class-label targets with `num_classes` classes."""
        defaults.modality = {"inputs": ModalityType.SYMBOL, "targets": ModalityType.CLASS_LABEL}
        defaults.vocab_size = {
            "inputs": self._encoders["inputs"].vocab_size,
            "targets": self.num_classes,
        }

    def example_reading_spec(self):
        """Variable-length inputs and one fixed-length target label."""
        return {"inputs": VarLenFeature(), "targets": FixedLenFeature((1,))}, None


@registry.register_problem
class Text2textTmpdir(Text2TextProblem):
    """Train on your own files without a subclass: put in `tmp_dir` one record per line in
    `inputs.train.txt`, `targets.train.txt`, `inputs.eval.txt`, `targets.eval.txt`."""

    TRAIN_FILES = ("inputs.train.txt", "targets.train.txt")
    EVAL_FILES = ("inputs.eval.txt", "targets.eval.txt")

    @property
    def is_generate_per_split(self) -> bool:
        """True: train and eval come from their own files."""
        return True

    def generate_samples(self, data_dir, tmp_dir, dataset_split) -> Iterator[Sample]:
        """Pairs of the split's input and target files (one record per line)."""
        del data_dir
        names = self.TRAIN_FILES if dataset_split == DatasetSplit.TRAIN else self.EVAL_FILES
        inputs_file, targets_file = (
            os.path.join(self._tmp_dir_override or tmp_dir, n) for n in names
        )
        return text2text_txt_iterator(inputs_file, targets_file)

    @property
    def _tmp_dir_override(self) -> str | None:
        return None


@registry.register_problem
class Text2textTmpdirTokens(Text2textTmpdir):
    """`text2text_tmpdir` with a token vocabulary from `tmp_dir/vocab.txt` (+ <UNK>)."""

    @property
    def vocab_type(self) -> str:
        """A token vocabulary, read from `tmp_dir/vocab.txt`."""
        return VocabType.TOKEN

    @property
    def oov_token(self) -> str:
        """ "<UNK>": what out-of-vocabulary words become."""
        return "<UNK>"

    def _generate_vocab(self, tmp_dir: str) -> text_encoder.TokenTextEncoder:
        vocab_list = [self.oov_token] + [line.strip() for line in txt_lines(tmp_dir, "vocab.txt")]
        return text_encoder.TokenTextEncoder(None, vocab_list=vocab_list)

    def generate_samples(self, data_dir, tmp_dir, dataset_split):
        """Stores the token vocabulary in `data_dir` (from `tmp_dir/vocab.txt`) if missing,
        then the samples of the split."""
        vocab_filepath = os.path.join(data_dir, self.vocab_filename)
        if not os.path.exists(vocab_filepath):
            os.makedirs(data_dir, exist_ok=True)
            self._generate_vocab(tmp_dir).store_to_file(vocab_filepath)
        return super().generate_samples(data_dir, tmp_dir, dataset_split)


def txt_lines(directory: str, name: str) -> list[str]:
    with open(os.path.join(directory, name), encoding="utf-8") as f:
        return f.readlines()


__all__ = [
    "VocabType",
    "Text2TextProblem",
    "Text2SelfProblem",
    "Text2ClassProblem",
    "Text2textTmpdir",
    "Text2textTmpdirTokens",
    "preprocess_example_common",
]
