"""t2t-build-vocab: builds a subword vocabulary file from text files, as T2T's builder does.

    t2t-build-vocab --corpus_filepattern='data/*.txt' --vocab_filepath=vocab.subwords \\
        --target_size=8192

With --target_size the min count is found by T2T's bisection (build_to_target_size, min count
1..1000); with --min_count a single build with that min count is made. The vocab file is
byte-identical to the one T2T builds from the same corpus and settings.
"""

import time

from absl import flags

from t2t.bin import cli
from t2t.data import subword_builder, text_encoder, tokenizer
from t2t.errors import DataError

FLAGS = flags.FLAGS

flags.DEFINE_string(
    "corpus_filepattern", None, "Glob (or comma-separated globs) of UTF-8 text files."
)
flags.DEFINE_string("vocab_filepath", None, "Where to write the vocabulary file.")
flags.DEFINE_integer(
    "target_size", None, "Approximate vocabulary size; the min count is found by bisection."
)
flags.DEFINE_integer("min_count", None, "Build once with this min count (instead of target_size).")
flags.DEFINE_integer("num_iterations", 4, "Refinement iterations of each build.")
flags.DEFINE_integer("corpus_max_lines", 0, "Read at most this many lines (0: all).")
flags.DEFINE_bool(
    "split_on_newlines", True, "Each stripped line is a document (else each whole file)."
)
flags.DEFINE_integer(
    "max_subtoken_length", None, "Cap on subtoken length (T2T builds candidates up to one less)."
)


def _check_flags() -> None:
    if not FLAGS.corpus_filepattern or not FLAGS.vocab_filepath:
        raise DataError("--corpus_filepattern and --vocab_filepath are required")
    if (FLAGS.target_size is None) == (FLAGS.min_count is None):
        raise DataError("give exactly one of --target_size and --min_count")
    if FLAGS.target_size is not None and FLAGS.target_size < 1:
        raise DataError(f"--target_size must be positive, got {FLAGS.target_size}")
    if FLAGS.max_subtoken_length is not None and FLAGS.max_subtoken_length < 1:
        raise DataError(f"--max_subtoken_length must be positive, got {FLAGS.max_subtoken_length}")


def build_vocab(
    corpus_filepattern: str,
    vocab_filepath: str,
    target_size: int | None = None,
    min_count: int | None = None,
    num_iterations: int = 4,
    corpus_max_lines: int = 0,
    split_on_newlines: bool = True,
    max_subtoken_length: int | None = None,
) -> text_encoder.SubwordTextEncoder:
    """Counts the corpus tokens, builds the vocabulary and writes it (single-quoted lines).

    Raises:
      DataError: no file matches, a file is unreadable, the corpus is empty, or it is too small
        for `target_size` (even min count 1 gives fewer subtokens than 99% of the target).
    """
    counts = tokenizer.corpus_token_counts(corpus_filepattern, corpus_max_lines, split_on_newlines)
    if not counts:
        raise DataError(f"the corpus {corpus_filepattern!r} has no text")
    builder = subword_builder.SubwordBuilder(
        counts, list(text_encoder.RESERVED_TOKENS), max_subtoken_length, text_encoder._ESCAPE_CHARS
    )
    if target_size is not None:
        strings = builder.build_to_target_size(target_size, 1, 1e3, num_iterations)
        if len(strings) * 100 < target_size * 99:
            largest = len(builder.build(1, num_iterations))
            if largest * 100 < target_size * 99:
                raise DataError(
                    f"corpus too small for --target_size={target_size}: even min count 1 gives "
                    f"only {largest} subtokens ({len(counts)} distinct tokens)"
                )
    else:
        strings = builder.build(min_count, num_iterations)
    encoder = text_encoder.SubwordTextEncoder._from_built(strings, builder.alphabet)
    try:
        encoder.store_to_file(vocab_filepath)
    except OSError as error:
        raise DataError(f"cannot write {vocab_filepath}: {error.strerror}") from None
    return encoder


def main(argv: list[str]) -> None:
    """Entry point of t2t-build-vocab: builds the vocabulary the flags describe and reports it.

    Raises:
        DataError: stray positional arguments, inconsistent flags or an unwritable vocab file.
    """
    if len(argv) > 1:
        raise DataError(f"unexpected arguments: {' '.join(argv[1:])}")
    _check_flags()
    start = time.time()
    encoder = build_vocab(
        FLAGS.corpus_filepattern,
        FLAGS.vocab_filepath,
        target_size=FLAGS.target_size,
        min_count=FLAGS.min_count,
        num_iterations=FLAGS.num_iterations,
        corpus_max_lines=FLAGS.corpus_max_lines,
        split_on_newlines=FLAGS.split_on_newlines,
        max_subtoken_length=FLAGS.max_subtoken_length,
    )
    goal = (
        f"target size {FLAGS.target_size}" if FLAGS.target_size else f"min count {FLAGS.min_count}"
    )
    print(
        f"built a subword vocabulary of {encoder.vocab_size} subtokens ({goal}) in "
        f"{time.time() - start:.1f}s; wrote {FLAGS.vocab_filepath}"
    )


def run() -> None:
    """Console-script entry point (`t2t-build-vocab`)."""
    cli.run(main)


if __name__ == "__main__":
    run()
