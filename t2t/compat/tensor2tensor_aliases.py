"""Makes `import tensor2tensor.X` resolve to our modules when the original is not installed.

A T2T user directory imports `tensor2tensor.utils.registry`,
`tensor2tensor.data_generators.text_problems` and the like. When the real `tensor2tensor`
package is absent, `install()` adds an import hook that serves those names from our
modules. Names we do not (yet) provide fail with an ImportError saying so, rather than
a confusing error later.
"""

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

# tensor2tensor module -> our module. Grows as parts of the original are rebuilt.
MODULE_ALIASES: dict[str, str] = {
    "tensor2tensor.utils.registry": "t2t.registry",
    "tensor2tensor.utils.hparam": "t2t.hparams",
    "tensor2tensor.layers.common_hparams": "t2t.hparams",
    "tensor2tensor.layers.modalities": "t2t.compat.modalities",
    "tensor2tensor.data_generators.text_encoder": "t2t.data.text_encoder",
    "tensor2tensor.data_generators.tokenizer": "t2t.data.tokenizer",
    "tensor2tensor.data_generators.problem": "t2t.problems.problem",
    "tensor2tensor.data_generators.text_problems": "t2t.problems.text_problems",
    "tensor2tensor.data_generators.generator_utils": "t2t.problems.generator_utils",
    "tensor2tensor.data_generators.algorithmic": "t2t.problems.algorithmic",
    "tensor2tensor.data_generators.cipher": "t2t.problems.cipher",
    "tensor2tensor.data_generators.translate": "t2t.problems.translate",
    "tensor2tensor.data_generators.translate_ende": "t2t.problems.translate_ende",
    "tensor2tensor.data_generators.image_utils": "t2t.problems.image",
    "tensor2tensor.data_generators.mnist": "t2t.problems.mnist",
    "tensor2tensor.data_generators.cifar": "t2t.problems.cifar",
    "tensor2tensor.data_generators.imagenet": "t2t.problems.imagenet",
    "tensor2tensor.data_generators.speech_recognition": "t2t.problems.speech_recognition",
    "tensor2tensor.data_generators.librispeech": "t2t.problems.librispeech",
    "tensor2tensor.data_generators.audio_encoder": "t2t.data.audio",
    "tensor2tensor.data_generators.multi_problem": "t2t.problems.multi_problem",
    "tensor2tensor.data_generators.lm1b_imdb": "t2t.problems.lm1b_imdb",
    "tensor2tensor.models.transformer": "t2t.models.transformer",
    "tensor2tensor.models.lstm": "t2t.models.lstm",
    "tensor2tensor.utils.bleu_hook": "t2t.compat.bleu_hook",
    "tensor2tensor.utils.metrics": "t2t.metrics.metrics",
}

# Packages on the way to an alias: plain empty packages.
_PACKAGES = {"tensor2tensor"} | {
    ".".join(name.split(".")[:i]) for name in MODULE_ALIASES for i in range(1, name.count(".") + 1)
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str | None) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        if self.target is None:
            module = types.ModuleType(spec.name)
            module.__path__ = []  # a package, so submodules can be imported
            return module
        try:
            return importlib.import_module(self.target)
        except ModuleNotFoundError as error:
            if error.name and self.target.startswith(error.name):
                raise ImportError(
                    f"{spec.name} is not available in t2t yet (it maps to {self.target}, "
                    "which is not built)"
                ) from None
            raise

    def exec_module(self, module: types.ModuleType) -> None:
        pass


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001, ANN201
        if fullname in MODULE_ALIASES:
            loader = _AliasLoader(MODULE_ALIASES[fullname])
            return importlib.machinery.ModuleSpec(fullname, loader)
        if fullname in _PACKAGES:
            spec = importlib.machinery.ModuleSpec(fullname, _AliasLoader(None), is_package=True)
            return spec
        if fullname.startswith("tensor2tensor."):
            raise ImportError(
                f"{fullname} is not provided by t2t's compatibility layer. Provided: "
                + ", ".join(sorted(MODULE_ALIASES))
            )
        return None


_finder = _AliasFinder()


def install() -> bool:
    """Installs the alias hook unless the real tensor2tensor is importable.

    Returns:
        True if the aliases are (now) active.
    """
    if _finder in sys.meta_path:
        return True
    if "tensor2tensor" not in sys.modules and importlib.util.find_spec("tensor2tensor"):
        return False  # the original is installed: let user code use it
    sys.meta_path.append(_finder)
    return True
