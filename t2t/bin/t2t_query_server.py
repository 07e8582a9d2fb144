"""t2t-query-server: query a model server (t2t-serve, or TF Serving's REST API).

    t2t-query-server --server=localhost:8501 --servable_name=ende \\
        --problem=translate_ende_wmt32k --data_dir=~/t2t_data --inputs_once="Hello."
    t2t-query-server --server=localhost:8501 --servable_name=ende      # reads stdin

As T2T's: with --problem and --data_dir, each input is encoded here with the problem's
vocabulary (+ EOS when the problem has inputs), sent as a serialized tf.Example
({"instances": [{"input": {"b64": ...}}]} to /v1/models/NAME:predict) and the returned
ids are decoded here. Without --problem the text itself is sent and t2t-serve encodes it
with the export's vocabulary. Prints T2T's "Input: / Output (Score ...):" blocks.
"""

from __future__ import annotations

import base64
import json
import sys
import urllib.error
import urllib.request
from typing import Any

from absl import flags

from t2t.bin import cli

FLAGS = flags.FLAGS

cli.define_once("string", "server", None, "host:port (or http://host:port) of the model server.")
cli.define_once("string", "servable_name", None, "Name of the served model.")
cli.define_once("string", "problem", None, "Registered problem: encode and decode here.")
cli.define_once("string", "data_dir", None, "Where the problem's vocabulary is.")
cli.define_once(
    "string", "t2t_usr_dir", None, "Python package registering user problems (T2T's flag)."
)
cli.define_once("string", "inputs_once", None, "Query this input once and exit.")
cli.define_once("integer", "timeout_secs", 10, "Seconds to wait for an answer.")
cli.define_once("string", "cloud_mlengine_model_name", None, "Cloud ML Engine; not supported.")
cli.define_once("string", "cloud_mlengine_model_version", None, "Cloud ML Engine; not supported.")


def _url(server: str, servable_name: str) -> str:
    base = server if "://" in server else f"http://{server}"
    return f"{base.rstrip('/')}/v1/models/{servable_name}:predict"


def post_json(url: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
    """POSTs `body` as JSON; the JSON answer.

    Raises:
        T2TError: the server cannot be reached, times out, or answers an error.
    """
    from t2t.errors import T2TError

    data = json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace")
        try:
            detail = json.loads(detail).get("error", detail)
        except (ValueError, AttributeError):
            pass
        raise T2TError(f"{url}: HTTP {error.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise T2TError(f"cannot reach the server at {url} ({reason})") from None
    except ValueError:
        raise T2TError(f"{url}: the answer is not JSON") from None


class Client:
    """Sends inputs to the server; encodes and decodes with a problem's vocabulary if given."""

    def __init__(self, url: str, timeout: float, problem: Any = None, data_dir: str = "") -> None:
        self.url = url
        self.timeout = timeout
        self.problem = problem
        self.encoders = problem.feature_encoders(data_dir) if problem is not None else None

    def _instance(self, text: str) -> Any:
        if self.problem is None:
            return text
        from t2t.data.example_codec import encode_example

        feature = "inputs" if self.problem.has_inputs else "targets"
        ids = list(self.encoders[feature].encode(text))
        if self.problem.has_inputs:
            ids.append(1)  # EOS, as T2T's serving examples have it
        example = encode_example({feature: ids})
        return {"input": {"b64": base64.b64encode(example).decode("ascii")}}

    def _text(self, prediction: dict[str, Any], beam: int | None) -> str:
        if self.problem is None:
            text = prediction.get("text", "")
            return text[beam] if beam is not None else text
        ids = prediction["outputs"][beam] if beam is not None else prediction["outputs"]
        return self.encoders["targets"].decode(ids, strip_extraneous=True)

    def query(self, text: str) -> tuple[list[str], Any]:
        """(output texts, score or scores) of one input."""
        answer = post_json(self.url, {"instances": [self._instance(text)]}, self.timeout)
        prediction = answer["predictions"][0]
        scores = prediction["scores"]
        if isinstance(scores, list):
            return [self._text(prediction, k) for k in range(len(scores))], scores
        return [self._text(prediction, None)], scores


def show(text: str, outputs: list[str], scores: Any) -> None:
    """T2T's output block."""
    print(f"Input:\n{text}\n")
    if isinstance(scores, list):
        print(f"Output (Scores [{','.join(f'{s:.3f}' for s in scores)}]):")
        print("\n".join(outputs))
    else:
        print(f"Output (Score {scores:.3f}):\n{outputs[0]}")
    sys.stdout.flush()


def main(argv: list[str]) -> int | None:
    """Entry point of t2t-query-server."""
    from t2t.errors import T2TError

    if len(argv) > 1:
        raise T2TError(f"unexpected arguments: {' '.join(argv[1:])}")
    if FLAGS.cloud_mlengine_model_name:
        raise T2TError("Cloud ML Engine is not supported: give --server and --servable_name")
    if not FLAGS.server or not FLAGS.servable_name:
        raise T2TError("--server (host:port) and --servable_name must be given")
    problem = None
    if FLAGS.problem:
        from t2t import registry
        from t2t.compat.usr_dir import import_usr_dir

        import_usr_dir(FLAGS.t2t_usr_dir)
        if not FLAGS.data_dir:
            raise T2TError("--problem needs --data_dir (where its vocabulary is)")
        problem = registry.problem(FLAGS.problem)
    client = Client(_url(FLAGS.server, FLAGS.servable_name), FLAGS.timeout_secs, problem,
                    FLAGS.data_dir or "")  # fmt: skip
    if FLAGS.inputs_once is not None:
        show(FLAGS.inputs_once, *client.query(FLAGS.inputs_once))
        return 0
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            print(">> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            return 0
        text = line.rstrip("\n")
        try:
            show(text, *client.query(text))
        except T2TError as error:
            print(f"error: {error}", file=sys.stderr, flush=True)


def run() -> None:
    """Console-script entry point (`t2t-query-server`)."""
    cli.run(main)


if __name__ == "__main__":
    run()
