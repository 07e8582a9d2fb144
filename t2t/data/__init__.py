"""Data side: text encoders and the tokenizer (`text_encoder`, `tokenizer`), problems' inputs."""
