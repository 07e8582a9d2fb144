"""T2T's modality type names: the values of `problem_hparams.modality`, defined once.

Each value is the key under which a modality registers (`registry.register_modality`).
Types whose modules are not written yet (image, audio, video) are listed too, so problems
can name them; looking one up gives a clear "not registered" error until its module exists.
"""


class ModalityType:
    """T2T's modality type strings (`tensor2tensor.layers.modalities.ModalityType`)."""

    AUDIO = "audio"
    AUDIO_SPECTRAL = "audio_spectral"
    CLASS_LABEL = "class_label"
    CTC_SYMBOL = "ctc_symbol"  # symbol with a CTC loss
    GENERIC_L2_LOSS = "generic_l2"  # identity with an L2 loss
    IDENTITY = "identity"  # identity bottom and top
    IDENTITY_SYMBOL = "identity_symbol"  # symbol loss and weights, identity bottom and top
    IMAGE = "image"
    IMAGE_CHANNEL_BOTTOM_IDENTITY = "image_channel_bottom_identity"
    IMAGE_CHANNEL_COMPRESS = "image_channel_compress"
    IMAGE_CHANNEL_EMBEDDINGS_BOTTOM = "image_channel_embeddings_bottom"
    MULTI_LABEL = "multi_label"
    ONE_HOT_CLASS_LABEL = "one_hot_class_label"
    REAL = "real"
    REAL_L2_LOSS = "real_l2"
    REAL_LOG_POISSON_LOSS = "real_log_poisson"
    SIGMOID_CLASS_LABEL = "sigmoid_class_label"
    SIGMOID_MAX_POOLING_CLASS_LABEL = "sigmoid_max_pooling_class_label"
    SOFTMAX_AVERAGE_POOLING_CLASS_LABEL = "softmax_average_pooling_class_label"
    SOFTMAX_LAST_TIMESTEP_CLASS_LABEL = "softmax_last_timestep_class_label"
    SOFTMAX_MAX_POOLING_CLASS_LABEL = "softmax_max_pooling_class_label"
    SPEECH_RECOGNITION = "speech_recognition"
    SYMBOL = "symbol"
    SYMBOL_WEIGHTS_ALL = "symbol_weights_all"  # symbol for features without 0-padding
    SYMBOL_ONE_HOT = "symbol_one_hot"  # one-hot vectors as embeddings
    VIDEO = "video"
    VIDEO_BITWISE = "video_bitwise"
    VIDEO_IDENTITY = "video_identity"
    VIDEO_L1 = "video_l1"
    VIDEO_L2 = "video_l2"
    VIDEO_L1_RAW = "video_l1_raw"
    VIDEO_L2_RAW = "video_l2_raw"
    VIDEO_PIXEL_NOISE = "video_pixel_noise"

    @staticmethod
    def get_choices() -> list[str]:
        """Every type name, as T2T's `ModalityType.get_choices()`."""
        return sorted(
            value
            for name, value in vars(ModalityType).items()
            if name.isupper() and isinstance(value, str)
        )
