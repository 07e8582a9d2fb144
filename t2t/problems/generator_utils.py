"""Writing problem data: shard names, TFRecord shards, shuffling, downloads, vocabularies.

The module keeps the names of T2T's `generator_utils` because user directories call them
(`generator_utils.maybe_download`, `get_or_generate_vocab`, `to_example`, ...). Behaviour
follows T2T (see the data spec, section 5) with two deliberate changes, both about never
leaving a file that looks complete when it is not:

* every file (shard, shuffled shard, download, vocabulary) is written to a temporary name
  and renamed at the end; T2T wrote shuffled shards and Drive downloads in place;
* generation is skipped only when ALL final shard names exist (T2T: when ANY exists), so a
  run interrupted between renames is regenerated instead of silently kept half-done.
"""

from __future__ import annotations

import gzip
import logging
import os
import random
import shutil
import stat
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from t2t.data import example_codec, text_encoder, tfrecord
from t2t.errors import DataError

logger = logging.getLogger(__name__)

UNSHUFFLED_SUFFIX = "-unshuffled"
INCOMPLETE_SUFFIX = tfrecord.INCOMPLETE_SUFFIX

# ----------------------------------------------------------------------------- shard names


def sharded_name(base_name: str, shard: int, total_shards: int) -> str:
    """`base-00003-of-00010`."""
    return f"{base_name}-{shard:05d}-of-{total_shards:05d}"


def shard_filepath(fname: str, num_shards: int) -> list[str]:
    """The `num_shards` shard names of `fname`."""
    return [sharded_name(fname, shard, num_shards) for shard in range(num_shards)]


def _data_filenames(output_name: str, output_dir: str, num_shards: int) -> list[str]:
    return [os.path.join(output_dir, name) for name in shard_filepath(output_name, num_shards)]


def train_data_filenames(problem: str, output_dir: str, num_shards: int) -> list[str]:
    """`output_dir/<problem>-train-0000k-of-NNNNN`."""
    return _data_filenames(problem + "-train", output_dir, num_shards)


def dev_data_filenames(problem: str, output_dir: str, num_shards: int) -> list[str]:
    """`output_dir/<problem>-dev-0000k-of-NNNNN`."""
    return _data_filenames(problem + "-dev", output_dir, num_shards)


def test_data_filenames(problem: str, output_dir: str, num_shards: int) -> list[str]:
    """`output_dir/<problem>-test-0000k-of-NNNNN`."""
    return _data_filenames(problem + "-test", output_dir, num_shards)


def combined_data_filenames(problem: str, output_dir: str, num_training_shards: int) -> list[str]:
    """Train shards, then one dev and one test shard."""
    return (
        train_data_filenames(problem, output_dir, num_training_shards)
        + dev_data_filenames(problem, output_dir, 1)
        + test_data_filenames(problem, output_dir, 1)
    )


def _final_name(filename: str) -> str:
    return filename.replace(UNSHUFFLED_SUFFIX, "")


def outputs_exist(filenames: Sequence[str]) -> str | None:
    """The first of `filenames` whose final (shuffled) name exists, as in T2T; else None."""
    for filename in filenames:
        if os.path.exists(_final_name(filename)):
            return _final_name(filename)
    return None


def _all_outputs_exist(filenames: Sequence[str]) -> bool:
    return bool(filenames) and all(os.path.exists(_final_name(f)) for f in filenames)


# ----------------------------------------------------------------------------- examples


def _check_case(case: Mapping[str, Any]) -> None:
    """T2T's `to_example` rules: every value a non-empty list of int, float, str or bytes."""
    for name, values in case.items():
        if isinstance(values, np.ndarray):
            if values.size == 0:
                raise ValueError(f"Empty generated field: {name}")
            continue
        if len(values) == 0:
            raise ValueError(f"Empty generated field: {name}")
        first = values[0]
        if isinstance(first, np.floating) and not isinstance(first, float):
            # np.float32 is not a Python float: T2T's to_example rejects it too.
            raise ValueError(f"Unsupported value type {type(first).__name__} for {name}")
        if not isinstance(first, (int, np.integer, float, str, bytes)):
            raise ValueError(f"Unsupported value type {type(first).__name__} for {name}")


