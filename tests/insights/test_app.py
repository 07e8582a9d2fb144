"""The Insights server's API (FastAPI TestClient) on the trained tiny model (conftest.py)."""

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from t2t.errors import T2TError  # noqa: E402


@pytest.fixture(scope="module")
def client(app):
    return TestClient(app)


def by_name(result):
    return {v["visualization_name"]: v for v in result["result"]}


def test_languages_and_models(client):
    assert client.get("/api/language_list/").json() == {
        "language": [{"code": "en", "name": "English"}, {"code": "up", "name": "Upper case"}]
    }
    models = client.get("/api/list_models/").json()["configuration"]
    assert models == [
        {
            "id": "tiny_reverse",
            "source_language": {"code": "en", "name": "English"},
            "target_language": {"code": "up", "name": "Upper case"},
        }
    ]


def test_debug_answers_t2t_s_visualizations_beams_and_attention(client, loaded):
    query = {"source": "alpha beta gamma", "sl": "en", "tl": "up", "id": "tiny_reverse"}
    answer = client.get("/debug", params={**query, "beam_size": "3"})
    assert answer.status_code == 200
    result = by_name(answer.json())
    assert list(result) == ["processing", "graph", "beams", "attention"]
    steps = result["processing"]["query_processing"]
    assert steps["source_processing"][0]["segment"] == [{"text": "alpha beta gamma"}]
    beams = result["beams"]["beams"]
    expected = loaded.decode(["alpha beta gamma"], beam_size=3, return_beams=True)[0]
    initial = [piece["text"] for piece in steps["target_processing"][0]["segment"]]
    assert initial == [p for p, i in zip(beams[0]["pieces"], beams[0]["ids"]) if i != 1]
    final = steps["target_processing"][1]
    assert final == {"step_name": "Final", "segment": [{"text": expected[0][0]}]}
    assert [b["text"] for b in beams] == [text for text, _ in expected]
    assert [b["score"] for b in beams] == sorted((b["score"] for b in beams), reverse=True)

    attention = result["attention"]["attention"]
    source, target = len(attention["input_pieces"]), len(attention["output_pieces"])
    assert attention["output_pieces"] == beams[0]["pieces"]
    for kind, shape in [
        ("encoder_self", (source, source)),
        ("decoder_self", (target, target)),
        ("encoder_decoder", (target, source)),
    ]:
        matrices = np.array(attention[kind])  # [layers, heads, q, k]
        assert matrices.shape == (2, 2, *shape)
        np.testing.assert_allclose(matrices.sum(-1), 1.0, atol=1e-4)


def test_the_search_graph_is_the_tree_of_the_beams(client):
    params = {"source": "alpha beta", "id": "tiny_reverse", "beam_size": "3"}
    result = by_name(client.get("/debug", params=params).json())
    graph, beams = result["graph"]["search_graph"], result["beams"]["beams"]
    nodes, edges = graph["node"], graph["edge"]
    assert len(nodes) == len(edges) + 1  # a tree rooted at vertex 0
    for beam in beams:  # each beam is a path from the root; its last edge holds its score
        vertex, total = 0, 0.0
        for token in beam["ids"]:
            [edge] = [edges[e] for e in nodes[vertex]["out_edge_index"]
                      if edges[e]["data"]["label_id"] == token]  # fmt: skip
            total += edge["data"]["log_probability"]
            assert edge["data"]["total_log_probability"] == pytest.approx(total, abs=1e-5)
            vertex = edge["target_index"]
        assert edge["data"]["score"] == beam["score"]
        if edge["data"]["completed"]:  # a finished beam: a leaf, scored as T2T scores it,
            assert not nodes[vertex]["out_edge_index"]  # log-probability / length penalty
            penalty = ((5.0 + len(beam["ids"])) / 6.0) ** 0.6
            assert beam["score"] == pytest.approx(total / penalty, abs=1e-4)


@pytest.mark.parametrize(
    "params, status, message",
    [
        ({"source": "alpha", "id": "nope"}, 404, "unknown model id 'nope' (known: 'tiny_reverse')"),
        ({"source": "alpha"}, 404, "unknown model id None"),
        ({"source": "alpha", "id": "tiny_reverse", "sl": "de"}, 404, "not sl='de'"),
        ({"id": "tiny_reverse"}, 400, "missing the query parameter 'source'"),
        ({"source": "  ", "id": "tiny_reverse"}, 400, "the query is empty"),
        ({"source": "a" * 3000, "id": "tiny_reverse"}, 400, "the limit is 2000"),
        ({"source": "a", "id": "tiny_reverse", "beam_size": "x"}, 400, "not an integer"),
        ({"source": "a", "id": "tiny_reverse", "beam_size": "0"}, 400, "out of range"),
        ({"source": "a", "id": "tiny_reverse", "alpha": "nan"}, 400, "out of range"),
    ],
)
def test_bad_requests_get_4xx_json(client, params, status, message):
    answer = client.get("/debug", params=params)
    assert answer.status_code == status
    assert message in answer.json()["error"]


def test_the_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "<title>t2t Insights</title>" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from the network
    assert "function drawHeatmap" in client.get("/app.js").text
    assert client.get("/some/client/route").text == page.text  # T2T's catch-all
    assert client.get("/%2e%2e/__init__.py").text == page.text  # nothing outside static/
    assert client.get("/api/nothing").status_code == 404


def test_static_path_serves_another_page(tmp_path, configuration_file):
    from t2t.bin.t2t_insights_server import build_app
    from t2t.insights import app as insights_app
    from t2t.insights import configuration

    (tmp_path / "index.html").write_text("<p>mine</p>")
    (tmp_path / "index.js").write_text("// mine")
    config = configuration.read(configuration_file)
    app = insights_app.create_app(config, {}, str(tmp_path))
    client = TestClient(app)
    assert client.get("/").text == "<p>mine</p>" and client.get("/index.js").text == "// mine"
    assert client.get("/api/list_models/").json()["configuration"][0]["id"] == "tiny_reverse"
    with pytest.raises(T2TError, match="no index.html there"):
        build_app(configuration_file, static_path=str(tmp_path / "missing"))


def test_a_model_that_cannot_load_names_its_label(tmp_path, configuration):
    from t2t.bin.t2t_insights_server import build_app

    bad = json.loads(json.dumps(configuration))
    bad["configuration"][0]["transformer"]["model_dir"] = str(tmp_path / "gone")
    path = tmp_path / "configuration.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(T2TError, match="model 'tiny_reverse': model_dir .*gone is not a directory"):
        build_app(str(path))


@pytest.mark.parametrize(
    "content, message",
    [(None, "does not exist"), ("{oops", "is not valid JSON")],
)
def test_the_command_s_errors_are_one_line(tmp_path, content, message):
    path = tmp_path / "configuration.json"
    if content is not None:
        path.write_text(content)
    out = subprocess.run(
        [sys.executable, "-m", "t2t.bin.t2t_insights_server", f"--configuration={path}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr
