"""Modalities: how a feature enters the model (bottom) and leaves it (top, loss).

One module per T2T modality type (or per group that shares its parts: the symbol variants,
the class-label variants), each registered under its `ModalityType` name with
`registry.register_modality`. `t2t.modalities.base` holds the `Modality` base class a new
type subclasses; the model base class finds types only through the registry.

Importing this package imports only the names (no torch): problems use `ModalityType`.
"""

from t2t.modalities.names import ModalityType

__all__ = ["ModalityType"]
