"""Builds the optional C extension; all package metadata lives in pyproject.toml.

`t2t.data._subword` is the native path of SubwordTextEncoder.encode (see text_encoder.py). It
is optional: if it does not compile (no C compiler or Python headers), installation still
succeeds and the encoder runs its pure-Python path, which gives the same ids.
"""

import os

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "t2t.data._subword",
            ["t2t/data/_subword.c"],
            extra_compile_args=[] if os.name == "nt" else ["-O2", "-Wall"],
            optional=True,
        )
    ]
)
