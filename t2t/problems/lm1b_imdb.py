"""languagemodel_lm1b_sentiment_imdb: LM1B characters + IMDb sentiment as one language model
(T2T's `lm1b_imdb.py`, a `MultiProblem`; see t2t.problems.multi_problem).

The primary task is `languagemodel_lm1b_characters`; `sentiment_imdb_characters` rows read
`review task_id label`, the label spelled as the digit character "0" or "1".
"""

from __future__ import annotations

from t2t import registry
from t2t.problems.imdb import SentimentImdbCharacters
from t2t.problems.lm import LanguagemodelLm1bCharacters
from t2t.problems.multi_problem import MultiProblem
from t2t.problems.text_problems import VocabType


@registry.register_problem
class LanguagemodelLm1bSentimentImdb(MultiProblem):
    """LM1B and IMDb mixed for multitask learning, over characters."""

    def __init__(self, was_reversed: bool = False, was_copy: bool = False) -> None:
        super().__init__(was_reversed, was_copy)
        self.task_list.append(LanguagemodelLm1bCharacters())
        self.task_list.append(SentimentImdbCharacters())

    @property
    def vocab_type(self) -> str:
        """Characters: the class labels are digit characters."""
        return VocabType.CHARACTER


# T2T's class name; the registered name is "languagemodel_lm1b_sentiment_imdb" either way.
LanguagemodelLm1bSentimentIMDB = LanguagemodelLm1bSentimentImdb
