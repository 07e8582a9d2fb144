"""The memory Transformer's registered hparams sets (T2T 1.15.7's values).

T2T registered these five in models/transformer.py; `transformer_wikitext103_l4k_v0` is a
plain `transformer` set, the four `*_memory_v0` sets are for `transformer_memory`.
"""

from t2t import registry
from t2t.hparams import HParams
from t2t.models.transformer_hparams import _update, transformer_big


@registry.register_hparams
def transformer_wikitext103_l4k_v0() -> HParams:
    """languagemodel_wikitext103_l4k: 8 layers of transformer_big width, 4 heads, Adafactor."""
    return _update(
        transformer_big(),
        optimizer="Adafactor",
        learning_rate_schedule="rsqrt_decay",
        learning_rate_warmup_steps=10000,
        num_heads=4,
        max_length=4096,
        batch_size=4096,
        shared_embedding_and_softmax_weights=False,
        num_hidden_layers=8,
        attention_dropout=0.1,
        layer_prepostprocess_dropout=0.2,
        relu_dropout=0.1,
        label_smoothing=0.0,
        # noise broadcast over batch and heads / length saves memory
        attention_dropout_broadcast_dims="0,1",
        relu_dropout_broadcast_dims="1",
        layer_prepostprocess_dropout_broadcast_dims="1",
        symbol_modality_num_shards=1,
    )


@registry.register_hparams
def transformer_wikitext103_l4k_memory_v0() -> HParams:
    """languagemodel_wikitext103_l4k with a Transformer-XL memory of one 64-token chunk."""
    hparams = _update(
        transformer_wikitext103_l4k_v0(),
        split_targets_chunk_length=64,
        split_targets_max_chunks=64,
        split_targets_strided_training=True,
    )
    hparams.add_hparam("memory_type", "transformer_xl")
    # T2T's batch size counts tokens before chunking; 4096 tokens per chunk step.
    hparams.batch_size = int(4096 * (hparams.max_length / hparams.split_targets_chunk_length))
    hparams.pos = None
    hparams.self_attention_type = "dot_product_relative"
    hparams.max_relative_position = 2 * hparams.split_targets_chunk_length
    hparams.add_hparam("unconditional", True)
    hparams.add_hparam("recurrent_memory_batch_size", 0)  # 0: T2T guesses it
    hparams.add_hparam("num_memory_items", hparams.split_targets_chunk_length)
    return hparams


@registry.register_hparams
def transformer_wikitext103_l16k_memory_v0() -> HParams:
    """languagemodel_wikitext103_l16k: 16384-token sequences in 256 chunks of 64."""
    hparams = transformer_wikitext103_l4k_memory_v0()
    hparams.max_length = 16384
    hparams.split_targets_chunk_length = 64
    hparams.split_targets_max_chunks = hparams.max_length // hparams.split_targets_chunk_length
    hparams.batch_size = int(4096 * (hparams.max_length / hparams.split_targets_chunk_length))
    hparams.max_relative_position = 2 * hparams.split_targets_chunk_length
    return hparams


@registry.register_hparams
def transformer_cifar10_memory_v0() -> HParams:
    """image_cifar10_plain_gen_flat_rev: 3072 pixels in 16 chunks of 192, 384 remembered."""
    hparams = transformer_wikitext103_l4k_memory_v0()
    hparams.num_hidden_layers = 6
    hparams.max_length = 32 * 32 * 3
    hparams.split_targets_chunk_length = 64 * 3
    hparams.split_targets_max_chunks = hparams.max_length // hparams.split_targets_chunk_length
    hparams.num_memory_items = 128 * 3
    # For images the batch size counts examples: 4 images per chunk step.
    hparams.batch_size = int(4 * (hparams.max_length / hparams.split_targets_chunk_length))
    hparams.recurrent_memory_batch_size = hparams.batch_size
    hparams.max_relative_position = hparams.num_memory_items + hparams.split_targets_chunk_length
    return hparams


@registry.register_hparams
def transformer_imagenet64_memory_v0() -> HParams:
    """image_imagenet64_gen_flat_rev: 12288 pixels in 64 chunks of 192, 384 remembered."""
    hparams = transformer_cifar10_memory_v0()
    hparams.max_length = 64 * 64 * 3
    hparams.split_targets_chunk_length = 64 * 3
    hparams.split_targets_max_chunks = hparams.max_length // hparams.split_targets_chunk_length
    hparams.num_memory_items = 128 * 3
    hparams.batch_size = int(2 * (hparams.max_length / hparams.split_targets_chunk_length))
    hparams.recurrent_memory_batch_size = hparams.batch_size
    hparams.max_relative_position = 3072
    return hparams
