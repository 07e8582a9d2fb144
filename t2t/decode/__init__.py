"""Decoding: the search (`beam_search`), the decoding protocol (`protocol`), and decoding of
files, lists and datasets with a trained run (`decoding`, `api`)."""
