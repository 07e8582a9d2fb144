"""Exports of a trained run: t2t's export directory, CTranslate2 and ONNX (t2t-exporter)."""
