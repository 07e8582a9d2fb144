"""Translate problems end to end on tiny archives with the real corpora's layout.

For each registered problem: the archives T2T downloads (same file names, same members:
see the data spec, 4.1-4.2) are written into tmp_dir, where `maybe_download` finds them
(one test instead downloads them from a local HTTP server); `generate_data` then compiles
the corpora, builds the vocabulary from the sampled training files, writes the shards and
shuffles them. The test checks the shard names, that shard k holds exactly the pairs
k, k + n, ... of the compiled corpus (round-robin, then shuffled within the shard), the
vocabulary file and the lines it was built from, and that the pipeline batches the data.
Vocabularies and shards must also equal what the ORIGINAL T2T 1.15.7 t2t-datagen wrote
from the same archives (digests in golden/problems/text_problems_golden.json; how they
were made: golden/problems/make_text_problems_golden.py).
"""

import glob
import os
import random

import pytest

from t2t import registry
from t2t.data import text_encoder
from t2t.hparams import basic_params1
from t2t.problems import pipeline, translate_wmt

SEED = 429459  # t2t-datagen seeds python's RNG with this before generating


@pytest.fixture(autouse=True)
def _kit(kit):
    # The helpers of conftest.py, as a module global for the builders below.
    global KIT
    KIT = kit


KIT = None


def _pairs(lang, seed, n, blank_at=None):
    """n (en, xx) lines; the en side of pair `blank_at` is empty (such pairs are dropped)."""
    en = KIT.make_sentences("en", n, seed)
    xx = KIT.make_sentences(lang, n, seed)
    if blank_at is not None:
        en[blank_at] = ""
    return en, xx


def _add_pair(members, files, name_en, name_xx, en, xx):
    members[name_en], members[name_xx] = en, xx
    files[name_en], files[name_xx] = en, xx


def wmt_mirror(tmp_dir, langs=("de", "fr", "cs", "zh")) -> dict:
    """Writes T2T's WMT archives (nc-v13, CommonCrawl, Europarl v7, dev.tgz) into tmp_dir.

    Like the real archives, each holds several language pairs. Returns {member: lines}.
    """
    files = {}
    nc, cc, ep, dev = {}, {}, {}, {}
    for i, lang in enumerate(langs):
        base = f"training-parallel-nc-v13/news-commentary-v13.{lang}-en"
        _add_pair(nc, files, base + ".en", base + f".{lang}", *_pairs(lang, 10 + i, 60))
        if lang == "zh":
            continue
        _add_pair(cc, files, f"commoncrawl.{lang}-en.en", f"commoncrawl.{lang}-en.{lang}",
                  *_pairs(lang, 20 + i, 50, blank_at=3))  # fmt: skip
        base = f"training/europarl-v7.{lang}-en"
        _add_pair(ep, files, base + ".en", base + f".{lang}", *_pairs(lang, 30 + i, 40))
        en, xx = _pairs(lang, 40 + i, 9)
        dev["dev/newstest2013.en"] = files["dev/newstest2013.en"] = en  # one en for all
        dev[f"dev/newstest2013.{lang}"] = files[f"dev/newstest2013.{lang}"] = xx
    nc["training-parallel-nc-v13/README"] = "news commentary v13\n"
    KIT.write_archive(tmp_dir / "training-parallel-nc-v13.tgz", nc)
    if cc:
        KIT.write_archive(tmp_dir / "training-parallel-commoncrawl.tgz", cc)
        KIT.write_archive(tmp_dir / "training-parallel-europarl-v7.tgz", ep)
    if "zh" in langs:  # WMT18's dev.tgz (same basename as WMT17's) has the SGM dev sets
        en, zh = _pairs("zh", 50, 7)
        files["zh-dev"] = (en, zh)
        dev["dev/newsdev2017-enzh-src.en.sgm"] = _sgm("srcset", "en", en)
        dev["dev/newsdev2017-enzh-ref.zh.sgm"] = _sgm("refset", "zh", zh)
    KIT.write_archive(tmp_dir / "dev.tgz", dev)
    return files


def _sgm(kind, lang, lines):
    """A WMT SGM file: set/doc header lines and one `<seg id=..>` line per sentence."""
    out = [f'<{kind} setid="newsdev2017" srclang="any" trglang="{lang}">',
           '<doc sysid="ref" docid="1" genre="news" origlang="zh">']  # fmt: skip
    out += [f'<seg id="{i + 1}">{line}</seg>' for i, line in enumerate(lines)]
    return out + ["</doc>", f"</{kind}>"]