def serialize_case(case: Mapping[str, Any]) -> bytes:
    """A generated case (feature name -> non-empty list) as serialized `tf.Example` bytes."""
    case = {k: list(v) if isinstance(v, map) else v for k, v in case.items()}
    _check_case(case)
    return example_codec.encode_example(case)


def to_example(dictionary: Mapping[str, Any]) -> Any:
    """T2T's `to_example`: a `tf.Example` proto (has `SerializeToString()`) from a dict.

    Raises:
        ValueError: an empty list or a value of an unsupported type.
    """
    return example_codec.Example.FromString(serialize_case(dictionary))


def read_records(filename: str) -> list[bytes]:
    """All records of a TFRecord file."""
    return list(tfrecord.read_records(filename))


def write_records(records: Iterable[bytes], out_filename: str) -> None:
    """Writes records to `out_filename` (via a temporary name)."""
    tfrecord.write_records(out_filename, records)


def tfrecord_iterator(
    filenames: Sequence[str], gzipped: bool = False, example_spec: Any = None
) -> Iterator[Any]:
    """Records of the files: raw bytes, or decoded feature dicts if `example_spec` is truthy."""
    for filename in filenames:
        for record in tfrecord.read_records(filename, compression="GZIP" if gzipped else None):
            yield example_codec.decode_example(record) if example_spec else record


# ----------------------------------------------------------------------------- writing shards


def _progress(desc: str, total: int | None = None) -> Any:
    from tqdm import tqdm

    # disable=None: a bar on a terminal, silence in logs and tests.
    return tqdm(desc=desc, total=total, unit=" examples", disable=None, mininterval=1.0)


def generate_files(
    generator: Iterable[Mapping[str, Any] | None],
    output_filenames: Sequence[str],
    max_cases: int | None = None,
    cycle_every_n: int = 1,
) -> None:
    """Writes the generated cases round-robin into shards, as T2T does.

    Case k (None cases are skipped and not counted) goes to shard
    `(k // cycle_every_n) % len(output_filenames)`. Each shard is written to
    `<name>.incomplete` and renamed when every case is written; on any error the partial
    files are deleted. Nothing is written if all final (shuffled) names already exist.

    Args:
        generator: yields feature dicts (name -> non-empty list of int/float/str/bytes).
        output_filenames: the shard paths (may carry the "-unshuffled" suffix).
        max_cases: write at most this many cases (None or 0: all).
        cycle_every_n: cases written to one shard before moving to the next.
    """
    if _all_outputs_exist(output_filenames):
        from t2t.problems.shard_check import check_existing_shards

        check_existing_shards([_final_name(f) for f in output_filenames])
        logger.info("Skipping generation: %s exists", outputs_exist(output_filenames))
        return
    for filename in output_filenames:
        os.makedirs(os.path.dirname(filename) or ".", exist_ok=True)
    from t2t.data.output_paths import writing

    writers = [tfrecord.TFRecordWriter(f) for f in output_filenames]
    name = os.path.basename(output_filenames[0]).rsplit("-", 3)[0]
    try:
        shard, counter = 0, 0
        with _progress(f"Generating {name}") as bar:
            for case in generator:
                if case is None:
                    continue
                counter += 1
                if max_cases and counter > max_cases:
                    break  # after drawing one case too many, as T2T (same RNG use)
                with writing(output_filenames[shard]):  # disk full: one line, path + reason
                    writers[shard].write(serialize_case(case))
                if counter % cycle_every_n == 0:
                    shard = (shard + 1) % len(writers)
                bar.update(1)
        for filename, writer in zip(output_filenames, writers):
            with writing(filename):
                writer.close()
    except BaseException:
        for writer in writers:
            writer.abort()
        raise


