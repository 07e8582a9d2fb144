"""The Insights HTTP server: T2T's routes, as a FastAPI application.

    GET /api/language_list/   {"language": [{"code", "name"}, ...]}
    GET /api/list_models/     {"configuration": [{"id", "source_language": {code, name},
                                                  "target_language": {code, name}}, ...]}
    GET /debug?source=TEXT&sl=CODE&tl=CODE&id=LABEL[&beam_size=K&alpha=A]
                              {"result": [processing, graph, beams, attention]}
    GET /anything/else        a file of the static directory, else its index.html

A request the server cannot answer (no such model, an empty or too long query, text the
vocabulary cannot encode, a bad beam_size) gets a 4xx answer {"error": "..."}; `sl` and
`tl`, which T2T needed to find the model, are optional here but must match when given.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from t2t.errors import MissingExtraError, T2TError
from t2t.insights.configuration import Configuration

log = logging.getLogger(__name__)

STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")
MAX_BEAM_SIZE = 16


def _fastapi():
    try:
        import fastapi
        import fastapi.responses
    except ImportError:
        raise MissingExtraError(
            "t2t-insights-server needs FastAPI and uvicorn: pip install 't2t[serve]'"
        ) from None
    return fastapi


def create_app(
    configuration: Configuration,
    processors: dict[str, Any],
    static_path: str = "",
) -> Any:
    """The FastAPI application serving `processors` (label -> `Processor`-like object).

    Args:
        configuration: the parsed configuration file (models and languages).
        processors: per model label, an object with `process(query, beam_size, alpha)`.
        static_path: the directory of the page (index.html, ...); default: the built-in page.

    Raises:
        T2TError: static_path is not a directory with an index.html.
    """
    fastapi = _fastapi()
    from fastapi.responses import FileResponse, JSONResponse

    static = os.path.realpath(os.path.expanduser(static_path or STATIC_DIR))
    if not os.path.isfile(os.path.join(static, "index.html")):
        raise T2TError(f"--static_path {static_path or static}: no index.html there")
    app = fastapi.FastAPI(title="t2t Insights", docs_url="/api/docs", redoc_url=None)

    def error(status: int, message: str) -> Any:
        return JSONResponse({"error": message}, status_code=status)

    @app.get("/api/language_list")
    @app.get("/api/language_list/")
    def language_list() -> dict[str, Any]:
        """The languages of the configuration."""
        return {"language": list(configuration.languages.values())}

    @app.get("/api/list_models")
    @app.get("/api/list_models/")
    def list_models() -> dict[str, Any]:
        """The models: id (label) and their source and target languages."""
        languages = configuration.languages
        models = [
            {
                "id": m.label,
                "source_language": languages[m.source_language],
                "target_language": languages[m.target_language],
            }
            for m in configuration.models
        ]
        return {"configuration": models}

    @app.get("/debug")
    def debug(
        source: str | None = None,
        sl: str | None = None,
        tl: str | None = None,
        id: str | None = None,  # noqa: A002 - T2T's parameter name
        beam_size: str | None = None,
        alpha: str | None = None,
    ) -> Any:
        """Translates `source` with model `id`: T2T's visualizations, beams and attention."""
        entry = next((m for m in configuration.models if m.label == id), None)
        if entry is None:
            known = ", ".join(repr(m.label) for m in configuration.models)
            return error(404, f"unknown model id {id!r} (known: {known})")
        for name, given, expected in (
            ("sl", sl, entry.source_language),
            ("tl", tl, entry.target_language),
        ):
            if given and given != expected:
                return error(404, f"model {id!r} translates {entry.source_language}->"
                             f"{entry.target_language}, not {name}={given!r}")  # fmt: skip
        if source is None:
            return error(400, "missing the query parameter 'source' (the text to translate)")
        try:
            beams = _number(beam_size, int, "beam_size", 1, MAX_BEAM_SIZE)
            length_penalty = _number(alpha, float, "alpha", 0.0, 10.0)
            return processors[entry.label].process(source, beams, length_penalty)
        except T2TError as problem:
            return error(400, str(problem))

    @app.get("/{path:path}")
    def page(path: str) -> Any:
        """A file of the static directory; any other path gets the page (index.html)."""
        if path.startswith("api/"):
            return error(404, f"no API endpoint /{path}")
        target = os.path.realpath(os.path.join(static, path))
        inside = target.startswith(static + os.sep)
        if path and inside and os.path.isfile(target):
            return FileResponse(target, headers={"Cache-Control": "no-cache"})
        return FileResponse(
            os.path.join(static, "index.html"), headers={"Cache-Control": "no-cache"}
        )

    return app


def _number(text: str | None, kind: Callable[[str], Any], name: str, low: float, high: float):
    """`text` as a number of `kind` in [low, high], or None when absent.

    Raises:
        T2TError: not a number of that kind, or out of range.
    """
    if text is None or text == "":
        return None
    try:
        value = kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise T2TError(f"{name}={text!r} is not {what}") from None
    if not low <= value <= high:
        raise T2TError(f"{name}={text} is out of range [{low:g}, {high:g}]")
    return value
