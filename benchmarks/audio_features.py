"""Speech feature extraction speed: t2t's PyTorch features against the original T2T's TF ones.

Both compute T2T's speech features (log-mel filterbanks, 80 bins, deltas and delta-deltas,
normalisation; dither 0) of the same synthetic utterances, in two ways:

* pipeline: one utterance at a time, as the input pipeline's `preprocess_example` does
  (T2T: `SpeechRecognitionProblem.preprocess_example` in a TF session, fed utterance by
  utterance; t2t: `t2t.layers.audio.utterance_features`).
* batched: padded batches of `--batch` utterances, as the bottom does with
  `audio_preproc_in_bottom` (T2T: `compute_mel_filterbank_features(apply_mask=True)` +
  `add_delta_deltas`; t2t: `t2t.layers.audio.batch_features`, normalisation included).

The speed is utterance-seconds of audio per second of wall time (after one warm-up pass);
each implementation runs in its own process with the same number of threads. The driver
also compares the two implementations' features of the first utterance. The worker half
runs under the original's Python 3.7, so it avoids newer syntax.

    .venv/bin/python benchmarks/audio_features.py --original_python /tmp/t2t-original/bin/python
    .venv/bin/python benchmarks/audio_features.py --utterances 8 --quick   # a smoke run
"""

# ruff: noqa: UP031  (the worker half also runs under Python 3.7)
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
RATE = 16000


def make_utterances(path, count, seed, min_seconds, max_seconds):
    """Writes `count` synthetic utterances (chirps + noise, int16 steps) to an .npz file."""
    rng = np.random.RandomState(seed)
    arrays = {}
    for i in range(count):
        n = int(rng.uniform(min_seconds, max_seconds) * RATE)
        t = np.arange(n) / RATE
        f0 = rng.uniform(100, 300)
        wave = 0.3 * np.sin(2 * np.pi * (f0 + 400 * np.sin(2 * np.pi * 0.5 * t)) * t)
        wave += rng.normal(0, 0.01, n)
        arrays["u%05d" % i] = (np.round(wave * 32767) / 32767).astype(np.float32)
    np.savez(path, **arrays)


def _load(path):
    data = np.load(path)
    return [data[k] for k in sorted(data.files)]


def _batches(waves, size):
    for start in range(0, len(waves), size):
        chunk = waves[start : start + size]
        batch = np.zeros((len(chunk), max(len(w) for w in chunk)), np.float32)
        for i, w in enumerate(chunk):
            batch[i, : len(w)] = w
        yield batch


def _timed(run_all):
    run_all()  # warm-up (graph building, kernel caches)
    start = time.time()
    run_all()
    return time.time() - start


def _worker_ours(args, waves):
    sys.path.insert(0, _ROOT)
    import torch

    from t2t.layers import audio

    torch.set_num_threads(args.threads)
    device = args.device
    config = audio.AudioFeatureConfig(dither=0.0)
    tensors = [torch.from_numpy(w).to(device) for w in waves]
    batches = [torch.from_numpy(b).to(device) for b in _batches(waves, args.batch)]
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    def pipeline():
        with torch.no_grad():
            for w in tensors:
                audio.utterance_features(w, config)
        sync()

    def batched():
        with torch.no_grad():
            for b in batches:
                audio.batch_features(b, config)
        sync()

    first = audio.utterance_features(tensors[0], config).cpu().numpy()
    return {"pipeline": _timed(pipeline), "batched": _timed(batched)}, first


