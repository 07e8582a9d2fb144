"""Writes text_problems_golden.json: what the ORIGINAL T2T 1.15.7 t2t-datagen writes for the
translate / LM / sentiment / summarisation problems, given the tiny archives of the
end-to-end tests (tests/problems/test_translate.py, test_lm.py, test_imdb_cnn.py).

How (run from the repository root, with the original installed in /tmp/t2t-original):

    .venv/bin/python tests/golden/problems/make_text_problems_golden.py

1. The end-to-end tests run once (pytest, in a scratch --basetemp) only to write their
   archives into each test's tmp_dir; their own result is ignored here.
2. For every test directory, the downloaded files (archives, url lists, the LM1B vocab)
   are copied into a fresh tmp_dir and `/tmp/t2t-original/bin/t2t-datagen --problem=P
   --data_dir=D --tmp_dir=T` runs on them (it skips downloads of files that exist). Two
   of the original's own quirks need help: it extracts the LM1B tarball only right after
   downloading it (so the extracted corpus is copied too), and its tsv glob raises
   NotFoundError on a directory that does not exist yet (translate_encs_wmt32k: an empty
   `data.plaintext-format/` is created first).
3. The original's data dir is digested with `digest_data_dir` of tests/problems/conftest.py
   (sha256 of vocab files; of the decoded examples of each shard, and of each split).
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
ORIGINAL_DATAGEN = "/tmp/t2t-original/bin/t2t-datagen"
TESTS = ["tests/problems/test_translate.py", "tests/problems/test_lm.py",
         "tests/problems/test_imdb_cnn.py"]  # fmt: skip
DOWNLOADS = ("all_train.txt", "all_val.txt", "all_test.txt", "vocab-2016-09-10.txt.en")
ARCHIVES = (".tgz", ".tar", ".tar.gz", ".zip")
LM1B_DIR = "1-billion-word-language-modeling-benchmark-r13output"


def _conftest():
    path = os.path.join(ROOT, "tests", "problems", "conftest.py")
    spec = importlib.util.spec_from_file_location("problems_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _problem_of(data_dir):
    names = {n.split("-train-")[0] for n in os.listdir(data_dir) if "-train-" in n}
    assert len(names) == 1, names
    return names.pop()


def _original_inputs(test_tmp, work_tmp):
    os.makedirs(work_tmp)
    for name in os.listdir(test_tmp):
        path = os.path.join(test_tmp, name)
        if os.path.isfile(path) and (name.endswith(ARCHIVES) or name in DOWNLOADS):
            shutil.copy(path, os.path.join(work_tmp, name))
    if os.path.isdir(os.path.join(test_tmp, LM1B_DIR)):
        shutil.copytree(os.path.join(test_tmp, LM1B_DIR), os.path.join(work_tmp, LM1B_DIR))
    if os.path.exists(os.path.join(work_tmp, "data-plaintext-format.tar")):
        os.makedirs(os.path.join(work_tmp, "data.plaintext-format"))


def main():
    conftest = _conftest()
    scratch = tempfile.mkdtemp(prefix="t2t_text_golden_")
    base = os.path.join(scratch, "pytest")
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    f"--basetemp={base}", *TESTS], cwd=ROOT)  # fmt: skip
    golden = {}
    for test_dir in sorted(os.listdir(base)):
        data_dir = os.path.join(base, test_dir, "data")
        if test_dir.endswith("current") or not os.path.isdir(data_dir):
            continue
        problem = _problem_of(data_dir)
        work = os.path.join(scratch, "original", problem)
        _original_inputs(os.path.join(base, test_dir, "tmp"), os.path.join(work, "tmp"))
        subprocess.run([ORIGINAL_DATAGEN, f"--problem={problem}", f"--data_dir={work}/data",
                        f"--tmp_dir={work}/tmp"], check=True, capture_output=True)  # fmt: skip
        golden[problem] = conftest.digest_data_dir(os.path.join(work, "data"), problem)
        print(problem, len(golden[problem]["shards"]), "shards", golden[problem]["vocab"])
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "text_problems_golden.json")
    with open(out, "w") as f:
        json.dump(golden, f, indent=1, sort_keys=True)
        f.write("\n")
    shutil.rmtree(scratch)
    print("wrote", out, len(golden), "problems")


if __name__ == "__main__":
    main()
