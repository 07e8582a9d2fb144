"""Builds SubwordTextEncoder vocabularies: T2T's algorithm, vectorised with numpy.

T2T's `build_from_token_counts` repeats, `num_iterations` times: split every escaped token
greedily with the current vocabulary; count every substring that starts at a split point
(weighted by the token's count); walk the candidates with count >= min_count from longest to
shortest, accepting those whose count is still >= min_count and subtracting an accepted
string's count from all its proper prefixes; the new vocabulary is the escaped reserved tokens,
then the accepted strings plus the whole alphabet sorted by (count, string) descending.

The result depends only on which substrings start at split points, so we intern every
substring that can matter ONCE (per token and start, up to the longest length the algorithm
can use) and express each iteration as array operations over these occurrences:

* greedy split: per position the longest in-vocabulary substring (a `maximum.reduceat`), then
  all tokens' split points are followed in parallel;
* counting: a weighted `bincount` over the occurrences that start at a split point;
* acceptance: level by level from the longest length, propagating accepted counts to parents
  (the prefix one character shorter), which is the same as T2T's prefix subtraction.

`build_to_target_size` bisects over min_count exactly as T2T does and shares the interned
substrings and the first iteration's counts (which do not depend on min_count) across builds.
The outputs are identical to T2T's; `tests/data/test_text_encoder.py` checks them against a
plain-Python restatement of the algorithm and against golden files made with T2T itself.
"""

from collections.abc import Iterable

import numpy as np

from t2t.data import text_encoder