def pairs_of(files, names):
    """The (source, target) pairs T2T compiles from these file pairs (both sides non-empty)."""
    out = []
    for name_en, name_xx in names:
        out += [(a, b) for a, b in zip(files[name_en], files[name_xx]) if a and b]
    return out


def check_problem(
    problem, data_dir, train_pairs, dev_pairs, num_train_shards, vocab_files, directory_order=False
):
    """Shard names, round-robin contents, the vocab files, batches through the pipeline, and
    the same vocab and shards as the original t2t-datagen wrote from these archives."""
    KIT.check_original_golden(problem.name, data_dir, directory_order)
    listing = sorted(os.listdir(data_dir))
    assert [p for p in listing if p.startswith("vocab.")] == vocab_files
    encoders = problem.get_feature_encoders(data_dir)

    def pair(ex):
        assert ex["inputs"][-1] == 1 and ex["targets"][-1] == 1  # EOS appended
        inputs = encoders["inputs"].decode(ex["inputs"][:-1])
        return inputs, encoders["targets"].decode(ex["targets"][:-1])

    train = KIT.read_shards(problem, data_dir, "train", num_train_shards)
    KIT.assert_round_robin(train, train_pairs, pair)
    KIT.assert_round_robin(KIT.read_shards(problem, data_dir, "dev", 1), dev_pairs, pair)

    hp = basic_params1()
    hp.batch_size = 256
    rows = []
    for batch in pipeline.make_batches(problem, "eval", hp, data_dir):
        assert batch["inputs"].dim() == 2 and batch["targets"].dim() == 2
        rows += [pair({k: r[r != 0].tolist() for k, r in (("inputs", i), ("targets", t))})
                 for i, t in zip(batch["inputs"], batch["targets"])]  # fmt: skip
    assert sorted(rows) == sorted(dev_pairs)
    batch = next(iter(pipeline.make_batches(problem, "train", hp, data_dir, seed=0)))
    vocab_size = problem.get_hparams(hp).vocab_size["targets"]
    assert 0 < batch["targets"].shape[0] and int(batch["targets"].max()) < vocab_size


ENDE_TRAIN = [
    ("training-parallel-nc-v13/news-commentary-v13.de-en.en",
     "training-parallel-nc-v13/news-commentary-v13.de-en.de"),
    ("commoncrawl.de-en.en", "commoncrawl.de-en.de"),
    ("training/europarl-v7.de-en.en", "training/europarl-v7.de-en.de"),
]  # fmt: skip


@pytest.mark.parametrize(
    "name, vocab_file",
    [
        ("translate_ende_wmt8k", "vocab.translate_ende_wmt8k.8192.subwords"),
        ("translate_ende_wmt32k", "vocab.translate_ende_wmt32k.32768.subwords"),
        ("translate_ende_wmt_characters", None),
    ],
)
def test_translate_ende(name, vocab_file, tmp_path):
    tmp_dir, data_dir = tmp_path / "tmp", str(tmp_path / "data")
    files = wmt_mirror(tmp_dir, langs=("de", "fr"))
    problem = registry.problem(name)
    random.seed(SEED)
    problem.generate_data(data_dir, str(tmp_dir))
    dev = pairs_of(files, [("dev/newstest2013.en", "dev/newstest2013.de")])
    vocab_files = [vocab_file] if vocab_file else []
    check_problem(problem, data_dir, pairs_of(files, ENDE_TRAIN), dev, 100, vocab_files)
    if vocab_file:
        # The vocab was built from every line of the six training files (each < 2 MB).
        expected = [line for pair in ENDE_TRAIN for f in pair for line in files[f]]
        assert list(problem.generate_text_for_vocab(data_dir, str(tmp_dir))) == expected
        vocab = text_encoder.SubwordTextEncoder(os.path.join(data_dir, vocab_file))
        assert list(vocab.all_subtoken_strings[:2]) == ["<pad>_", "<EOS>_"]
        assert "Haus_" in vocab.all_subtoken_strings  # a German word of the corpus
    else:
        assert problem.get_hparams().vocab_size == {"inputs": 256 + 2, "targets": 256 + 2}
        assert problem.get_hparams().loss_multiplier == 2.0


