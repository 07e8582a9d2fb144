"""t2t-insights-server as a user starts it: flags, a real port, Ctrl-C; and its one-line errors."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

USR_DIR = os.path.join(os.path.dirname(__file__), "..", "problems", "fixtures", "problems_usr_dir")


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "t2t.bin.t2t_insights_server", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serves_until_interrupted(configuration_file):
    port = free_port()
    server = start(f"--configuration={configuration_file}", f"--t2t_usr_dir={USR_DIR}",
                   f"--port={port}", "--decode_hparams=beam_size=2")  # fmt: skip
    try:
        deadline, models = time.time() + 240, None
        while models is None:
            assert server.poll() is None, server.stderr.read()[-3000:]
            assert time.time() < deadline, "the server did not answer"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/list_models/") as r:
                    models = json.load(r)
            except OSError:
                time.sleep(0.5)
        assert models["configuration"][0]["id"] == "tiny_reverse"
        url = f"http://127.0.0.1:{port}/debug?source=alpha&id=tiny_reverse"
        with urllib.request.urlopen(url) as r:  # --decode_hparams sets the beams
            result = {v["visualization_name"]: v for v in json.load(r)["result"]}
        assert len(result["beams"]["beams"]) == 2
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=60)
    assert server.returncode == 0, err[-3000:]
    assert f"t2t Insights: http://127.0.0.1:{port}/" in out


def test_a_taken_port_is_a_one_line_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = start(f"--configuration={tmp_path / 'unread.json'}", f"--port={port}")
        out, err = server.communicate(timeout=300)
    assert server.returncode == 2
    assert err.strip().splitlines() == [
        f"t2t_insights_server.py: error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]
