"""t2t-decoder on a MultiProblem's dev set: each task's dev examples, prompted by its id.

A MultiProblem model is one language model over the shared vocabulary; its training
examples are `inputs ++ task_id ++ targets`. Decoding a task means ending the inputs with
that task's id and letting the model continue. The dev set of the mixture is therefore
decoded task by task: every task with inputs (or only the one chosen with the decode hparam
`multiproblem_task_id`), each into T2T's .decodes/.targets/.inputs files named after the
task, with its per-sequence accuracy and BLEU. A task without inputs (a plain language
model) has nothing to prompt with and is skipped with a note.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from t2t.decode import decoding
from t2t.errors import T2TError
from t2t.hparams import copy_hparams


def chosen_tasks(problem: Any, multiproblem_task_id: int) -> list:
    """The tasks to decode: the one with `multiproblem_task_id`, else every task with inputs.

    Raises:
        T2TError: no task has that id, the chosen task has no inputs, or no task has any.
    """
    tasks = problem.task_list
    if multiproblem_task_id >= 0:
        match = [task for task in tasks if task.task_id == multiproblem_task_id]
        if not match:
            listed = ", ".join(f"{task.task_id} ({task.name})" for task in tasks)
            raise T2TError(
                f"multiproblem_task_id={multiproblem_task_id} is not a task of "
                f"{problem.name}; its task ids: {listed}"
            )
        if not match[0].has_inputs:
            raise T2TError(
                f"{match[0].name} (task id {multiproblem_task_id}) has no inputs, so its dev "
                "set has no prompts; decode a language-model task with --decode_from_file"
            )
        return match
    with_inputs = [task for task in tasks if task.has_inputs]
    if not with_inputs:
        raise T2TError(f"{problem.name}: no task has inputs, so its dev set has no prompts")
    return with_inputs


def task_dev_examples(loaded: Any, task: Any, data_dir: str, num_samples: int) -> tuple:
    """(prompt ids [inputs ++ task id] per example, target ids) of a task's dev set, as the
    MultiProblem normalises them for inference (class labels spelled as in training)."""
    problem, encoder = loaded.problem, loaded.encoders["targets"]
    prompts, targets = [], []
    for i, example in enumerate(task.dataset("eval", data_dir=data_dir)):
        if 0 <= num_samples <= i:
            break
        normal = problem.normalize_example(task, example, encoder, loaded.hparams, True)
        prompts.append(np.asarray(normal["inputs"], dtype=np.int64).reshape([-1]))
        targets.append(np.asarray(normal["targets"], dtype=np.int64).reshape([-1]).tolist())
    return prompts, targets


def decode_multi_problem_dev_set(
    loaded: Any, hp: Any, run: dict, output_dir: str, base: str = ""
) -> None:
    """Decodes each chosen task's dev examples into its own T2T files; prints the metrics.

    Args:
        loaded: the loaded run (`t2t.decode.api.Loaded`) of a MultiProblem model.
        hp: decode hparams (`multiproblem_task_id` picks one task; -1: every task with inputs).
        run: the run's names (model, hparams_set, data_dir).
        output_dir: the run directory (default place of the files).
        base: --decode_to_file, the files' stem ("" : <output_dir>/decode).
    """
    from t2t.bin import t2t_decoder  # the command this serves (imported when it runs)
    from t2t.data.output_paths import check_output_file

    data_dir = os.path.expanduser(run["data_dir"])
    encoder = loaded.encoders["targets"]
    tasks = chosen_tasks(loaded.problem, hp.multiproblem_task_id)
    for task in loaded.problem.task_list:
        if task not in tasks and hp.multiproblem_task_id < 0:
            print(f"{task.name}: no inputs to prompt with (a language-model task); skipped")
    for task in tasks:
        prompts, target_ids = task_dev_examples(loaded, task, data_dir, hp.num_samples)
        decodes = decoding.default_output_filename(
            base or os.path.join(output_dir, "decode"),
            run["model"], run["hparams_set"], task.name, hp.beam_size, hp.alpha,
        )  # fmt: skip
        check_output_file(decodes)
        task_hp = copy_hparams(hp)
        task_hp.multiproblem_task_id = task.task_id
        lines = [str(i) for i in range(len(prompts))]
        make_inputs = t2t_decoder._features_batch_fn(prompts)  # zero-padded id rows
        outputs = t2t_decoder._decode_lines(loaded, lines, task_hp, make_inputs=make_inputs)
        targets = [encoder.decode(decoding.cut_at_eos(ids)) for ids in target_ids]
        inputs = [encoder.decode([int(i) for i in ids[:-1]]) for ids in prompts]
        _, exact, bleu = t2t_decoder.write_dev_decodes(decodes, outputs, inputs, targets, hp)
        print(
            f"{task.name} (task id {task.task_id}): decoded {len(targets)} dev examples into "
            f"{decodes}; per-sequence accuracy: {100 * exact:.2f}%  BLEU (cased): {100 * bleu:.2f}"
        )