class SubwordBuilder:
    """Shared state for building vocabularies from one set of token counts.

    Args:
      token_counts: token -> count (tokens as produced by the tokenizer).
      reserved_tokens: reserved tokens, starting with RESERVED_TOKENS.
      max_subtoken_length: if set, candidates are at most `max_subtoken_length - 1` long
        (T2T's off-by-one, kept for identical vocabularies).
      escape_chars: the escape characters (text_encoder._ESCAPE_CHARS).
    """

    def __init__(
        self,
        token_counts: dict[str, int],
        reserved_tokens: list[str],
        max_subtoken_length: int | None,
        escape_chars: Iterable[str],
    ):
        self.reserved_tokens = list(reserved_tokens)
        tokens = list(token_counts)
        # The alphabet must include the reserved tokens' chars or they would not be encodable.
        alphabet = {c for token in tokens for c in token}
        alphabet |= {c for token in self.reserved_tokens for c in token}
        alphabet |= set(escape_chars)
        self.alphabet = alphabet
        escaped = [text_encoder._escape_token(token, alphabet) for token in tokens]
        self.escaped_reserved = [text_encoder._escape_token(t, alphabet) for t in reserved_tokens]
        counts = np.array([token_counts[token] for token in tokens], dtype=np.int64)
        # Candidates are at most `count_cap` long; the greedy split may also use longer
        # reserved tokens, so substrings up to `split_cap` are interned.
        self.count_cap = None if max_subtoken_length is None else max(max_subtoken_length - 1, 0)
        split_cap = None
        if self.count_cap is not None:
            longest_reserved = max(
                (len(t) for t in self.reserved_tokens + self.escaped_reserved), default=1
            )
            split_cap = max(self.count_cap, 1, longest_reserved)
        self._intern(escaped, counts, split_cap)
        self._first_iteration_counts: np.ndarray | None = None

    # ----------------------------------------------------------------------------- setup
    def _intern(self, escaped: list[str], counts: np.ndarray, split_cap: int | None) -> None:
        """Interns every substring esc[s:s+n] (n <= split_cap) and lays out the occurrences.

        Occurrences are ordered by position (token, start), then by length 1, 2, ...
        """
        ids: dict[str, int] = {}
        setdefault = ids.setdefault
        suffix_ids: dict[str, list[int]] = {}
        occ_sub: list[int] = []
        pos_n = []
        for esc in escaped:
            length = len(esc)
            for start in range(length):
                suffix = esc[start:] if split_cap is None else esc[start : start + split_cap]
                sub_ids = suffix_ids.get(suffix)
                if sub_ids is None:
                    sub_ids = [setdefault(suffix[:n], len(ids)) for n in range(1, len(suffix) + 1)]
                    suffix_ids[suffix] = sub_ids
                occ_sub.extend(sub_ids)
                pos_n.append(len(sub_ids))
        self.strings = list(ids)
        self.string_to_id = ids
        num_sub = len(self.strings)
        self.occ_sub = np.array(occ_sub, dtype=np.int64)
        token_lengths = np.array([len(e) for e in escaped], dtype=np.int64)
        self.token_start = np.cumsum(token_lengths) - token_lengths
        self.token_end = self.token_start + token_lengths
        pos_n_arr = np.array(pos_n, dtype=np.int64)
        num_pos = len(pos_n_arr)
        self.pos_first_occ = np.cumsum(pos_n_arr) - pos_n_arr
        self.occ_pos = np.repeat(np.arange(num_pos, dtype=np.int64), pos_n_arr)
        self.occ_len = np.arange(len(occ_sub), dtype=np.int64) - np.repeat(
            self.pos_first_occ, pos_n_arr
        )
        self.occ_len += 1
        pos_token = np.repeat(np.arange(len(escaped), dtype=np.int64), token_lengths)
        self.occ_weight = counts[pos_token][self.occ_pos].astype(np.float64)
        self.sub_len = np.zeros(num_sub, dtype=np.int64)
        self.sub_len[self.occ_sub] = self.occ_len
        # parent = the substring one character shorter (same start): the previous occurrence.
        self.parent = np.full(num_sub, -1, dtype=np.int64)
        longer = self.occ_len > 1
        self.parent[self.occ_sub[longer]] = self.occ_sub[np.flatnonzero(longer) - 1]
        self.countable = np.ones(len(occ_sub), dtype=bool)
        if self.count_cap is not None:
            self.countable = self.occ_len <= self.count_cap
        # Substring ids sorted by decreasing length, for the acceptance walk.
        self.by_length = np.argsort(-self.sub_len, kind="stable")
        self.alphabet_sorted = sorted(self.alphabet)
        self.extra_chars = [c for c in self.alphabet_sorted if c not in ids]
        extra_ids = {c: num_sub + i for i, c in enumerate(self.extra_chars)}
        self.alphabet_ext_ids = np.array(
            [ids.get(c, extra_ids.get(c)) for c in self.alphabet_sorted], dtype=np.int64
        )
        self.escaped_reserved_ids = np.array(
            [ids[t] for t in self.escaped_reserved if t in ids], dtype=np.int64
        )
        self._rank: np.ndarray | None = None

    def _mask_of(self, strings: Iterable[str]) -> np.ndarray:
        mask = np.zeros(len(self.strings), dtype=bool)
        idx = [self.string_to_id[s] for s in strings if s in self.string_to_id]
        mask[np.array(idx, dtype=np.int64)] = True
        return mask

    # ----------------------------------------------------------------------------- one iteration
    def _split_points(self, in_vocab: np.ndarray) -> np.ndarray:
        """Boolean per position: does the greedy longest-match split start a subtoken here?"""
        num_pos = len(self.pos_first_occ)
        split = np.zeros(num_pos, dtype=bool)
        if num_pos == 0:
            return split
        lengths = np.where(in_vocab[self.occ_sub], self.occ_len, 0)
        jump = np.maximum.reduceat(lengths, self.pos_first_occ)
        cur, ends = self.token_start[self.token_end > self.token_start], self.token_end
        ends = ends[self.token_end > self.token_start]
        while cur.size:
            split[cur] = True
            step = jump[cur]
            if not step.all():
                self._raise_unencodable(int(cur[np.flatnonzero(step == 0)[0]]))
            cur = cur + step
            keep = cur < ends
            cur, ends = cur[keep], ends[keep]
        return split

    def _raise_unencodable(self, position: int) -> None:
        occ = self.pos_first_occ[position]
        raise ValueError(
            f"Token substring starting with '{self.strings[self.occ_sub[occ]]}' not found in "
            "subtoken vocabulary (an escape character is missing from the alphabet)."
        )

    def _count(self, in_vocab: np.ndarray) -> np.ndarray:
        """Counts of all candidate substrings (starting at split points), per substring id."""
        split = self._split_points(in_vocab)
        take = split[self.occ_pos] & self.countable
        counts = np.bincount(
            self.occ_sub[take], weights=self.occ_weight[take], minlength=len(self.strings)
        )
        return np.rint(counts).astype(np.int64)

    def _select(self, counts: np.ndarray, min_count: float) -> np.ndarray:
        """Accepts candidates longest first; returns the extended ids of the new vocabulary
        after the reserved tokens, in T2T's order."""
        candidates = self.by_length[counts[self.by_length] >= min_count]
        taken = np.zeros(len(self.strings), dtype=np.int64)  # counts given to longer strings
        accepted_ids, accepted_counts = [], []
        lengths = self.sub_len[candidates]
        # Level boundaries in `candidates` (sorted by decreasing length).
        cuts = np.flatnonzero(np.diff(lengths)) + 1
        for level in np.split(candidates, cuts):
            if level.size == 0:
                continue
            adjusted = counts[level] - taken[level]
            ok = adjusted >= min_count
            if self.sub_len[level[0]] > 1:
                accepted_ids.append(level[ok])
                accepted_counts.append(adjusted[ok])
                np.add.at(taken, self.parent[level], taken[level] + np.where(ok, adjusted, 0))
        # The alphabet is always included (with its remaining count) so everything encodes.
        # Extended ids >= len(strings) are alphabet chars that occur in no escaped token.
        alpha_counts = np.append(counts - taken, np.zeros(len(self.extra_chars), np.int64))
        entries = np.concatenate(accepted_ids + [self.alphabet_ext_ids])
        entry_counts = np.concatenate(accepted_counts + [alpha_counts[self.alphabet_ext_ids]])
        # Descending (count, string): equal counts in descending code point order (T2T quirk).
        order = np.lexsort((-self._string_rank()[entries], -entry_counts))
        return entries[order]

    def _string_rank(self) -> np.ndarray:
        """Rank of every extended id's string in code point order (computed once)."""
        if self._rank is None:
            ext = self.strings + self.extra_chars
            longest = max((len(x) for x in ext), default=0)
            if longest <= 64 and "\x00" not in self.alphabet:
                # numpy compares UCS4 code points, like Python (NULs would be ignored).
                order = np.argsort(np.array(ext, dtype=f"U{max(longest, 1)}"), kind="stable")
            else:
                order = np.array(sorted(range(len(ext)), key=ext.__getitem__), dtype=np.int64)
            self._rank = np.empty(len(ext), dtype=np.int64)
            self._rank[order] = np.arange(len(ext))
        return self._rank

    # ----------------------------------------------------------------------------- builds
    def build(self, min_count: float, num_iterations: int = 4) -> list[str]:
        """Runs T2T's build_from_token_counts; returns the subtoken strings in id order."""
        min_count = max(min_count, 1)
        if num_iterations < 1:
            # T2T leaves raw reserved tokens + the alphabet (in set order); we sort the alphabet.
            return self.reserved_tokens + self.alphabet_sorted
        entries = np.zeros(0, dtype=np.int64)
        for iteration in range(num_iterations):
            if iteration == 0:
                counts = self._first_counts()
            else:
                in_vocab = np.zeros(len(self.strings), dtype=bool)
                in_vocab[entries[entries < len(self.strings)]] = True
                in_vocab[self.escaped_reserved_ids] = True
                counts = self._count(in_vocab)
            entries = self._select(counts, min_count)
        ext = self.strings + self.extra_chars
        return self.escaped_reserved + [ext[i] for i in entries.tolist()]

    def _first_counts(self) -> np.ndarray:
        # The first split uses raw reserved tokens + the alphabet: independent of min_count.
        if self._first_iteration_counts is None:
            self._first_iteration_counts = self._count(
                self._mask_of(self.reserved_tokens + self.alphabet_sorted)
            )
        return self._first_iteration_counts

    def build_to_target_size(
        self, target_size: int, min_val: float, max_val: float, num_iterations: int = 4
    ) -> list[str]:
        """T2T's recursive bisection over min_count; returns the closest vocabulary found."""

        def bisect(lo: float, hi: float) -> list[str]:
            """Builds at min_count (lo + hi) // 2, then recurses into the half nearer the target."""
            present_count = (hi + lo) // 2
            vocab = self.build(present_count, num_iterations)
            # Being within 1% of the target size is ok.
            if abs(len(vocab) - target_size) * 100 < target_size or lo >= hi or present_count < 2:
                return vocab
            if len(vocab) > target_size:
                other = bisect(present_count + 1, hi)
            else:
                other = bisect(lo, present_count - 1)
            # Ties keep the vocabulary of the outer call, as in T2T.
            if abs(len(other) - target_size) < abs(len(vocab) - target_size):
                return other
            return vocab

        return bisect(min_val, max_val)
