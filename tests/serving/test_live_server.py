"""t2t-serve over real sockets on 127.0.0.1: schema fuzzing, graceful shutdown, the
t2t-query-server client, and the command's one-line errors."""

import contextlib
import json
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings

from t2t.serving.app import ServerConfig, create_app
from t2t.serving.backends import TorchBackend, open_backend

NAME = "rev"


@pytest.fixture(scope="module")
def backend(trained):
    return open_backend(trained[1], "t2t", "cpu", threads=1)


@contextlib.contextmanager
def live_server(app):
    """Runs `app` under uvicorn in a thread on a free port; yields (server, base URL)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                            timeout_graceful_shutdown=30)  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not server.started:
        assert time.time() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


def post(url, body):
    request = urllib.request.Request(url, json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, json.loads(response.read())


class SlowBackend(TorchBackend):
    def __init__(self, loaded, delay):
        super().__init__(loaded)
        self.delay, self.started = delay, threading.Event()

    def decode(self, inputs, options):
        self.started.set()
        time.sleep(self.delay)
        return super().decode(inputs, options)


def test_graceful_shutdown_finishes_requests_in_flight(backend):
    slow = SlowBackend(backend.loaded, delay=1.5)
    app = create_app(slow, ServerConfig(servable_name=NAME))
    result = {}
    with live_server(app) as (server, url):

        def request():
            result["answer"] = post(f"{url}/v1/translate", {"inputs": ["1 2 3"], "beam_size": 1})

        client = threading.Thread(target=request)
        client.start()
        assert slow.started.wait(30)
        server.should_exit = True  # what SIGTERM / Ctrl-C do
        client.join(timeout=60)
    status, body = result["answer"]
    assert status == 200 and body["outputs"][0]["output"] == "3 2 1"


def test_query_server_against_a_live_server(backend, trained):
    app = create_app(backend, ServerConfig(servable_name=NAME))
    with live_server(app) as (_, url):
        host = url.removeprefix("http://")
        common = [sys.executable, "-m", "t2t.bin.t2t_query_server", f"--server={host}",
                  f"--servable_name={NAME}"]  # fmt: skip
        # T2T's way: encode with the problem's vocabulary, send a tf.Example, decode here.
        out = subprocess.run(
            [*common, "--problem=algorithmic_reverse_decimal40", f"--data_dir={trained[0]}",
             "--inputs_once=4 5 6"], capture_output=True, text=True, timeout=300)  # fmt: skip
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.startswith("Input:\n4 5 6\n\nOutput (Score ")
        assert out.stdout.rstrip().endswith("):\n6 5 4")
        # Text to the server, which encodes it; stdin, one block per line; a bad line is
        # reported and skipped.
        out = subprocess.run([*common], input="1 2\nx\n7 8\n", capture_output=True, text=True,
                             timeout=300)  # fmt: skip
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.count("Input:") == 2 and "\n2 1\n" in out.stdout and "8 7" in out.stdout
        assert "HTTP 422" in out.stderr and "cannot encode" in out.stderr
        # A server that is not there: one line, exit 2.
        out = subprocess.run([sys.executable, "-m", "t2t.bin.t2t_query_server",
                              "--server=127.0.0.1:9", "--servable_name=x", "--inputs_once=1"],
                             capture_output=True, text=True, timeout=300)  # fmt: skip
        assert out.returncode == 2 and "Traceback" not in out.stderr
        assert "cannot reach the server" in out.stderr


@pytest.mark.parametrize("export", ["missing", "corrupt"])
def test_serve_errors_are_one_line(trained, tmp_path, export):
    path = tmp_path / "nothing"
    if export == "corrupt":
        import shutil

        shutil.copytree(trained[1], path)
        with open(path / "model.safetensors", "r+b") as f:
            f.seek(200)
            f.write(b"\x00\x01\x02\x03")
    out = subprocess.run([sys.executable, "-m", "t2t.bin.t2t_serve", f"--export_dir={path}",
                          "--port=1"], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 2 and "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("t2t_serve.py: error: ")
    assert ("does not exist" if export == "missing" else "SHA-256 differs") in lines[0]


def test_openapi_fuzzing_gives_no_server_errors(backend):
    """schemathesis generates requests from the server's OpenAPI schema, bodies that fit it
    and bodies that do not (wrong types, missing or extra fields, empty and huge values):
    every answer is below 500, and an error answer carries a JSON message."""
    from hypothesis import given
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    config = ServerConfig(servable_name=NAME, max_input_tokens=16, timeout_s=20,
                          max_extra_length=16, max_beam_size=4)  # fmt: skip
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(backend, config))
    cases = st.one_of(schema.as_strategy(GenerationMode.POSITIVE),
                      schema.as_strategy(GenerationMode.NEGATIVE))  # fmt: skip
    seen = []

    @given(case=cases)
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck),
              database=None, derandomize=True)  # fmt: skip
    def fuzz(case):
        response = case.call()
        seen.append((case.method, response.status_code))
        assert response.status_code < 500, (case.method, case.path, case.body, response.text)
        if response.status_code >= 400:
            body = response.json()
            assert "error" in body or "detail" in body, body

    fuzz()
    assert len(seen) >= 30 and any(code >= 400 for _, code in seen)
