"""Parallel corpus (English -> LANG) from the compiled gettext catalogs (.mo) installed here.

Every `.mo` file under the search roots whose locale directory is exactly LANG (for example
`/usr/share/locale/fr/LC_MESSAGES/grep.mo`) is read with Python's `gettext` module: each
catalog entry maps an English msgid to its translation. Cleaning:

* dropped: the header entry (empty msgid), plural entries (tuple keys), entries with a
  message context (msgid containing "\\x04"), empty or untranslated (msgstr == msgid)
  messages, messages without a letter, messages longer than `--max_chars` characters;
* whitespace (newlines, tabs, runs of spaces) is collapsed to one space, ends stripped,
  and gettext accelerator markers ("_File", "&Open") are left as they are;
* duplicates: one pair per English message; when catalogs translate it differently, the
  most frequent translation wins (ties: the smallest string).

The split is deterministic and independent of file order: pairs are ordered by the SHA-1 of
the English message; the first `--test` pairs are the held-out test set, the next `--eval`
the eval set, the rest the training set. Written into `--out` (T2T's `text2text_tmpdir`
layout, plus the test files the problem ignores):

    inputs.train.txt  targets.train.txt   training pairs, one per line
    inputs.eval.txt   targets.eval.txt    eval pairs (the problem's dev split)
    inputs.test.txt   targets.test.txt    held-out test pairs (decoded and scored with BLEU)
    catalogs.txt                          the catalogs read, with their entry counts

Usage: python benchmarks/gettext_corpus.py --lang fr --out /work/parity-runs/corpus_fr
"""

from __future__ import annotations

import argparse
import collections
import gettext
import hashlib
import os
import re
import sys

DEFAULT_ROOTS = ("/usr/share/locale", "/usr/share/locale-langpack", "/usr/share", "/usr/lib")
_SPACE = re.compile(r"\s+")
_LETTER = re.compile(r"[^\W\d_]")


def find_catalogs(lang: str, roots: tuple[str, ...] = DEFAULT_ROOTS) -> list[str]:
    """Sorted real paths of the `.mo` files in `<...>/LANG/LC_MESSAGES/` under `roots`."""
    found = set()
    for root in roots:
        for dirpath, _, filenames in os.walk(root):
            parts = dirpath.split(os.sep)
            if len(parts) < 2 or parts[-1] != "LC_MESSAGES" or parts[-2] != lang:
                continue
            for name in filenames:
                if name.endswith(".mo"):
                    found.add(os.path.realpath(os.path.join(dirpath, name)))
    return sorted(found)


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def read_catalog(path: str, max_chars: int) -> list[tuple[str, str]]:
    """The usable (English, translation) pairs of one compiled catalog."""
    with open(path, "rb") as f:
        try:
            catalog = gettext.GNUTranslations(f)._catalog  # noqa: SLF001 - the documented data
        except (OSError, UnicodeDecodeError, ValueError):
            return []
    pairs = []
    for msgid, msgstr in catalog.items():
        if not isinstance(msgid, str) or not msgid or "\x04" in msgid:
            continue
        source, target = _clean(msgid), _clean(msgstr)
        if not source or not target or source == target:
            continue
        if len(source) > max_chars or len(target) > max_chars:
            continue
        if not _LETTER.search(source):
            continue
        pairs.append((source, target))
    return pairs


def build(lang: str, roots: tuple[str, ...], max_chars: int) -> tuple[list, list]:
    """All deduplicated pairs, ordered by the SHA-1 of the English side; and per-catalog counts."""
    votes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    counts = []
    for path in find_catalogs(lang, roots):
        pairs = read_catalog(path, max_chars)
        counts.append((path, len(pairs)))
        for source, target in pairs:
            votes[source][target] += 1
    chosen = []
    for source, targets in votes.items():
        target = min(targets.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        chosen.append((source, target))
    chosen.sort(key=lambda p: (hashlib.sha1(p[0].encode("utf-8")).hexdigest(), p[0]))
    return chosen, counts


def _write(out: str, split: str, pairs: list[tuple[str, str]]) -> None:
    for side, index in (("inputs", 0), ("targets", 1)):
        with open(os.path.join(out, f"{side}.{split}.txt"), "w", encoding="utf-8") as f:
            for pair in pairs:
                f.write(pair[index] + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lang", default="fr", help="locale directory name, e.g. fr, es")
    parser.add_argument("--out", required=True, help="directory for the text2text_tmpdir files")
    parser.add_argument("--test", type=int, default=1000, help="held-out test pairs")
    parser.add_argument("--eval", type=int, default=1000, help="eval (dev) pairs")
    parser.add_argument("--max_chars", type=int, default=200, help="longest message kept")
    parser.add_argument("--roots", default=",".join(DEFAULT_ROOTS), help="comma-separated dirs")
    args = parser.parse_args(argv)
    roots = tuple(r for r in args.roots.split(",") if r)
    pairs, counts = build(args.lang, roots, args.max_chars)
    if len(pairs) <= args.test + args.eval:
        print(
            f"only {len(pairs)} pairs for {args.lang!r}: install more translated packages",
            file=sys.stderr,
        )
        return 1
    os.makedirs(args.out, exist_ok=True)
    test = pairs[: args.test]
    dev = pairs[args.test : args.test + args.eval]
    train = pairs[args.test + args.eval :]
    _write(args.out, "test", test)
    _write(args.out, "eval", dev)
    _write(args.out, "train", train)
    with open(os.path.join(args.out, "catalogs.txt"), "w", encoding="utf-8") as f:
        for path, n in counts:
            f.write(f"{n}\t{path}\n")
    total = sum(n for _, n in counts)
    print(
        f"lang={args.lang} catalogs={len(counts)} entries={total} unique={len(pairs)} "
        f"train={len(train)} eval={len(dev)} test={len(test)} out={args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
