#!/usr/bin/env bash
# The life of a T2T experiment on a small built-in problem, on CPU in a few minutes:
# generate data, train transformer_tiny, decode a file, score it with BLEU.
#
#   bash examples/quickstart.sh [work_dir]      (default: ./t2t_quickstart)
#
# reverse_sequence_small: reverse a sequence of 4..16 symbols (vocabulary of 64). Its dev
# set has the training distribution, so per-sequence accuracy measures learning, not
# length generalisation.
set -euo pipefail

WORK=${1:-./t2t_quickstart}
PROBLEM=reverse_sequence_small
DATA=$WORK/data
TRAIN=$WORK/train
mkdir -p "$WORK"

t2t-datagen --problem=$PROBLEM --data_dir="$DATA" --tmp_dir="$WORK/tmp"

# transformer_tiny as registered, with settings for a short run on a 2-core CPU: batches
# of 1024 tokens, no dropout (the data is unlimited), and a warmup + cosine schedule that
# decays to zero at --train_steps (T2T's single_cycle_cos_decay factor).
t2t-trainer --problem=$PROBLEM --model=transformer --hparams_set=transformer_tiny \
  --hparams="batch_size=1024,layer_prepostprocess_dropout=0,attention_dropout=0,\
relu_dropout=0,learning_rate_schedule=constant*linear_warmup*single_cycle_cos_decay,\
learning_rate_constant=0.004,learning_rate_warmup_steps=300" \
  --data_dir="$DATA" --output_dir="$TRAIN" \
  --train_steps=1500 --local_eval_frequency=500 --eval_steps=0 --random_seed=1

# Decode the dev set with beam search (writes T2T's .decodes/.targets/.inputs files and
# prints per-sequence accuracy), then score the decodes with T2T's BLEU.
t2t-decoder --output_dir="$TRAIN" --decode_hparams="beam_size=4,alpha=0.6" \
  --decode_to_file="$WORK/dev"
DECODES=$WORK/dev.transformer.transformer_tiny.$PROBLEM.beam4.alpha0.6
t2t-bleu --translation="$DECODES.decodes" --reference="$DECODES.targets"

# The same model from Python:
python -c "import t2t; m = t2t.load('$TRAIN'); print(m.decode(['sym_1 sym_2 sym_3 sym_4']))"
