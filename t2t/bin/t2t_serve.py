"""t2t-serve: serve an export directory over HTTP, with dynamic batching.

    t2t-serve --export_dir=~/t2t_train/ende/export/1733150000 --port=8501 \\
        --servable_name=ende
    curl -s localhost:8501/v1/translate -d '{"inputs": ["Hello world."], "n_best": 2}'
    t2t-query-server --server=localhost:8501 --servable_name=ende --inputs_once="Hello."

Endpoints (docs/serving.md): POST /v1/translate (text in, text out, scores and n-best),
POST /v1/models/NAME:predict (TF Serving's REST shape), GET /v1/models/NAME, /health and
/metrics. Requests arriving within --batch_wait_ms decode as one batch. SIGTERM or Ctrl-C
stops taking connections, finishes the requests in flight, then exits.
--backend=ctranslate2 serves the export's CTranslate2 model (t2t-exporter
--export_format=ctranslate2) the same way.
"""

from __future__ import annotations

from absl import flags

from t2t.bin import cli

FLAGS = flags.FLAGS

cli.define_once("string", "export_dir", None, "The export directory (t2t-exporter's).")
cli.define_once("string", "host", "127.0.0.1", "Address to listen on (0.0.0.0: every interface).")
cli.define_once("integer", "port", 8501, "Port to listen on (TF Serving's REST port: 8501).")
cli.define_once("string", "servable_name", None, "Model name in the URLs (default: the problem).")
cli.define_once("string", "backend", "t2t", "t2t (our model) or ctranslate2 (the export's).")
cli.define_once("string", "device", "cpu", "cpu or cuda.")
cli.define_once(
    "string", "quantize", None,
    "none (float32) or int8 (CPU int8 linear layers); default: the export's (t2t-exporter's).",
)  # fmt: skip
cli.define_once("integer", "threads", 0, "CPU threads for decoding (0: the library's default).")
cli.define_once("integer", "max_batch_size", 32, "Most inputs decoded in one batch.")
cli.define_once("float", "batch_wait_ms", 5.0, "How long a request waits for others to batch.")
cli.define_once(
    "bool", "dynamic_batching", True, "--nodynamic_batching: decode each request alone."
)
cli.define_once("integer", "max_body_bytes", 1 << 20, "Larger request bodies get 413.")
cli.define_once("integer", "max_instances", 64, "More inputs in one request get 413.")
cli.define_once("integer", "max_input_tokens", 256, "Longer inputs (in ids) get 422.")
cli.define_once("float", "timeout_secs", 30.0, "Requests not decoded in this time get 504.")
cli.define_once("integer", "max_beam_size", 16, "Larger beam_size requests get 422.")
cli.define_once("integer", "max_queue", 1024, "Requests waiting beyond this get 503.")
cli.define_once("float", "graceful_shutdown_secs", 60.0, "Longest wait for requests in flight.")
cli.define_once("bool", "verify", True, "Check the export's SHA-256 digests when loading it.")


def main(argv: list[str]) -> int | None:
    """Entry point of t2t-serve."""
    from t2t.errors import MissingExtraError, T2TError

    if len(argv) > 1:
        raise T2TError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not FLAGS.export_dir:
        raise T2TError("--export_dir (a t2t-exporter directory) must be given")
    if not 0 < FLAGS.port < 65536:
        raise T2TError(f"--port={FLAGS.port} is not a TCP port")
    try:
        import uvicorn
    except ImportError:
        raise MissingExtraError("t2t-serve needs uvicorn: pip install 't2t[serve]'") from None
    from t2t.serving.app import ServerConfig, create_app
    from t2t.serving.backends import open_backend

    backend = open_backend(
        FLAGS.export_dir, FLAGS.backend, FLAGS.device, FLAGS.threads, FLAGS.verify,
        FLAGS.quantize,
    )  # fmt: skip
    config = ServerConfig(
        servable_name=FLAGS.servable_name or backend.loaded.problem.name,
        max_body_bytes=FLAGS.max_body_bytes, max_instances=FLAGS.max_instances,
        max_input_tokens=FLAGS.max_input_tokens, timeout_s=FLAGS.timeout_secs,
        max_batch_size=FLAGS.max_batch_size, batch_wait_ms=FLAGS.batch_wait_ms,
        dynamic_batching=FLAGS.dynamic_batching, max_queue=FLAGS.max_queue,
        max_beam_size=FLAGS.max_beam_size,
    )  # fmt: skip
    app = create_app(backend, config)
    print(
        f"serving {config.servable_name} ({backend.name}) on http://{FLAGS.host}:{FLAGS.port}",
        flush=True,
    )
    uvicorn.run(
        app, host=FLAGS.host, port=FLAGS.port, log_level="warning",
        timeout_graceful_shutdown=FLAGS.graceful_shutdown_secs,
    )  # fmt: skip
    return 0


def run() -> None:
    """Console-script entry point (`t2t-serve`)."""
    cli.run(main)


if __name__ == "__main__":
    run()
