"""Translation problem base: corpora lists -> compiled parallel text -> Text2Text shards.

A translate problem lists its corpora as `[url, (file_in_archive_lang1, file_lang2)]`
(or `[url, ("tsv", src_col, trg_col, glob)]`, `[url, ("tmx", file)]`) per split.
`compile_data` downloads each archive into tmp_dir (skipped when present), extracts it and
concatenates the pairs into `<tmp_dir>/<name>-compiled-<train|dev>.lang1/.lang2`; the
subword vocabulary is built from about 1 MB of evenly sampled lines of every training
file (data spec, 4.1 and 5.4).

Departures from T2T: any URL scheme (http, https, ftp, file://) is downloaded (T2T
downloaded only "http..." URLs), which is how tests feed small local archives; `.gz`
members are unpacked to the name without ".gz" (T2T's `str.strip(".gz")` also removed
leading/trailing 'g', 'z' and '.' characters); compiled files are written under a
temporary name first; a tsv glob on a directory that does not exist yet finds nothing and
extracts the archive (T2T's tf.gfile.Glob raised NotFoundError there, so translate_encs_wmt32k
failed on a fresh tmp_dir). Corpus cleaning (`datatypes_to_clean`, T2T's cleaner_en_xx) is not
implemented; problems that need it are not registered.
"""

from __future__ import annotations

import glob
import gzip
import html
import os
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO

from t2t.errors import DataError
from t2t.problems import generator_utils, safe_extract, text_problems
from t2t.problems.problem import DatasetSplit

Dataset = Sequence[
    Any
]  # [url, (file1, file2)] | [url, ("tsv", src, trg, glob)] | [url, ("tmx", f)]


class TranslateProblem(text_problems.Text2TextProblem):
    """Base for translation: subclasses define `source_data_files(dataset_split)`."""

    @property
    def is_generate_per_split(self) -> bool:
        """True: train and dev come from their own corpora."""
        return True

    @property
    def approx_vocab_size(self) -> int:
        """Target size of the shared subword vocabulary (2**15)."""
        return 2**15

    @property
    def datatypes_to_clean(self) -> list[str] | None:
        """T2T's corpus types whose training pairs are cleaned (None: none; t2t does not
        clean corpora, so generating with a value set is an error)."""
        return None

    def source_data_files(self, dataset_split: str) -> list[Dataset]:
        """The corpora of a split (see the module docstring for the format)."""
        raise NotImplementedError()

    def vocab_data_files(self) -> list[Dataset]:
        """The corpora the vocabulary is sampled from (default: the training corpora)."""
        return self.source_data_files(DatasetSplit.TRAIN)

    def generate_samples(
        self,
        data_dir: str,
        tmp_dir: str,
        dataset_split: str,
        custom_iterator=text_problems.text2text_txt_iterator,
    ) -> Iterator[dict[str, Any]]:
        """Source/target pairs of a split: its corpora compiled into one pair of files.

        Args:
            data_dir: unused (the data comes from `tmp_dir`).
            tmp_dir: where the corpora are downloaded and compiled.
            dataset_split: train or dev (anything but train compiles the dev corpora).
            custom_iterator: reads the compiled `.lang1` and `.lang2` files.

        Returns:
            An iterator of {"inputs": source, "targets": target}.
        """
        datasets = self.source_data_files(dataset_split)
        train = dataset_split == DatasetSplit.TRAIN
        tag = "train" if train else "dev"
        clean = self.datatypes_to_clean if train else None
        data_path = compile_data(tmp_dir, datasets, f"{self.name}-compiled-{tag}", clean)
        return custom_iterator(data_path + ".lang1", data_path + ".lang2")

    def generate_text_for_vocab(self, data_dir: str, tmp_dir: str) -> Iterator[str]:
        """Lines of `vocab_data_files()` for building the vocabulary."""
        return generator_utils.generate_lines_for_vocab(tmp_dir, self.vocab_data_files())


def _download(tmp_dir: str, url: str) -> str:
    filename = os.path.basename(urllib.parse.urlparse(url).path) or os.path.basename(url)
    if urllib.parse.urlparse(url).scheme:
        return generator_utils.maybe_download(tmp_dir, filename, url)
    return os.path.join(tmp_dir, filename)


def _extract(archive: str, tmp_dir: str) -> None:
    if not os.path.exists(archive):
        raise DataError(f"{archive} not found: download it into --tmp_dir {tmp_dir}")
    generator_utils.extract_tar(archive, tmp_dir)


