"""t2t-serve's API on the tiny exported model (tests/export/tiny_run.py), in process.

FastAPI's TestClient runs the app with its lifespan (the batcher starts and stops);
concurrency is driven with httpx's AsyncClient over the ASGI transport.
"""

import asyncio
import base64
import json

import httpx
import pytest
from fastapi.testclient import TestClient

import t2t
from t2t.data.example_codec import encode_example
from t2t.serving.app import ServerConfig, create_app
from t2t.serving.backends import DecodeOptions, TorchBackend, open_backend

NAME = "rev"


@pytest.fixture(scope="module")
def backend(trained):
    return open_backend(trained[1], "t2t", "cpu", threads=1)


def client(backend, **config):
    return TestClient(create_app(backend, ServerConfig(servable_name=NAME, **config)))


def test_translate_text_scores_and_n_best(backend, trained):
    with client(backend) as c:
        r = c.post("/v1/translate", json={"inputs": ["2 3 4 5", "9 8"], "beam_size": 3,
                                          "n_best": 3, "extra_length": 8})  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == NAME and [o["output"] for o in body["outputs"]] == ["5 4 3 2", "8 9"]
    expected = t2t.load(trained[1], device="cpu").decode(
        ["2 3 4 5", "9 8"], beam_size=3, return_beams=True, extra_length=8
    )
    for out, beams in zip(body["outputs"], expected):
        assert [h["output"] for h in out["n_best"]] == [text for text, _ in beams]
        assert [h["score"] for h in out["n_best"]] == pytest.approx([s for _, s in beams])
        assert out["score"] == out["n_best"][0]["score"]


def test_export_decode_hparams_are_the_defaults(backend):
    with client(backend) as c:
        r = c.post("/v1/translate", json={"inputs": ["1 2"]})
    assert r.status_code == 200 and len(r.json()["outputs"][0]["n_best"]) == 1


def test_tf_serving_predict_shapes(backend):
    example = encode_example({"inputs": [3 + 2, 4 + 2, 1]})  # "3 4" + EOS
    instances = ["2 3", {"input": {"b64": base64.b64encode(example).decode()}},
                 {"inputs": [5, 6, 1]}, {"input": "7 8"}]  # fmt: skip
    with client(backend) as c:
        r = c.post(f"/v1/models/{NAME}:predict", json={"instances": instances})
        status = c.get(f"/v1/models/{NAME}").json()
        # As TF Serving: the body is JSON whatever the Content-Type (curl -d sends a form's).
        plain = c.post(f"/v1/models/{NAME}:predict", content=b'{"instances": ["2 3"]}',
                       headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert plain.status_code == 200 and plain.json()["predictions"][0]["text"] == "3 2"
    assert r.status_code == 200, r.text
    predictions = r.json()["predictions"]
    assert predictions[0]["text"] == "3 2" and predictions[0]["outputs"] == [5, 4]
    assert predictions[1]["outputs"] == [6, 5] and predictions[2]["outputs"] == [6, 5]
    assert all(isinstance(p["scores"], float) for p in predictions)
    assert status["model_version_status"][0]["state"] == "AVAILABLE"


def test_health_and_metrics(backend):
    with client(backend) as c:
        assert c.get("/health").json() == {"status": "ok", "model": NAME}
        c.post("/v1/translate", json={"inputs": ["1"]})
        text = c.get("/metrics").text
    assert 't2t_requests_total{path="/v1/translate",code="200"} 1' in text
    assert "t2t_decode_batches_total 1" in text and "process_resident_memory_bytes" in text


@pytest.mark.parametrize(
    "body,status,message",
    [
        (b"{not json", 400, "not valid JSON"),
        (b'{"inputs": "2 3"}', 422, "inputs"),
        (b'{"inputs": []}', 422, "inputs"),
        (b'{"inputs": [3]}', 422, "inputs.0"),
        (b'{"inputs": ["1"], "beam_size": 0}', 422, "beam_size"),
        (b'{"inputs": ["1"], "beam_size": 99}', 422, "over this server"),
        (b'{"inputs": ["1"], "beam_size": 2, "n_best": 3}', 422, "n_best"),
        (b'{"inputs": ["1"], "colour": "red"}', 422, "colour"),
        (b'{"inputs": ["x y"]}', 422, "cannot encode"),
        (json.dumps({"inputs": [" ".join(["1"] * 300)]}).encode(), 422, "limit is 256"),
        (json.dumps({"inputs": ["1"] * 65}).encode(), 413, "limit is 64"),
        (json.dumps({"inputs": ["1" * 2_000_000]}).encode(), 413, "request body over"),
    ],
)
def test_bad_requests_get_4xx_with_a_message(backend, body, status, message):
    with client(backend) as c:
        r = c.post("/v1/translate", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert message in r.json()["error"]


def test_bad_predict_requests(backend):
    with client(backend) as c:
        assert c.post("/v1/models/other:predict", json={"instances": ["1"]}).status_code == 404
        r = c.post(f"/v1/models/{NAME}:predict", json={"instances": [{"input": {"b64": "%%"}}]})
        assert r.status_code == 422 and "base64" in r.json()["error"]
        r = c.post(f"/v1/models/{NAME}:predict", json={"instances": [{"inputs": [1.5]}]})
        assert r.status_code == 422
        r = c.post(f"/v1/models/{NAME}:predict", json={"instances": [{"inputs": [5, 12]}]})
        assert r.status_code == 422 and "[0, 12)" in r.json()["error"]
        assert c.post(f"/v1/models/{NAME}:predict", json={"instances": []}).status_code == 422


class SlowBackend(TorchBackend):
    """The real backend, counting decode calls and taking `delay` seconds more per call."""

    def __init__(self, loaded, delay=0.0):
        super().__init__(loaded)
        self.delay, self.calls = delay, []

    def decode(self, inputs, options: DecodeOptions):
        import time

        self.calls.append(len(inputs))
        time.sleep(self.delay)
        return super().decode(inputs, options)


async def _concurrent(app, count, path="/v1/translate"):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        return await asyncio.gather(*(
            c.post(path, json={"inputs": [f"{i % 10} 1 2"], "beam_size": 2})
            for i in range(count)))  # fmt: skip


@pytest.mark.parametrize("dynamic", [True, False])
def test_dynamic_batching_decodes_concurrent_requests_together(backend, dynamic):
    slow = SlowBackend(backend.loaded, delay=0.05)
    config = ServerConfig(servable_name=NAME, batch_wait_ms=20, dynamic_batching=dynamic)
    app = create_app(slow, config)

    async def run():
        async with app.app.router.lifespan_context(app.app):
            return await _concurrent(app, 12)

    responses = asyncio.run(run())
    assert all(r.status_code == 200 for r in responses)
    expected = [f"{2} {1} {i % 10}" for i in range(12)]
    assert [r.json()["outputs"][0]["output"] for r in responses] == expected
    assert sum(slow.calls) == 12
    if dynamic:
        assert len(slow.calls) < 12 and max(slow.calls) > 1  # fewer decode calls than requests
    else:
        assert slow.calls == [1] * 12


def test_timeout_gives_504(backend):
    slow = SlowBackend(backend.loaded, delay=1.0)
    with TestClient(create_app(slow, ServerConfig(servable_name=NAME, timeout_s=0.2))) as c:
        r = c.post("/v1/translate", json={"inputs": ["1 2"]})
    assert r.status_code == 504 and "not decoded within" in r.json()["error"]