def _shuffle_single(filename: str, extra_fn: Callable[[list[bytes]], list[bytes]] | None) -> None:
    records = read_records(filename)
    random.shuffle(records)  # the global python RNG, seeded by t2t-datagen, as in T2T
    if extra_fn is not None:
        records = extra_fn(records)
    write_records(records, _final_name(filename))
    if _final_name(filename) != filename:
        os.remove(filename)


def shuffle_dataset(
    filenames: Sequence[str], extra_fn: Callable[[list[bytes]], list[bytes]] | None = None
) -> None:
    """Shuffles the records of each file (within the file) into its final name.

    `x-unshuffled-train-00000-of-00010` becomes `x-train-00000-of-00010` and the unshuffled
    file is deleted. Files without the "-unshuffled" suffix, or whose unshuffled input is
    gone (done by an earlier, possibly interrupted, run) are skipped.

    Args:
        filenames: the unshuffled files.
        extra_fn: applied to each file's shuffled records before writing (e.g. packing).
    """
    # Only "-unshuffled" inputs still on disk are pending; final names are never reshuffled
    # (T2T skipped the whole call when any final name existed).
    pending = [f for f in filenames if _final_name(f) != f and os.path.exists(f)]
    if not pending:
        logger.info("Skipping shuffle: nothing left to shuffle in %d files", len(filenames))
        return
    for filename in pending:
        _shuffle_single(filename, extra_fn)


def generate_dataset_and_shuffle(
    train_gen: Iterable[Mapping[str, Any]],
    train_paths: Sequence[str],
    dev_gen: Iterable[Mapping[str, Any]],
    dev_paths: Sequence[str],
    shuffle: bool = True,
) -> None:
    """generate_files(train), generate_files(dev), then shuffle both (if `shuffle`)."""
    generate_files(train_gen, train_paths)
    generate_files(dev_gen, dev_paths)
    if shuffle:
        shuffle_dataset(list(train_paths) + list(dev_paths))


# ----------------------------------------------------------------------------- downloads


def _download_progress(filename: str) -> Callable[[int, int, int], None]:
    bar = None

    def hook(count: int, block_size: int, total_size: int) -> None:
        nonlocal bar
        if bar is None:
            from tqdm import tqdm

            total = total_size if total_size > 0 else None
            bar = tqdm(desc=filename, total=total, unit="B", unit_scale=True, disable=None)
        bar.update(block_size if count else 0)
        if total_size > 0 and count * block_size >= total_size:
            bar.close()

    return hook


def maybe_download(directory: str, filename: str, uri: str) -> str:
    """Downloads `uri` to `directory/filename` unless that file exists.

    http(s), ftp and file:// URLs and plain local paths are supported. The download goes to
    `<filename>.incomplete` and is renamed when complete. As in T2T an existing file is not
    checked (delete it to download again).

    Returns:
        The path of the file.

    Raises:
        DataError: the download failed or the URI is not recognised.
    """
    os.makedirs(directory, exist_ok=True)
    filepath = os.path.join(directory, filename)
    if os.path.exists(filepath):
        logger.info("Not downloading, file already found: %s", filepath)
        from t2t.problems.download_record import check_recorded_sha256

        check_recorded_sha256(filepath)
        return filepath
    tmp_path = filepath + INCOMPLETE_SUFFIX
    scheme = urllib.parse.urlparse(uri).scheme
    try:
        if scheme in ("http", "https", "ftp", "file"):
            logger.info("Downloading %s to %s", uri, filepath)
            urllib.request.urlretrieve(uri, tmp_path, reporthook=_download_progress(filename))
        elif scheme == "" and os.path.exists(uri):
            shutil.copyfile(uri, tmp_path)
        else:
            raise DataError(f"Unrecognized URI (or missing local file): {uri}")
        os.replace(tmp_path, filepath)
    except OSError as error:
        reason = getattr(error, "reason", None) or error.strerror or error
        raise DataError(
            f"download of {uri} failed ({reason}); if this machine is offline, fetch it "
            f"elsewhere and place it at {filepath}"
        ) from None
    finally:
        if os.path.exists(tmp_path):  # also after Ctrl-C: no partial file is left
            os.remove(tmp_path)
    from t2t.problems.download_record import record_sha256

    record_sha256(filepath)
    return filepath