def test_translate_enfr_wmt32k(tmp_path):
    tmp_dir, data_dir = tmp_path / "tmp", str(tmp_path / "data")
    files = wmt_mirror(tmp_dir, langs=("de", "fr"))
    extra = {}  # the three more corpora of the large en-fr set
    nc9 = {}
    _add_pair(nc9, extra, "training/news-commentary-v9.fr-en.en",
              "training/news-commentary-v9.fr-en.fr", *_pairs("fr", 60, 30))  # fmt: skip
    KIT.write_archive(tmp_dir / "training-parallel-nc-v9.tgz", nc9)
    giga = {}
    _add_pair(giga, extra, "giga-fren.release2.fixed.en.gz", "giga-fren.release2.fixed.fr.gz",
              *_pairs("fr", 61, 40))  # fmt: skip
    KIT.write_archive(tmp_dir / "training-giga-fren.tar", giga)  # a plain tar of .gz files
    un = {}
    _add_pair(un, extra, "un/undoc.2000.fr-en.en", "un/undoc.2000.fr-en.fr", *_pairs("fr", 62, 20))
    KIT.write_archive(tmp_dir / "training-parallel-un.tgz", un)
    files.update(extra)
    problem = registry.problem("translate_enfr_wmt32k")
    random.seed(SEED)
    problem.generate_data(data_dir, str(tmp_dir))
    train_names = [
        ("commoncrawl.fr-en.en", "commoncrawl.fr-en.fr"),
        ("training/europarl-v7.fr-en.en", "training/europarl-v7.fr-en.fr"),
        ("training/news-commentary-v9.fr-en.en", "training/news-commentary-v9.fr-en.fr"),
        ("giga-fren.release2.fixed.en.gz", "giga-fren.release2.fixed.fr.gz"),
        ("un/undoc.2000.fr-en.en", "un/undoc.2000.fr-en.fr"),
    ]
    dev = pairs_of(files, [("dev/newstest2013.en", "dev/newstest2013.fr")])
    vocab_file = "vocab.translate_enfr_wmt32k.32768.subwords"
    check_problem(problem, data_dir, pairs_of(files, train_names), dev, 100, [vocab_file])
    # The gzipped Giga-FrEn members were unpacked next to the archive, without ".gz".
    assert (tmp_dir / "giga-fren.release2.fixed.fr").exists()
    expected = [line for pair in train_names for f in pair for line in files[f]]
    assert list(problem.generate_text_for_vocab(data_dir, str(tmp_dir))) == expected


def test_translate_encs_wmt32k(tmp_path):
    tmp_dir, data_dir = tmp_path / "tmp", str(tmp_path / "data")
    files = wmt_mirror(tmp_dir, langs=("cs",))
    # CzEng 1.6 plaintext: an uncompressed tar of gzipped tsv files (id, score, cs, en).
    czeng, czeng_pairs = {}, {}
    for k in range(3):
        en, cs = _pairs("cs", 70 + k, 25)
        rows = [f"train-{k}-{i}\t0.9\t{c}\t{e}" for i, (e, c) in enumerate(zip(en, cs))]
        czeng[f"data.plaintext-format/{k:02d}train.gz"] = rows
        czeng_pairs[f"{k:02d}train.gz"] = list(zip(en, cs))
    czeng["data.plaintext-format/dtest.gz"] = ["t\t0.1\tnepoužito\tunused"]
    KIT.write_archive(tmp_dir / "data-plaintext-format.tar", czeng)
    problem = registry.problem("translate_encs_wmt32k")
    random.seed(SEED)
    problem.generate_data(data_dir, str(tmp_dir))
    others = [
        ("training-parallel-nc-v13/news-commentary-v13.cs-en.en",
         "training-parallel-nc-v13/news-commentary-v13.cs-en.cs"),
        ("commoncrawl.cs-en.en", "commoncrawl.cs-en.cs"),
        ("training/europarl-v7.cs-en.en", "training/europarl-v7.cs-en.cs"),
    ]  # fmt: skip
    # The CzEng files are read in directory order (T2T's glob), not sorted.
    names = glob.glob(str(tmp_dir / "data.plaintext-format" / "*train.gz"))
    train = [p for name in names for p in czeng_pairs[os.path.basename(name)]]
    train += pairs_of(files, others)
    dev = pairs_of(files, [("dev/newstest2013.en", "dev/newstest2013.cs")])
    vocab_files = ["vocab.translate_encs_wmt32k.32768.subwords"]
    check_problem(problem, data_dir, train, dev, 100, vocab_files, directory_order=True)
    # T2T's quirk: the vocab samples the COMPILED training files first, then the others.
    compiled = [a for a, _ in train] + [b for _, b in train]
    expected = compiled + [line for pair in others for f in pair for line in files[f]]
    assert list(problem.generate_text_for_vocab(data_dir, str(tmp_dir))) == expected