def _gunzipped(path: str) -> str:
    if not path.endswith(".gz"):
        return path
    new_path = path[: -len(".gz")]
    generator_utils.gunzip_file(path, new_path)
    return new_path


def preprocess_sgm(line: str, is_sgm: bool) -> str | None:
    """Strips SGM markup: header lines -> "", `<seg ...>TEXT</seg>` -> TEXT, others -> None."""
    if not is_sgm:
        return line
    for tag in ("<srcset", "</srcset", "<doc", "</doc", "<p>", "</p>"):
        if line.startswith(tag):
            return ""
    line = line.strip()
    if line.startswith("<seg") and line.endswith("</seg>"):
        return line[line.index(">") + 1 : -len("</seg>")]
    return None


def _write_pair(out1: TextIO, out2: TextIO, source: str | None, target: str | None) -> None:
    if source and target:
        out1.write(source + "\n")
        out2.write(target + "\n")


def _tmx_pairs(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(en, xx) text of consecutive `<seg>` pairs of a TMX file (entities decoded)."""
    source = None
    for line in lines:
        line = line.strip()
        if not (line.startswith("<seg>") and line.endswith("</seg>")):
            continue
        text = html.unescape(line[len("<seg>") : -len("</seg>")])
        if source is None:
            source = text
        else:
            yield source, text
            source = None


def _compile_dataset(tmp_dir: str, dataset: Dataset, out1: TextIO, out2: TextIO) -> None:
    archive = _download(tmp_dir, dataset[0])
    if archive.endswith(".zip"):
        safe_extract.extract_zip(archive, tmp_dir)
    spec = dataset[1]
    if spec[0] == "tmx":
        path = os.path.join(tmp_dir, spec[1])
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            for source, target in _tmx_pairs(f):
                _write_pair(out1, out2, source, target)
    elif spec[0] == "tsv":
        _, src_column, trg_column, pattern = spec
        # Unsorted, as T2T's tf.gfile.Glob: directory order. Sorting would change which
        # pairs land in which shard compared with the original on the same disk.
        filenames = glob.glob(os.path.join(tmp_dir, pattern))
        if not filenames:
            _extract(archive, tmp_dir)
            filenames = glob.glob(os.path.join(tmp_dir, pattern))
        for filename in filenames:
            with open(_gunzipped(filename), encoding="utf-8") as f:
                for line in f:
                    if line and "\t" in line:
                        parts = line.split("\t")
                        _write_pair(
                            out1, out2, parts[src_column].strip(), parts[trg_column].strip()
                        )
    else:
        path1, path2 = (os.path.join(tmp_dir, name) for name in spec)
        if not (os.path.exists(path1) and os.path.exists(path2)):
            _extract(archive, tmp_dir)
        is_sgm = path1.endswith("sgm") and path2.endswith("sgm")
        pairs = text_problems.text2text_txt_iterator(_gunzipped(path1), _gunzipped(path2))
        for pair in pairs:
            source = preprocess_sgm(pair["inputs"], is_sgm)
            target = preprocess_sgm(pair["targets"], is_sgm)
            _write_pair(out1, out2, source, target)


def compile_data(
    tmp_dir: str,
    datasets: Sequence[Dataset],
    filename: str,
    datatypes_to_clean: Sequence[str] | None = None,
) -> str:
    """Concatenates the pairs of all `datasets` into `tmp_dir/filename.lang1` / `.lang2`.

    Skipped when both files exist (as in T2T). Returns `tmp_dir/filename`.

    Raises:
        DataError: an archive cannot be found or downloaded, or cleaning is requested.
    """
    if datatypes_to_clean:
        raise DataError(
            f"corpus cleaning ({', '.join(datatypes_to_clean)}) is not supported by t2t"
        )
    os.makedirs(tmp_dir, exist_ok=True)
    base = os.path.join(tmp_dir, filename)
    lang1, lang2 = base + ".lang1", base + ".lang2"
    if os.path.exists(lang1) and os.path.exists(lang2):
        return base
    suffix = generator_utils.INCOMPLETE_SUFFIX
    with open(lang1 + suffix, "w", encoding="utf-8") as out1:
        with open(lang2 + suffix, "w", encoding="utf-8") as out2:
            for dataset in datasets:
                _compile_dataset(tmp_dir, dataset, out1, out2)
    os.replace(lang2 + suffix, lang2)
    os.replace(lang1 + suffix, lang1)
    return base