def maybe_download_from_drive(directory: str, filename: str, url: str) -> str:
    """Downloads a Google Drive file (handling the large-file confirmation) unless present."""
    import http.cookiejar

    os.makedirs(directory, exist_ok=True)
    filepath = os.path.join(directory, filename)
    if os.path.exists(filepath):
        return filepath
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    tmp_path = filepath + INCOMPLETE_SUFFIX
    try:
        response = opener.open(url)
        token = next((c.value for c in jar if c.name.startswith("download_warning")), None)
        if token:
            response.close()
            response = opener.open(url + "&confirm=" + token)
        with response, open(tmp_path, "wb") as out:
            shutil.copyfileobj(response, out, 16 * 1024)
    except OSError as error:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise DataError(f"download of {url} to {filepath} failed: {error}") from error
    os.replace(tmp_path, filepath)
    return filepath


def gunzip_file(gz_path: str, new_path: str) -> None:
    """Decompresses `gz_path` into `new_path` unless it exists."""
    if os.path.exists(new_path):
        logger.info("File %s already exists, skipping unpacking", new_path)
        return
    parent = os.path.dirname(new_path) or "."
    os.chmod(parent, os.stat(parent).st_mode | stat.S_IRWXU)
    tmp_path = new_path + INCOMPLETE_SUFFIX
    with gzip.open(gz_path, "rb") as src, open(tmp_path, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    os.replace(tmp_path, new_path)


def extract_tar(archive_path: str, directory: str) -> None:
    """Extracts a (possibly compressed) tar archive into `directory`, refusing unsafe members
    (absolute paths, `..`, links pointing outside; see t2t.problems.safe_extract)."""
    from t2t.problems.safe_extract import extract_tar as safe_extract_tar

    safe_extract_tar(archive_path, directory)


def make_tmp_dir(suffix: str = "", prefix: str = "tmp", dir: str | None = None) -> str:  # noqa: A002
    """A new temporary directory (`tempfile.mkdtemp` when `dir` is None)."""
    if dir is None:
        return tempfile.mkdtemp(suffix, prefix)
    while True:
        path = os.path.join(dir, f"{prefix}{random.randint(1, 9999)}{suffix}")
        if not os.path.exists(path):
            os.makedirs(path)
            return path


# ----------------------------------------------------------------------------- vocabularies


def _store_atomically(encoder: Any, path: str) -> None:
    tmp_path = path + INCOMPLETE_SUFFIX
    encoder.store_to_file(tmp_path)
    os.replace(tmp_path, path)


def get_or_generate_vocab_inner(
    data_dir: str | None,
    vocab_filename: str | None,
    vocab_size: int,
    generator: Iterable[str],
    max_subtoken_length: int | None = None,
    reserved_tokens: list[str] | None = None,
) -> text_encoder.SubwordTextEncoder:
    """Loads `data_dir/vocab_filename` if it exists, else builds it from `generator` and stores it.

    The generator is not consumed when the file exists (as in T2T).
    """
    filepath = os.path.join(data_dir, vocab_filename) if data_dir and vocab_filename else None
    if filepath and os.path.exists(filepath):
        logger.info("Found vocab file: %s", filepath)
        return text_encoder.SubwordTextEncoder(filepath)
    logger.info("Generating vocab file: %s", filepath)
    vocab = text_encoder.SubwordTextEncoder.build_from_generator(
        generator,
        vocab_size,
        max_subtoken_length=max_subtoken_length,
        reserved_tokens=reserved_tokens,
    )
    if filepath:
        os.makedirs(data_dir, exist_ok=True)
        _store_atomically(vocab, filepath)
    return vocab


def _maybe_extract(tmp_dir: str, archive: str, member: str) -> None:
    filepath = os.path.join(tmp_dir, member)
    if not os.path.exists(filepath):
        if not os.path.exists(archive):
            raise DataError(f"{filepath} is missing and there is no archive {archive} to extract")
        extract_tar(archive, tmp_dir)
    if member.endswith(".gz"):
        gunzip_file(filepath, filepath[: -len(".gz")])


def _subsampled_lines(filepath: str, file_byte_budget: float) -> Iterator[str]:
    """T2T's even subsampling: every (countermax+1)-th line until ~budget characters."""
    countermax = int(os.path.getsize(filepath) / file_byte_budget / 2)
    budget, counter = file_byte_budget, 0
    with open(filepath, encoding="utf-8", errors="ignore") as f:
        for line in f:
            if counter < countermax:
                counter += 1
                continue
            if budget <= 0:
                return
            line = line.strip()
            budget -= len(line)
            counter = 0
            yield line


def generate_lines_for_vocab(
    tmp_dir: str, sources: Sequence[Sequence[Any]], file_byte_budget: float = 1e6
) -> Iterator[str]:
    """Lines sampled from each file of `sources` (`[[url, [file, ...]], ...]`) for vocab building.

    Each archive is downloaded into `tmp_dir` and extracted if a file is missing; `.gz`
    files are unpacked. From each file about `file_byte_budget` characters of evenly
    spaced lines are taken.
    """
    for source in sources:
        url = source[0]
        archive = maybe_download(tmp_dir, os.path.basename(url), url)
        for member in source[1]:
            _maybe_extract(tmp_dir, archive, member)
            filepath = os.path.join(tmp_dir, member)
            if filepath.endswith(".gz"):
                filepath = filepath[: -len(".gz")]
            logger.info("Reading file: %s", filepath)
            yield from _subsampled_lines(filepath, file_byte_budget)


def get_or_generate_vocab(
    data_dir: str,
    tmp_dir: str,
    vocab_filename: str,
    vocab_size: int,
    sources: Sequence[Sequence[Any]],
    file_byte_budget: float = 1e6,
    max_subtoken_length: int | None = None,
) -> text_encoder.SubwordTextEncoder:
    """A subword vocab from (a sample of) the files of `sources`, stored in `data_dir`."""
    lines = generate_lines_for_vocab(tmp_dir, sources, file_byte_budget)
    return get_or_generate_vocab_inner(
        data_dir, vocab_filename, vocab_size, lines, max_subtoken_length
    )


def get_or_generate_tabbed_vocab(
    data_dir: str,
    tmp_dir: str,
    source_filename: str,
    index: int,
    vocab_filename: str,
    vocab_size: int,
) -> text_encoder.SubwordTextEncoder:
    """A subword vocab from column `index` of the tab-separated file `tmp_dir/source_filename`."""

    def lines() -> Iterator[str]:
        """Column `index` of each non-empty tab-separated line, stripped."""
        with open(os.path.join(tmp_dir, source_filename), encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line and "\t" in line:
                    yield line.split("\t", 1)[index].strip()

    return get_or_generate_vocab_inner(data_dir, vocab_filename, vocab_size, lines())


def get_or_generate_txt_vocab(
    data_dir: str, vocab_filename: str, vocab_size: int, filepatterns: str | Sequence[str]
) -> text_encoder.SubwordTextEncoder:
    """A subword vocab from every stripped line of the files matching `filepatterns`."""
    import glob

    patterns = [filepatterns] if isinstance(filepatterns, str) else list(filepatterns)

    def lines() -> Iterator[str]:
        """Every line of every matching file, stripped."""
        for pattern in patterns:
            for filename in glob.glob(pattern):  # directory order, as tf.gfile.Glob
                with open(filename, encoding="utf-8") as f:
                    for line in f:
                        yield line.strip()

    return get_or_generate_vocab_inner(data_dir, vocab_filename, vocab_size, lines())
