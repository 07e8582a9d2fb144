"""A small spoken corpus made on this machine with espeak-ng, for an end-to-end ASR result.

Needs the Debian package espeak-ng (`apt-get install -y espeak-ng`). It writes, into --out:

* `wavs/<phrase>_<voice>_<speed>.wav`: each phrase spoken by several voices at several
  speeds (espeak-ng's 22.05 kHz; datagen resamples to 16 kHz);
* `train.tsv`, `dev.tsv`, `test.tsv`: `path<TAB>TRANSCRIPT` manifests, the layout of a
  `SpeechRecognitionProblem`'s --tmp_dir. The split is BY PHRASE: a held-out phrase is never
  heard in training, in any voice. dev and test hold the same held-out phrases (dev with
  every voice, for the trainer's eval; test with every voice too, for the decoder);
* `test_audio.txt` / `test_ref.txt`: the test files' paths and transcripts, one a line, for
  `t2t-decoder --decode_from_file=test_audio.txt --decode_reference=test_ref.txt`;
* `usr_dir/`: a --t2t_usr_dir registering the problem `espeak_speech` over these manifests
  and `transformer_espeak`, a small Transformer ASR set for a CPU.

Phrases are short sentences from a small grammar (colour + animal + verb + place), made
deterministically from --seed. Then, for example:

    python benchmarks/speech_corpus.py --out /tmp/espeak --phrases 300
    t2t-datagen --t2t_usr_dir=/tmp/espeak/usr_dir --problem=espeak_speech \\
        --tmp_dir=/tmp/espeak --data_dir=/tmp/espeak/data
    t2t-trainer --t2t_usr_dir=/tmp/espeak/usr_dir --problem=espeak_speech \\
        --model=transformer --hparams_set=transformer_espeak \\
        --data_dir=/tmp/espeak/data --output_dir=/tmp/espeak/train --train_steps=2000
    t2t-decoder --t2t_usr_dir=/tmp/espeak/usr_dir --output_dir=/tmp/espeak/train \\
        --decode_from_file=/tmp/espeak/test_audio.txt --decode_reference=/tmp/espeak/test_ref.txt \\
        --decode_to_file=/tmp/espeak/test.decodes --decode_hparams=beam_size=4,alpha=0.6
"""

import argparse
import os
import random
import shutil
import subprocess

COLOURS = "red green blue yellow black white brown grey pink orange".split()
ANIMALS = "cat dog horse bird fish mouse sheep goat lion bear frog duck".split()
VERBS = "runs sleeps sits jumps waits eats swims hides sings walks".split()
PLACES = [
    "in the house", "on the hill", "by the river", "under the tree", "near the road",
    "in the garden", "at the farm", "on the boat", "in the snow", "by the door",
]  # fmt: skip
VOICES = ["en-us+m3", "en-us+f2", "en-gb+m7", "en-gb+f4", "en-gb-scotland+m1", "en-gb-x-rp+f3"]
SPEEDS = [140, 175]

USR_DIR_CODE = '''"""The espeak-ng corpus of benchmarks/speech_corpus.py as a speech problem."""

from t2t import registry
from t2t.models.transformer_librispeech_hparams import transformer_librispeech_v1
from t2t.problems.speech_recognition import SpeechRecognitionProblem


@registry.register_problem
class EspeakSpeech(SpeechRecognitionProblem):
    """Phrases spoken by espeak-ng; train/dev/test manifests in --tmp_dir, split by phrase."""

    num_train_shards = 4


@registry.register_hparams
def transformer_espeak():
    """transformer_librispeech_v1 made small for a CPU: 3 + 2 layers of 128, 4 heads.

    No zero frames after each utterance (T2T appends 250, half of a short utterance's
    convolution work), and a peak learning rate of 0.0014 (learning_rate_constant 0.5,
    warmup 1000) for batches of about 25 utterances.
    """
    hparams = transformer_librispeech_v1()
    hparams.hidden_size = 128
    hparams.filter_size = 512
    hparams.num_heads = 4
    hparams.num_encoder_layers = 3
    hparams.num_decoder_layers = 2
    hparams.batch_size = 600000  # frames x 80 mel bins: about 25 utterances of 2-3 s
    hparams.learning_rate_constant = 0.5
    hparams.learning_rate_warmup_steps = 1000
    hparams.add_hparam("num_zeropad_frames", 0)
    return hparams
'''


def make_phrases(count, seed):
    """`count` distinct upper-case phrases "THE RED CAT RUNS IN THE HOUSE"."""
    rng = random.Random(seed)
    phrases = set()
    while len(phrases) < count:
        words = ["the", rng.choice(COLOURS), rng.choice(ANIMALS), rng.choice(VERBS)]
        if rng.random() < 0.7:
            words.append(rng.choice(PLACES))
        phrases.add(" ".join(words).upper())
    return sorted(phrases)


def speak(text, voice, speed, path):
    """espeak-ng speaks `text` into the wav file `path`."""
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-w", path, text.lower()],
        check=True,
        capture_output=True,
    )


def write_split(out, name, phrases, voices, speeds):
    rows = []
    for index, text in phrases:
        for voice in voices:
            for speed in speeds:
                tag = voice.replace("+", "_")
                rel = os.path.join("wavs", f"p{index:04d}_{tag}_{speed}.wav")
                path = os.path.join(out, rel)
                if not os.path.exists(path):
                    speak(text, voice, speed, path)
                rows.append((rel, text))
    with open(os.path.join(out, name + ".tsv"), "w", encoding="utf-8") as f:
        f.writelines(f"{path}\t{text}\n" for path, text in rows)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--phrases", type=int, default=300)
    parser.add_argument("--test_fraction", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is not installed: apt-get install -y espeak-ng")
    os.makedirs(os.path.join(args.out, "wavs"), exist_ok=True)
    phrases = list(enumerate(make_phrases(args.phrases, args.seed)))
    random.Random(args.seed).shuffle(phrases)
    held_out = max(1, int(round(len(phrases) * args.test_fraction)))
    test, train = sorted(phrases[:held_out]), sorted(phrases[held_out:])
    train_rows = write_split(args.out, "train", train, VOICES, SPEEDS)
    write_split(args.out, "dev", test, VOICES, SPEEDS)
    test_rows = write_split(args.out, "test", test, VOICES, SPEEDS)
    with open(os.path.join(args.out, "test_audio.txt"), "w", encoding="utf-8") as f:
        f.writelines(os.path.join(os.path.abspath(args.out), rel) + "\n" for rel, _ in test_rows)
    with open(os.path.join(args.out, "test_ref.txt"), "w", encoding="utf-8") as f:
        f.writelines(text + "\n" for _, text in test_rows)
    usr_dir = os.path.join(args.out, "usr_dir")
    os.makedirs(usr_dir, exist_ok=True)
    with open(os.path.join(usr_dir, "__init__.py"), "w") as f:
        f.write(USR_DIR_CODE)
    print(
        f"{len(phrases)} phrases ({len(train)} train, {len(test)} held out) x {len(VOICES)} "
        f"voices x {len(SPEEDS)} speeds: {len(train_rows)} train and {len(test_rows)} test "
        f"utterances in {args.out}"
    )


if __name__ == "__main__":
    main()
