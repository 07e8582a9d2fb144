"""The one table of T2T names that t2t accepts and ignores, with the reason for each.

T2T users set dozens of hparams and flags; a knob that parses and quietly does nothing wastes
their GPU days. So every hparam of every registered set, every decode hparam and every flag
of the t2t-* commands either does what it did in T2T, or is listed here. Setting a listed
name to a value other than its default logs one warning per process and name, saying that
it has no effect and why (`warn_if_set`). `tests/test_inert.py` fails when a registered name
is neither read by t2t's code nor listed here.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("t2t")

# Reasons (the first word is the tag counted in reports).
TPU = "tpu: configures TPU / XLA / mesh-TensorFlow machinery that PyTorch does not need"
CLUSTER = (
    "cluster: configures TF's parameter-server cluster; t2t runs one process per GPU, "
    "started by torchrun"
)
ESTIMATOR = "estimator: tf.estimator scheduling; t2t evaluates every --local_eval_frequency steps"
CLOUD = "cloud_ml: configures Google Cloud ML Engine jobs and hyperparameter tuning"
TF_GRAPH = "tf_graph: configures TensorFlow graph, session, summary or debugger machinery"
DTYPE = "dtype: TF's precision settings; use t2t-trainer --bf16 for mixed precision"
UNUSED_IN_T2T = "unused_in_t2t: read nowhere in T2T 1.15.7 either"
NOT_HERE = "not_here: belongs to a model family or feature t2t does not have yet"
MEDIA = "media: image / video decoding output, for problems t2t does not have yet"

INERT_HPARAMS: dict[str, str] = {
    # TPU / XLA / mesh machinery
    "tpu_enable_host_call": TPU,
    "daisy_chain_variables": TPU,
    "no_data_parallelism": TPU,
    "symbol_modality_num_shards": TPU,  # our embedding is one tensor
    "pad_batch": TPU,  # fixed batch shapes for TPU infeed
    "attention_variables_3d": TPU,
    "mlperf_mode": TPU,
    # precision
    "weight_dtype": DTYPE,
    "gpu_automatic_mixed_precision": DTYPE,
    # TF graph / summaries
    "summarize_grads": TF_GRAPH,
    "summarize_vars": TF_GRAPH,
    "optimizer_zero_grads": TF_GRAPH,
    # pack_dataset with T2T's compiled pack_sequences op (its pip package ships none);
    # t2t packs as T2T's pure-TF packer does (t2t/data/packing.py)
    "use_custom_ops": TF_GRAPH,
    # no effect in T2T itself
    "learning_rate_minimum": UNUSED_IN_T2T,
    "pretrained_model_dir": UNUSED_IN_T2T,
    "encoder_full_attention": UNUSED_IN_T2T,  # attention_lm sets
    # universal_transformer_small_dropconnect: a kernel regularizer T2T never adds to the loss
    "dropconnect_dropout": UNUSED_IN_T2T,
    "sim_loss_mult": UNUSED_IN_T2T,  # slicenet_1 sets it; T2T's SliceNet never reads it
    "audio_compression": UNUSED_IN_T2T,  # slicenet_1 sets it; nothing reads it
    "print_vars": UNUSED_IN_T2T,  # evolved_transformer_tpu_basic adds it; nothing reads it
    # model families and features not here yet
    "compress_steps": NOT_HERE,
    "factored_logits": NOT_HERE,
    "video_num_input_frames": NOT_HERE,
    "video_num_target_frames": NOT_HERE,
    "num_area_layers": NOT_HERE,
    "max_area_height": NOT_HERE,  # area attention: 1-D (LSTM) only
    # VQ gating: T2T's bottleneck sets them; its vq path never reads them
    "noise_dev": UNUSED_IN_T2T,
    "bottleneck_kind": UNUSED_IN_T2T,
    "z_size": NOT_HERE,  # the codebook has one entry per expert (T2T rewrites z_size)
    "memory_height": NOT_HERE,
    # transformer_memory chunks the targets inside its forward pass, so there is no
    # pipeline to stride chunks across steps, nor a fixed number of memory rows to size
    "split_targets_strided_training": NOT_HERE,
    "recurrent_memory_batch_size": NOT_HERE,
    "gumbel_noise_weight": NOT_HERE,
    "hard_attention_k": NOT_HERE,
    "position_features": NOT_HERE,
    "proximity_bias": NOT_HERE,
    "heads_share_relative_embedding": NOT_HERE,  # dot_product_relative_v2 variants
    "add_relative_to_values": NOT_HERE,
    "nbr_decoder_problems": NOT_HERE,
    "overload_eval_metric_name": NOT_HERE,
    "force_full_predict": NOT_HERE,
    "eval_run_autoregressive": NOT_HERE,
    "warm_start_from_second": NOT_HERE,
    # attention_lm_moe: LSH-sparse and reduced attention (no registered set selects them)
    "lsh_num_hyperplanes": NOT_HERE,
    "lsh_use_map_fn": NOT_HERE,
    "attention_red_factor": NOT_HERE,
    "attention_reduction_type": NOT_HERE,
    "attention_nonlinearity": NOT_HERE,
    # attention_lm_moe: one attention call per sequence instead of a mask between them;
    # (a TF map_ids graph); the values are the same, t2t always masks
    "attention_split_batch": TF_GRAPH,
}

INERT_DECODE_HPARAMS: dict[str, str] = {
    "save_images": MEDIA,
    "display_decoded_images": MEDIA,
    "frames_per_second": MEDIA,
    "border_percent": MEDIA,
    "max_display_outputs": MEDIA,
    "max_display_decodes": MEDIA,
    "vgg_ckpt_path": MEDIA,
    "summaries_log_dir": TF_GRAPH,
    "log_results": TF_GRAPH,  # T2T logged every decode through tf.logging
    "decode_in_memory": TF_GRAPH,
    "decode_timeout_mins": CLUSTER,
    "shards": CLUSTER,  # split the input file and run one t2t-decoder per part instead
    "shard_id": CLUSTER,
    "shards_start_offset": CLUSTER,
    "shard_google_format": CLUSTER,
    "mlperf_decode_step": TPU,
    "mlperf_threshold": TPU,
    "mlperf_success": TPU,
    "eos_penalty": UNUSED_IN_T2T,
    "min_length_ratio": UNUSED_IN_T2T,
    "block_size": NOT_HERE,  # blockwise parallel decoding
    "guess_and_check_top_k": NOT_HERE,
    "guess_and_check_epsilon": NOT_HERE,
    "insertion_parallel": NOT_HERE,
    "force_decode_length": NOT_HERE,
    "identity_output": NOT_HERE,
    "export_extra_infer_outputs": NOT_HERE,
}

# Flags of T2T's commands that t2t accepts and ignores (name -> reason). t2t/bin/flags.py
# defines them with T2T's defaults.
INERT_FLAGS: dict[str, str] = {
    "tfdbg": TF_GRAPH,
    "dbgprofile": TF_GRAPH,
    "export_saved_model": TF_GRAPH,
    "export_saved_model_api_version": TF_GRAPH,
    "as_text": TF_GRAPH,  # t2t-exporter: SavedModel as text protobuf
    "enable_graph_rewriter": TF_GRAPH,
    "log_device_placement": TF_GRAPH,
    "inter_op_parallelism_threads": TF_GRAPH,
    "intra_op_parallelism_threads": TF_GRAPH,
    "use_guarantee_const_getter": TF_GRAPH,
    "disable_grappler_optimizations": TF_GRAPH,
    "profile": TF_GRAPH,
    "eval_throttle_seconds": ESTIMATOR,
    "use_tpu": TPU,
    "use_tpu_estimator": TPU,
    "tpu_num_shards": TPU,
    "tpu_job_name": TPU,
    "tpu_infeed_sleep_secs": TPU,
    "cloud_tpu_name": TPU,
    "xla_compile": TPU,
    "xla_jit_level": TPU,
    "master": CLUSTER,
    "std_server_protocol": CLUSTER,
    "sync": CLUSTER,
    "worker_job": CLUSTER,
    "worker_gpu": CLUSTER,
    "worker_replicas": CLUSTER,
    "worker_id": CLUSTER,
    "worker_gpu_memory_fraction": CLUSTER,
    "ps_gpu": CLUSTER,
    "ps_job": CLUSTER,
    "ps_replicas": CLUSTER,
    "gpu_order": CLUSTER,
    "optionally_use_dist_strat": CLUSTER,
    "cloud_mlengine": CLOUD,
    "cloud_mlengine_master_type": CLOUD,
    "cloud_mlengine_model_version": CLOUD,  # t2t-query-server
    "job-dir": CLOUD,
    "hparams_range": CLOUD,  # Cloud ML Engine hyperparameter tuning
    "autotune_objective": CLOUD,
    "autotune_maximize": CLOUD,
    "autotune_max_trials": CLOUD,
    "autotune_parallel_trials": CLOUD,
    "decode_shards": CLUSTER,
    "decode_in_memory": TF_GRAPH,
    "gpu_automatic_mixed_precision": DTYPE,
    "eval_run_autoregressive": NOT_HERE,
}

_TABLES = {
    "hparam": INERT_HPARAMS,
    "decode hparam": INERT_DECODE_HPARAMS,
    "flag": INERT_FLAGS,
}
_warned: set[tuple[str, str]] = set()


def reason(kind: str, name: str) -> str | None:
    """Why `name` (kind "hparam", "decode hparam" or "flag") has no effect; None if it acts."""
    return _TABLES[kind].get(name)


def warn_if_set(kind: str, name: str, value: Any, default: Any) -> bool:
    """Logs once per process and name that an inert `name` was set to a non-default value.

    Args:
        kind: "hparam", "decode hparam" or "flag".
        name: the hparam or flag name.
        value: the value the user gave.
        default: the value it would have had.

    Returns:
        True when `name` is inert and `value` differs from `default` (warned now or before).
    """
    why = reason(kind, name)
    if why is None or value == default:
        return False
    if (kind, name) not in _warned:
        _warned.add((kind, name))
        prefix = "--" if kind == "flag" else ""
        log.warning(
            "%s %s%s=%r has no effect in t2t (%s)", kind, prefix, name, value, why.split(": ", 1)[1]
        )
    return True


def warn_changed(kind: str, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """`warn_if_set` for every inert name whose value differs between `before` and `after`.

    Returns:
        The inert names that were changed.
    """
    return [
        name
        for name, value in after.items()
        if name in before and warn_if_set(kind, name, value, before[name])
    ]
