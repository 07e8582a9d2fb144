"""t2t-insights-server: a web page that translates with trained models and shows attention.

    t2t-insights-server --configuration=configuration.json --port=8010
    # then open http://127.0.0.1:8010/

The configuration file is T2T's (see t2t/insights/configuration.py): the models (label,
languages, model_dir, data_dir, problem, model, hparams_set, hparams) and the languages.
The page (built in, served by the server itself: no network needed) picks a model,
translates a sentence and shows the beams with their scores, the subword pieces and the
attention heatmaps of every layer and head. --static_path serves another page instead;
the API (/api/language_list/, /api/list_models/, /debug?source=..&id=..) stays the same.
"""

from __future__ import annotations

import logging

from absl import flags

from t2t.bin import cli
from t2t.bin import flags as t2t_flags  # --t2t_usr_dir, --decode_hparams

FLAGS = flags.FLAGS
flags.adopt_module_key_flags(t2t_flags)
log = logging.getLogger("t2t.insights")

cli.define_once(
    "string", "configuration", "",
    "A JSON file (T2T's InsightConfiguration) naming the models and languages to serve.",
)  # fmt: skip
cli.define_once(
    "string", "static_path", "", "Directory of the page to serve (default: the built-in page)."
)
cli.define_once("string", "host", "127.0.0.1", "Address to listen on (0.0.0.0: every interface).")
cli.define_once("integer", "port", 8010, "Port to listen on (T2T's Insights used 8010).")


def build_app(
    configuration_path: str, static_path: str = "", usr_dir: str = "", decode_hparams: str = ""
):
    """Reads the configuration, loads every model and returns the FastAPI app.

    Raises:
        T2TError: a bad configuration, a model that cannot be loaded, a bad static_path.
    """
    from t2t.insights import app, configuration, processor
    from t2t.value_checks import check_decode_hparams

    app._fastapi()  # a missing extra is reported before the models load
    config = configuration.read(configuration_path)
    if decode_hparams:  # a bad string is reported before the models load
        from t2t.decode import decoding

        check_decode_hparams(decoding.decode_hparams(decode_hparams))
    processors = {}
    for entry in config.models:
        log.info("loading model %r from %s", entry.label, entry.transformer["model_dir"])
        processors[entry.label] = processor.Processor(entry, usr_dir, decode_hparams)
    return app.create_app(config, processors, static_path)


def main(argv: list[str]) -> int | None:
    """Entry point of t2t-insights-server."""
    from t2t.errors import MissingExtraError, T2TError

    if len(argv) > 1:
        raise T2TError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not 0 < FLAGS.port < 65536:
        raise T2TError(f"--port={FLAGS.port} is not a port number (1-65535)")
    _check_port(FLAGS.host, FLAGS.port)  # before the models load
    application = build_app(
        FLAGS.configuration, FLAGS.static_path, FLAGS.t2t_usr_dir or "", FLAGS.decode_hparams
    )
    try:
        import uvicorn
    except ImportError:
        raise MissingExtraError(
            "t2t-insights-server needs uvicorn: pip install 't2t[serve]'"
        ) from None
    print(f"t2t Insights: http://{FLAGS.host}:{FLAGS.port}/", flush=True)
    uvicorn.run(application, host=FLAGS.host, port=FLAGS.port, log_level="warning")
    return 0


def _check_port(host: str, port: int) -> None:
    """Fails in one line when `host:port` cannot be listened on (uvicorn would only log it).

    Raises:
        T2TError: the address is taken or not this machine's.
    """
    import socket

    from t2t.errors import T2TError

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        raise T2TError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


def run() -> None:
    """Console-script entry point (`t2t-insights-server`)."""
    cli.run(main)


if __name__ == "__main__":
    run()
