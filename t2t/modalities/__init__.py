"""Modalities: one registered module per T2T ModalityType (bottom / top / loss)."""
