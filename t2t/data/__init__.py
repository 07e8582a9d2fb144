"""Data side, with plain arguments (knows nothing of problems): text encoders, tokenizer,
TFRecord and tf.Example codec, length bucketing and the batch pipeline engine."""