def _worker_original(args, waves):
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    import tensorflow.compat.v1 as tf
    from tensor2tensor.data_generators import speech_recognition
    from tensor2tensor.layers import common_audio
    from tensor2tensor.utils import hparam

    hp = hparam.HParams(
        audio_preproc_in_bottom=False, audio_keep_example_waveforms=False,
        audio_sample_rate=RATE, audio_preemphasis=0.97, audio_dither=0.0,
        audio_frame_length=25.0, audio_frame_step=10.0, audio_lower_edge_hertz=20.0,
        audio_upper_edge_hertz=8000.0, audio_num_mel_bins=80, audio_add_delta_deltas=True,
        num_zeropad_frames=250, max_input_seq_length=0, max_target_seq_length=0,
        prepend_mode="none", split_to_length=0)  # fmt: skip
    config = tf.ConfigProto(
        intra_op_parallelism_threads=args.threads, inter_op_parallelism_threads=args.threads
    )
    with tf.Graph().as_default(), tf.Session(config=config) as sess:
        one = tf.placeholder(tf.float32, [None])
        example = {"waveforms": one, "targets": tf.constant([5, 1], tf.int64)}
        problem = speech_recognition.SpeechRecognitionProblem()
        inputs = problem.preprocess_example(example, "train", hp)["inputs"]
        many = tf.placeholder(tf.float32, [None, None])
        fbanks = common_audio.compute_mel_filterbank_features(
            many, sample_rate=RATE, dither=0.0, preemphasis=0.97, frame_length=25.0,
            frame_step=10.0, lower_edge_hertz=20.0, upper_edge_hertz=8000.0, num_mel_bins=80,
            apply_mask=True)  # fmt: skip
        deltas = common_audio.add_delta_deltas(fbanks)
        batches = list(_batches(waves, args.batch))

        def pipeline():
            for w in waves:
                sess.run(inputs, {one: w})

        def batched():
            for b in batches:
                sess.run(deltas, {many: b})

        first = sess.run(inputs, {one: waves[0]})
        return {"pipeline": _timed(pipeline), "batched": _timed(batched)}, first


def worker(args):
    waves = _load(args.audio)
    run = _worker_original if args.impl == "original" else _worker_ours
    seconds, first = run(args, waves)
    np.save(args.first, first)
    audio_seconds = sum(len(w) for w in waves) / float(RATE)
    result = {"impl": args.impl, "device": args.device, "audio_seconds": audio_seconds}
    for mode, wall in seconds.items():
        result[mode] = {"wall_seconds": wall, "utterance_seconds_per_second": audio_seconds / wall}
    print(json.dumps(result))


def _run_worker(python, impl, args, workdir, device):
    first = os.path.join(workdir, "first_%s_%s.npy" % (impl, device.replace(":", "")))
    cmd = [python, os.path.abspath(__file__), "--worker", "--impl", impl, "--audio",
           os.path.join(workdir, "audio.npz"), "--first", first, "--threads", str(args.threads),
           "--batch", str(args.batch), "--device", device]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=_ROOT if impl == "ours" else "")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit("%s worker failed:\n%s" % (impl, out.stderr[-3000:]))
    return json.loads(out.stdout.strip().splitlines()[-1]), np.load(first)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--original_python", default="/tmp/t2t-original/bin/python")
    parser.add_argument("--utterances", type=int, default=64)
    parser.add_argument("--min_seconds", type=float, default=2.0)
    parser.add_argument("--max_seconds", type=float, default=15.0)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cuda", action="store_true", help="also time t2t on cuda:0")
    parser.add_argument("--quick", action="store_true", help="short utterances: a smoke run")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--impl", default="ours", help=argparse.SUPPRESS)
    parser.add_argument("--audio", help=argparse.SUPPRESS)
    parser.add_argument("--first", help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    workdir = args.workdir or tempfile.mkdtemp(prefix="audio_bench_")
    os.makedirs(workdir, exist_ok=True)
    lo, hi = (0.5, 1.0) if args.quick else (args.min_seconds, args.max_seconds)
    make_utterances(os.path.join(workdir, "audio.npz"), args.utterances, args.seed, lo, hi)
    results = {}
    original = args.original_python
    results["original"], theirs = _run_worker(original, "original", args, workdir, "cpu")
    results["ours"], ours = _run_worker(sys.executable, "ours", args, workdir, "cpu")
    if args.cuda:
        results["ours_cuda"], _ = _run_worker(sys.executable, "ours", args, workdir, "cuda:0")
    diff = np.abs(ours.astype(np.float64) - theirs)
    summary = {
        "utterances": args.utterances,
        "audio_seconds": results["ours"]["audio_seconds"],
        "threads": args.threads,
        "batch": args.batch,
        "first_utterance_max_abs_diff": float(diff.max()),
        "first_utterance_mean_abs_diff": float(diff.mean()),
    }
    for mode in ("pipeline", "batched"):
        base = results["original"][mode]["utterance_seconds_per_second"]
        for name in [n for n in ("ours", "ours_cuda") if n in results]:
            speed = results[name][mode]["utterance_seconds_per_second"]
            summary["%s_%s_speedup" % (name, mode)] = speed / base
    print(json.dumps({"results": results, "summary": summary}, indent=1))


if __name__ == "__main__":
    main()
