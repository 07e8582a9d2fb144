# ruff: noqa: UP031 - runs under the original's Python 3.7
"""Golden values of T2T 1.15.7's speech features, speech bottom and ASR metrics.

Run with the original's Python (see ../shared/t2t-original.md), from the repo root:

    /tmp/t2t-original/bin/python tests/golden/audio/make_audio_feature_goldens.py

It writes tests/golden/audio/audio_goldens.npz with, for three fixed waveforms (a sine
sweep, a chirp with low noise, a short tone; padded into one batch with zeros):
- `fbank_nomask` / `fbank_mask`: `common_audio.compute_mel_filterbank_features` with the
  problem's default audio_* values, dither 0, apply_mask False / True ([3, T, 80, 1]);
- `deltas_mask`: `common_audio.add_delta_deltas` of `fbank_mask` ([3, T, 80, 3]);
- `inputs_<i>`: `SpeechRecognitionProblem.preprocess_example` of waveform i alone (dither 0):
  per-utterance normalised filterbanks + 250 zero frames ([T_i + 250, 80, 3]);
- `bottom_out`, `bottom_normalized`: `modalities.speech_recognition_bottom` with
  audio_preproc_in_bottom on the padded batch (dither 0, hidden_size 16), its variables set to
  values drawn in order from np.random.RandomState(1).uniform(-0.2, 0.2) (+1 for layer norm
  scales; `var_names` lists the order); `bottom_normalized` is the input of its first pad;
- `ed_*` / `wer_*`: `metrics.sequence_edit_distance` and `metrics.word_error_rate` on fixed
  one-hot logits and labels.
"""

import os

import numpy as np
import tensorflow.compat.v1 as tf
from tensor2tensor.data_generators import speech_recognition
from tensor2tensor.layers import common_audio, modalities
from tensor2tensor.utils import hparam, metrics

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "audio_goldens.npz")
RATE = 16000


def waveforms():
    """Three deterministic waveforms of different lengths (float32 in [-1, 1])."""
    t1 = np.arange(4000) / RATE
    sweep = 0.5 * np.sin(2 * np.pi * (100 * t1 + 3000 * t1**2))
    t2 = np.arange(3123) / RATE
    noise = np.random.RandomState(0).uniform(-0.01, 0.01, size=t2.shape)
    chirp = 0.3 * np.sin(2 * np.pi * (400 + 2000 * t2) * t2) + noise
    t3 = np.arange(1501) / RATE
    tone = 0.25 * np.sin(2 * np.pi * 440 * t3) * np.hanning(len(t3))
    return [w.astype(np.float32) for w in (sweep, chirp, tone)]


def audio_hparams(preproc_in_bottom):
    return hparam.HParams(
        audio_preproc_in_bottom=preproc_in_bottom,
        audio_keep_example_waveforms=False,
        audio_sample_rate=RATE,
        audio_preemphasis=0.97,
        audio_dither=0.0,
        audio_frame_length=25.0,
        audio_frame_step=10.0,
        audio_lower_edge_hertz=20.0,
        audio_upper_edge_hertz=8000.0,
        audio_num_mel_bins=80,
        audio_add_delta_deltas=True,
        num_zeropad_frames=250,
        max_input_seq_length=0,
        max_target_seq_length=0,
        prepend_mode="none",
        split_to_length=0,
        hidden_size=16,
    )


def padded(waves):
    batch = np.zeros((len(waves), max(len(w) for w in waves)), np.float32)
    for i, w in enumerate(waves):
        batch[i, : len(w)] = w
    return batch


def fbank_kwargs(apply_mask):
    return dict(
        sample_rate=RATE,
        dither=0.0,
        preemphasis=0.97,
        frame_length=25.0,
        frame_step=10.0,
        lower_edge_hertz=20.0,
        upper_edge_hertz=8000.0,
        num_mel_bins=80,
        apply_mask=apply_mask,
    )


def metric_inputs():
    """Labels [3, 12] of byte ids (+2, EOS 1, pad 0) and predictions as one-hot logits."""

    def ids(text):
        return [ord(c) + 2 for c in text] + [1]

    refs = ["the cat sat", "a b c d", "hello world"]
    hyps = ["the bat sat on", "a c d", "hello world"]
    width = 16
    labels = np.zeros((3, width), np.int64)
    preds = np.zeros((3, width), np.int64)
    for i, (r, h) in enumerate(zip(refs, hyps)):
        labels[i, : len(ids(r))] = ids(r)
        preds[i, : len(ids(h))] = ids(h)
    preds[1, 8] = ord("z") + 2  # a character after EOS: WER keeps it, as T2T does
    logits = np.eye(258, dtype=np.float32)[preds]
    return labels, logits


def main():
    out = {}
    waves = waveforms()
    for i, w in enumerate(waves):
        out["wave_%d" % i] = w
    with tf.Graph().as_default() as graph:
        batch = tf.constant(padded(waves))
        nomask = common_audio.compute_mel_filterbank_features(batch, **fbank_kwargs(False))
        mask = common_audio.compute_mel_filterbank_features(batch, **fbank_kwargs(True))
        deltas = common_audio.add_delta_deltas(mask)
        problem = speech_recognition.SpeechRecognitionProblem()
        single = []
        for w in waves:
            example = {"waveforms": tf.constant(w), "targets": tf.constant([5, 1], tf.int64)}
            processed = problem.preprocess_example(example, "train", audio_hparams(False))
            single.append(processed["inputs"])
        bottom_in = tf.reshape(batch, [len(waves), -1, 1, 1])
        bottom = modalities.speech_recognition_bottom(bottom_in, audio_hparams(True), 256)
        normalized = graph.get_tensor_by_name("speech_recognition_modality/Pad:0").op.inputs[0]
        labels, logits = metric_inputs()
        lab4 = tf.constant(labels[:, :, None, None].astype(np.int32))
        log5 = tf.constant(logits[:, :, None, None, :])
        ed = metrics.sequence_edit_distance(log5, lab4)
        wer = metrics.word_error_rate(log5, lab4)
        rng = np.random.RandomState(1)
        names = []
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for var in tf.global_variables():
                value = rng.uniform(-0.2, 0.2, size=var.shape.as_list()).astype(np.float32)
                if "layer_norm_scale" in var.name:
                    value += 1.0
                var.load(value, sess)
                names.append(var.name[:-2])
            results = sess.run([nomask, mask, deltas, single, bottom, normalized, ed, wer])
    out["fbank_nomask"], out["fbank_mask"], out["deltas_mask"] = results[:3]
    for i, inputs in enumerate(results[3]):
        out["inputs_%d" % i] = inputs
    out["bottom_out"], out["bottom_normalized"] = results[4], results[5]
    out["var_names"] = np.array(names)
    out["metric_labels"], out["metric_logits"] = metric_inputs()
    out["ed_value"], out["ed_weight"] = np.float32(results[6][0]), np.float32(results[6][1])
    out["wer_value"], out["wer_weight"] = np.float32(results[7][0]), np.float32(results[7][1])
    np.savez_compressed(OUT, **out)
    for key in sorted(out):
        print(key, np.shape(out[key]))
    print("ed", results[6], "wer", results[7])


if __name__ == "__main__":
    main()
