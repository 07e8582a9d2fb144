"""Problems: WHAT a task is (its data, vocabulary, features and hparams).

Built-in problem modules are imported lazily by the registry (`_BUILTIN_MODULES["problems"]`).
"""
