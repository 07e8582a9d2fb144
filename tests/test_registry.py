"""Registry: T2T's naming rules, errors and lazy loading."""

import subprocess
import sys

import pytest

from t2t import registry
from t2t.errors import UnknownNameError


@pytest.mark.parametrize(
    "camel, snake",
    [  # T2T's misc_utils_test cases
        ("TypicalCamelCase", "typical_camel_case"),
        ("NumbersFuse2gether", "numbers_fuse2gether"),
        ("NumbersFuse2Gether", "numbers_fuse2_gether"),
        ("LSTMSeq2Seq", "lstm_seq2_seq"),
        ("startsLower", "starts_lower"),
        ("startsLowerCAPS", "starts_lower_caps"),
        ("CapsFUSETogether", "caps_fuse_together"),
        ("Startscap", "startscap"),
        ("STartscap", "s_tartscap"),
        ("LSTMSeq2seqAttention", "lstm_seq2seq_attention"),
        ("TransformerEncoder", "transformer_encoder"),
    ],
)
def test_camelcase_to_snakecase(camel, snake):
    assert registry.camelcase_to_snakecase(camel) == snake


def test_snakecase_to_camelcase():
    assert registry.snakecase_to_camelcase("lstm_seq2_seq") == "LstmSeq2Seq"


def make_registry(**kwargs):
    return registry.Registry("things", kind="test_things", **kwargs)


def test_register_forms_and_default_names():
    r = make_registry()

    @r.register
    def first_thing():
        return 1

    @r.register()
    class SecondThing:
        pass

    @r.register("third")
    def whatever():
        return 3

    assert sorted(r.keys()) == ["first_thing", "second_thing", "third"]
    assert r["third"] is whatever  # registration returns the original object
    assert len(r) == 3 and "first_thing" in r and r.get("nope", 7) == 7


def test_duplicate_and_non_callable():
    r = make_registry()
    r["a"] = len
    with pytest.raises(KeyError, match="already registered"):
        r["a"] = len
    with pytest.raises(ValueError, match="callable"):
        r["b"] = 3


def test_unknown_name_lists_close_matches():
    r = make_registry()
    for name in ("transformer_base", "transformer_big", "lstm_seq2seq"):
        r[name] = len
    with pytest.raises(UnknownNameError) as info:
        r["transformer_bse"]
    message = str(info.value)
    assert "transformer_base" in message and "lstm_seq2seq" not in message
    assert isinstance(info.value, KeyError)  # T2T code catches KeyError


def test_hparams_registry_calls_function_and_rejects_none():
    r = registry.Registry("hparams", kind="test_hp", value_transformer=registry._call_hparams_fn)
    r["ok"] = lambda: {"x": 1}
    r["bad"] = lambda: None
    assert r["ok"] == {"x": 1}
    with pytest.raises(TypeError, match="is None"):
        r["bad"]


def test_optimizer_must_take_two_arguments():
    with pytest.raises(ValueError, match="exactly two arguments"):

        @registry.register_optimizer
        def bad_optimizer(learning_rate):
            return None


def test_problem_names_cannot_end_in_rev_or_copy():
    with pytest.raises(KeyError, match="cannot end in _rev or _copy"):

        @registry.register_problem
        class SomethingRev:
            pass

        registry.Registries.problems["thing_rev"] = SomethingRev


@pytest.mark.parametrize(
    "name, parsed",
    [
        ("a_b", ("a_b", False, False)),
        ("a_b_rev", ("a_b", True, False)),
        ("a_b_copy", ("a_b", False, True)),
        ("a_b_copy_rev", ("a_b", True, True)),
        ("a_b_rev_copy", ("a_b", True, True)),
    ],
)
def test_parse_problem_name(name, parsed):
    assert registry.parse_problem_name(name) == parsed


def test_parse_problem_name_rejects_doubles():
    with pytest.raises(ValueError, match="multiple '_rev'"):
        registry.parse_problem_name("a_rev_rev")
    with pytest.raises(ValueError, match="multiple '_copy'"):
        registry.parse_problem_name("a_copy_copy")
    assert registry.get_problem_name("a", was_reversed=True, was_copy=True) == "a_copy_rev"


def test_display_list_by_prefix_groups_names():
    text = registry.display_list_by_prefix(["a_x", "a_y", "b_z"], starting_spaces=4)
    assert text.splitlines() == ["    a:", "      * a_x", "      * a_y", "    b:", "      * b_z"]


def test_help_string_lists_basic_hparams():
    text = registry.help_string()
    assert "HParams:" in text and "* basic_1" in text and "Problems:" in text


def test_import_t2t_is_lazy():
    code = (
        "import sys, t2t, t2t.registry; "
        "heavy = [m for m in sys.modules if m == 'torch' or m.startswith(('t2t.models', "
        "'t2t.problems', 't2t.layers'))]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_broken_builtin_module_is_an_error(monkeypatch):
    monkeypatch.setitem(registry._BUILTIN_MODULES, "test_broken", ("t2t.no_such_module",))
    r = registry.Registry("things", kind="test_broken")
    with pytest.raises(ModuleNotFoundError):
        r.keys()