def test_translate_enzh_wmt32k_separate_vocabs_and_sgm_dev(tmp_path):
    tmp_dir, data_dir = tmp_path / "tmp", str(tmp_path / "data")
    files = wmt_mirror(tmp_dir, langs=("zh",))
    problem = registry.problem("translate_enzh_wmt32k")
    random.seed(SEED)
    problem.generate_data(data_dir, str(tmp_dir))
    base = "training-parallel-nc-v13/news-commentary-v13.zh-en"
    train = pairs_of(files, [(base + ".en", base + ".zh")])
    dev = list(zip(*files["zh-dev"]))  # the <seg> texts of the SGM files
    vocabs = [f"vocab.translate_enzh_wmt32k.32768.subwords.{x}" for x in ("en", "zh")]
    check_problem(problem, data_dir, train, dev, 100, vocabs)
    encoders = problem.get_feature_encoders(data_dir)
    zh_vocab = encoders["targets"].all_subtoken_strings
    assert "猫" in zh_vocab and "house_" not in zh_vocab  # target side only
    assert "house_" in encoders["inputs"].all_subtoken_strings
    sizes = problem.get_hparams().vocab_size
    assert sizes == {"inputs": encoders["inputs"].vocab_size,
                     "targets": encoders["targets"].vocab_size}  # fmt: skip


def test_translate_envi_iwslt32k_downloads_over_http(tmp_path, http_dir, monkeypatch):
    www, base_url = http_dir
    tmp_dir, data_dir = tmp_path / "tmp", str(tmp_path / "data")
    en, vi = _pairs("vi", 80, 70)
    dev_en, dev_vi = _pairs("vi", 81, 8)
    KIT.write_archive(www / "train-en-vi.tgz", {"train.en": en, "train.vi": vi})
    KIT.write_archive(www / "dev-2012-en-vi.tgz", {"tst2012.en": dev_en, "tst2012.vi": dev_vi})
    # The real URLs' last path component is the file name saved in tmp_dir: keep it.
    for attr, names in (("ENVI_TRAIN_DATASETS", ("train.en", "train.vi")),
                        ("ENVI_TEST_DATASETS", ("tst2012.en", "tst2012.vi"))):  # fmt: skip
        original = getattr(translate_wmt, attr)
        url = f"{base_url}/{os.path.basename(original[0][0])}"
        monkeypatch.setattr(translate_wmt, attr, [[url, names]])
    problem = registry.problem("translate_envi_iwslt32k")
    random.seed(SEED)
    problem.generate_data(data_dir, str(tmp_dir))
    assert (tmp_dir / "train-en-vi.tgz").exists() and (tmp_dir / "dev-2012-en-vi.tgz").exists()
    assert not [p for p in os.listdir(tmp_dir) if p.endswith(".incomplete")]
    check_problem(problem, data_dir, list(zip(en, vi)), list(zip(dev_en, dev_vi)), 100,
                  ["vocab.translate_envi_iwslt32k.32768.subwords"])  # fmt: skip


def test_registered_urls_are_the_originals():
    assert translate_wmt.ENVI_TRAIN_DATASETS[0][0] == (
        "https://github.com/stefan-it/nmt-en-vi/raw/master/data/train-en-vi.tgz"
    )
    problem = registry.problem("translate_ende_wmt32k")
    urls = [d[0] for d in problem.source_data_files("train") + problem.source_data_files("dev")]
    assert urls == [
        "http://data.statmt.org/wmt18/translation-task/training-parallel-nc-v13.tgz",
        "http://www.statmt.org/wmt13/training-parallel-commoncrawl.tgz",
        "http://www.statmt.org/wmt13/training-parallel-europarl-v7.tgz",
        "http://data.statmt.org/wmt17/translation-task/dev.tgz",
    ]
