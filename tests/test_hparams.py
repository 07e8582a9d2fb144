"""HParams: T2T's semantics (cases from T2T's hparam_test) and our strict checks."""

import json

import pytest

from t2t.errors import HParamsError
from t2t.hparams import HParams, basic_params1, create_hparams, join_overrides, parse_values


def test_attribute_access_values_and_str():
    hp = HParams(aaa=1, b=2.0, c_c="relu6", d="/a/b=c/d")
    assert hp.aaa == 1 and hp.values()["c_c"] == "relu6"
    assert str(hp) == "[('aaa', 1), ('b', 2.0), ('c_c', 'relu6'), ('d', '/a/b=c/d')]"
    assert "aaa" in hp and "zzz" not in hp


def test_parse_casts_to_declared_types():
    hp = HParams(aaa=1, b=2.0, c_c="relu6", d=True, arr=[1, 2])
    hp.parse("aaa=12,b=3,c_c=relu4,d=false,arr=[3 4]")
    assert (hp.aaa, hp.b, hp.c_c, hp.d, hp.arr) == (12, 3.0, "relu4", False, [3, 4])
    assert isinstance(hp.b, float)


def test_parse_values_grammar():
    types = {"c_c": str, "b": float, "aaa": int, "d": str, "arr": int}
    assert parse_values("c_c=,b=0,", types) == {"c_c": "", "b": 0.0}
    assert parse_values('c_c=2.3",b=+2,', types) == {"c_c": '2.3"', "b": 2.0}
    assert parse_values("d=/a=b/c/d", types) == {"d": "/a=b/c/d"}
    assert parse_values("c_c=[_12,3'4\"],aaa=[+3]", types) == {
        "c_c": ["_12", "3'4\""],
        "aaa": [3],
    }
    assert parse_values("arr[1]=10", types) == {"arr": {1: 10}}
    assert parse_values("arr=[]", types) == {"arr": []}


@pytest.mark.parametrize(
    "text",
    ["aaa=1.0", "b=12x", "b=relu", "aaa=1,aaa=2", "aaa=[1]x", "=1", "arr[0]=[1]"],
)
def test_parse_errors(text):
    hp = HParams(aaa=1, b=2.0, arr=[1])
    with pytest.raises(HParamsError):
        hp.parse(text)


def test_unknown_name_names_close_matches():
    with pytest.raises(HParamsError, match="hidden_sise.*Did you mean: hidden_size"):
        basic_params1().parse("hidden_sise=8")
    with pytest.raises(KeyError):  # T2T raised KeyError from set_hparam
        basic_params1().set_hparam("no_such", 1)


def test_set_hparam_type_rules():
    hp = HParams(i=1, f=1.5, s="x", b=False, lst=[1, 2], none=None)
    hp.set_hparam("f", 1)
    assert hp.f == 1.0 and isinstance(hp.f, float)
    for name, value in [("i", 1.5), ("s", 3), ("b", 1), ("i", True), ("i", "3"), ("lst", 3)]:
        with pytest.raises(HParamsError):
            hp.set_hparam(name, value)
    with pytest.raises(HParamsError, match="Must not pass a list"):
        hp.set_hparam("i", [1])
    hp.set_hparam("none", "anything")
    assert hp.none == "anything"


def test_none_typed_hparams_parse_from_strings():
    hp = basic_params1()
    hp.parse("learning_rate_minimum=0.001")
    assert hp.learning_rate_minimum == 0.001


def test_add_and_del_hparam():
    hp = HParams(a=1)
    with pytest.raises(HParamsError, match="reserved"):
        hp.add_hparam("a", 2)
    with pytest.raises(HParamsError, match="reserved"):
        hp.add_hparam("parse", 2)
    with pytest.raises(HParamsError, match="cannot be empty"):
        hp.add_hparam("e", [])
    hp.del_hparam("a")
    hp.del_hparam("never_there")
    assert hp.values() == {}


def test_plain_attributes_are_not_hparams():
    hp = HParams(a=1)
    hp.problem = "something"
    assert hp.values() == {"a": 1}


def test_to_json_round_trip_and_callables_dropped():
    assert HParams(aaa=123).to_json() == '{"aaa": 123}'
    assert HParams(aaa=123).to_json(indent=2) == '{\n  "aaa": 123\n}'
    assert HParams(aaa=123).to_json(separators=(";", "=")) == '{"aaa"=123}'
    hp = HParams(aaa=123, b="hello", c_c=False)
    assert hp.to_json(sort_keys=True) == '{"aaa": 123, "b": "hello", "c_c": false}'
    assert HParams(function=len).to_json() == "{}"
    restored = HParams(aaa=0, b="", c_c=True).parse_json(hp.to_json())
    assert restored.values() == hp.values()


def test_get_checks_default_compatibility():
    hp = HParams(a=1, lst=[1])
    assert hp.get("a") == 1 and hp.get("missing", 5) == 5
    with pytest.raises(HParamsError):
        hp.get("a", [1])


def test_basic_params1_has_the_originals_keys():
    hp = basic_params1()
    assert len(hp.values()) == 124
    assert list(hp.values())[:3] == ["batch_size", "batch_shuffle_size", "use_fixed_batch_size"]
    assert hp.batch_size == 4096 and hp.optimizer_adam_beta2 == 0.997
    assert hp.mixed_precision_optimizer_init_loss_scale == 32768


def test_create_hparams_json_then_overrides(tmp_path):
    saved = tmp_path / "hparams.json"
    saved.write_text(json.dumps({"hidden_size": 32, "not_in_set": 1, "name": "x"}))
    hp = create_hparams("basic_1", "dropout=0.5", hparams_path=str(saved))
    assert hp.hidden_size == 32 and hp.dropout == 0.5
    assert "not_in_set" not in hp and hp.name == {}


@pytest.mark.parametrize(
    ("saved", "given", "joined"),
    [
        # The trainer's own overrides repeated (T2T's walkthrough): one assignment each.
        ("learning_rate_warmup_steps=1000,batch_size=2048",
         "learning_rate_warmup_steps=1000,batch_size=2048",
         "learning_rate_warmup_steps=1000,batch_size=2048"),
        # A different value wins (T2T applied the decoder's --hparams over the saved ones).
        ("learning_rate_warmup_steps=1000,batch_size=2048", "batch_size=4096",
         "learning_rate_warmup_steps=1000,batch_size=4096"),
        ("a=[1,2],b=3", "a[0]=5", "b=3,a[0]=5"),
        ("", "b=3", "b=3"),
        ("b=3", "", "b=3"),
    ],
)  # fmt: skip
def test_join_overrides(saved, given, joined):
    assert join_overrides(saved, given) == joined


def test_join_overrides_parses_where_the_plain_join_did_not():
    hparams = HParams(learning_rate_warmup_steps=100, batch_size=10)
    saved = "learning_rate_warmup_steps=1000,batch_size=2048"
    with pytest.raises(HParamsError, match="Multiple assignments"):
        hparams.parse(saved + "," + saved)
    hparams.parse(join_overrides(saved, "batch_size=2048,learning_rate_warmup_steps=1000"))
    assert hparams.learning_rate_warmup_steps == 1000 and hparams.batch_size == 2048
