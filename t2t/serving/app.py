"""The HTTP API of t2t-serve (FastAPI): text in, text out, and TF Serving's REST shape.

    POST /v1/translate                  {"inputs": ["a sentence", ...], "beam_size": 4,
                                         "alpha": 0.6, "n_best": 2, "extra_length": 50}
        -> {"model": NAME, "outputs": [{"input", "output", "score",
                                         "n_best": [{"output", "score"}, ...]}, ...]}
    POST /v1/models/NAME:predict        {"instances": [...]}  (TF Serving REST, as T2T's
        clients used it) -> {"predictions": [{"outputs": ids, "scores": s}, ...]}; an
        instance is a text, {"input": {"b64": serialized tf.Example}} (t2t-query-server's
        and T2T's Cloud ML form: "inputs" feature = ids + EOS) or {"inputs": [ids]}.
    GET  /v1/models/NAME                TF Serving's model status
    GET  /health                        200 {"status": "ok"} once the model is loaded
    GET  /metrics                       Prometheus text: requests, batches, latency, memory

Limits give 4xx answers, never a 5xx: a body over max_body_bytes 413, malformed JSON 400,
wrong types, too many instances, an input over max_input_tokens or text the vocabulary
cannot encode 422, a request not decoded within timeout_s 504, a full queue 503.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from t2t.errors import MissingExtraError, T2TError
from t2t.serving import batching
from t2t.serving.backends import Backend, DecodeOptions
from t2t.serving.metrics import Metrics

try:
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, PlainTextResponse
    from pydantic import BaseModel, ConfigDict, Field
except ImportError:  # the server is an extra; importing t2t must not need it
    FastAPI = None  # type: ignore[assignment,misc]
    BaseModel = object  # type: ignore[assignment,misc]


@dataclass
class ServerConfig:
    """Limits and batching of the server (t2t-serve's flags)."""

    servable_name: str = "t2t"
    max_body_bytes: int = 1 << 20
    max_instances: int = 64
    max_input_tokens: int = 256
    timeout_s: float = 30.0
    max_batch_size: int = 32
    batch_wait_ms: float = 5.0
    dynamic_batching: bool = True
    max_queue: int = 1024
    max_beam_size: int = 16
    max_extra_length: int = 512


if FastAPI is not None:

    class TranslateRequest(BaseModel):
        """Texts to decode, with optional decode options (the export's defaults else)."""

        model_config = ConfigDict(extra="forbid")
        inputs: list[str] = Field(min_length=1, description="Texts to decode.")
        beam_size: int | None = Field(None, ge=1, description="1: greedy.")
        alpha: float | None = Field(None, ge=0.0, le=10.0, description="Length penalty.")
        n_best: int | None = Field(None, ge=1, description="Beams returned (<= beam_size).")
        extra_length: int | None = Field(None, ge=0, description="Tokens beyond the input.")

    class Hypothesis(BaseModel):
        """One decode and its score (T2T's beam score)."""

        output: str
        score: float

    class Translation(BaseModel):
        """The decodes of one input: the best, and the n best."""

        input: str
        output: str
        score: float
        n_best: list[Hypothesis]

    class TranslateResponse(BaseModel):
        """The decodes, in input order."""

        model: str
        outputs: list[Translation]

    class PredictRequest(BaseModel):
        """TF Serving's REST request."""

        instances: list[str | dict[str, Any]] = Field(min_length=1)
        signature_name: str | None = None


class RequestError(Exception):
    """A bad request: answered with `status` and `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class BodyLimit:
    """ASGI middleware: a request body over `limit` bytes is answered 413 unread.

    It also reads every POST body as JSON whatever its Content-Type, as TF Serving does
    (`curl -d` sends form-encoded; T2T-era clients often set none).
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """ASGI entry: passes the request on, or answers 413 when its body is too large."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        if scope.get("method") == "POST" and b"json" not in headers.get(b"content-type", b""):
            headers[b"content-type"] = b"application/json"
            scope = dict(scope, headers=list(headers.items()))
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await _send_413(send, self.limit)
        seen = 0

        async def limited_receive() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _BodyTooLarge()
            return message

        started = False

        async def tracking_send(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _send_413(send, self.limit)


class _BodyTooLarge(Exception):
    pass


async def _send_413(send: Any, limit: int) -> None:
    body = f'{{"error": "request body over {limit} bytes"}}'.encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class Service:
    """The server's state: backend, batcher, limits, metrics."""

    def __init__(self, backend: Backend, config: ServerConfig, defaults: dict[str, Any]) -> None:
        self.backend = backend
        self.config = config
        self.defaults = defaults
        self.metrics = Metrics()
        self.batcher = batching.Batcher(
            self._decode, config.max_batch_size, config.batch_wait_ms, config.max_queue,
            jobs_per_batch=0 if config.dynamic_batching else 1,
        )  # fmt: skip
        self.ready = True  # the model is loaded; False once shutdown begins

    def _decode(self, options: DecodeOptions, inputs: list[list[int]]) -> list[Any]:
        start = time.perf_counter()
        beams = self.backend.decode(inputs, options)
        self.metrics.observe_batch(len(inputs), time.perf_counter() - start)
        return beams

    def options(self, beam_size: Any, alpha: Any, n_best: Any, extra_length: Any) -> DecodeOptions:
        """Request options over the export's defaults, checked against the limits."""
        d, c = self.defaults, self.config
        beam = beam_size if beam_size is not None else int(d.get("beam_size", 4))
        default_n = beam if d.get("return_beams") else 1
        n = n_best if n_best is not None else default_n
        extra = extra_length if extra_length is not None else int(d.get("extra_length", 100))
        if beam > c.max_beam_size:
            raise RequestError(422, f"beam_size {beam} is over this server's {c.max_beam_size}")
        if n > beam:
            raise RequestError(422, f"n_best {n} is over beam_size {beam}")
        if extra > c.max_extra_length:
            raise RequestError(422, f"extra_length {extra} is over {c.max_extra_length}")
        alpha = float(alpha if alpha is not None else d.get("alpha", 0.6))
        return DecodeOptions(beam_size=max(1, beam), alpha=alpha, n_best=n, extra_length=extra)

    def encode(self, text: str, index: int) -> list[int]:
        """Input ids of text number `index`, within the token limit (422 otherwise)."""
        try:
            ids = self.backend.encode(text)
        except T2TError as error:
            raise RequestError(422, f"input {index}: {error}") from None
        return self.check_length(ids, index)

    def check_length(self, ids: list[int], index: int) -> list[int]:
        """`ids` if within max_input_tokens (EOS not counted), else a 422."""
        if len(ids) > self.config.max_input_tokens:
            raise RequestError(
                422, f"input {index} has {len(ids)} tokens; the limit is "
                f"{self.config.max_input_tokens}",
            )  # fmt: skip
        return ids

    def check_count(self, count: int) -> None:
        """413 when a request holds more inputs than max_instances."""
        if count > self.config.max_instances:
            raise RequestError(
                413, f"{count} inputs in one request; the limit is {self.config.max_instances}"
            )

    async def decode(self, options: DecodeOptions, inputs: list[list[int]]) -> list[Any]:
        """The beams of `inputs`, through the batcher (504 past the time limit)."""
        try:
            return await asyncio.wait_for(
                self.batcher.submit(options, inputs), self.config.timeout_s
            )
        except asyncio.TimeoutError:
            raise RequestError(
                504, f"not decoded within {self.config.timeout_s:g} s (server busy?)"
            ) from None
        except batching.QueueFullError as error:
            raise RequestError(503, f"server busy: {error}") from None


def create_app(backend: Backend, config: ServerConfig | None = None,
               defaults: dict[str, Any] | None = None) -> Any:  # fmt: skip
    """The FastAPI application serving `backend` (wrapped in the body-size limit).

    Args:
        backend: what decodes (t2t.serving.backends).
        config: limits and batching.
        defaults: decode hparams (beam_size, alpha, extra_length, return_beams) used when a
            request gives none; default: the export's decode_hparams.json.

    Raises:
        MissingExtraError: fastapi is not installed.
    """
    if FastAPI is None:
        raise MissingExtraError("t2t-serve needs fastapi and uvicorn: pip install 't2t[serve]'")
    config = config or ServerConfig()
    if defaults is None:
        export = getattr(backend.loaded, "export", None)
        defaults = dict(export.decode_hparams) if export is not None else {}
    service = Service(backend, config, defaults)

    async def lifespan(app: Any):
        await service.batcher.start()
        yield
        service.ready = False
        await service.batcher.stop()  # every request in flight is decoded first

    app = FastAPI(title="t2t-serve", version="1", lifespan=lifespan)
    app.state.service = service
    _add_error_handlers(app, service)
    _add_routes(app, service)
    return BodyLimit(app, config.max_body_bytes)


def _add_error_handlers(app: Any, service: Service) -> None:
    @app.exception_handler(RequestError)
    async def request_error(request: Request, error: RequestError) -> JSONResponse:
        return JSONResponse({"error": error.message}, status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = error.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse({"error": "the body is not valid JSON"}, status_code=400)
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where or 'body'}: {first.get('msg', 'invalid request')}"
        return JSONResponse({"error": message}, status_code=422)

    @app.middleware("http")
    async def count(request: Request, call_next: Any) -> Any:
        start = time.perf_counter()
        response = await call_next(request)
        service.metrics.observe_request(
            request.url.path, response.status_code, time.perf_counter() - start
        )
        return response


def _add_routes(app: Any, service: Service) -> None:
    name = service.config.servable_name

    @app.post("/v1/translate", response_model=TranslateResponse)
    async def translate(body: TranslateRequest) -> dict[str, Any]:
        """Decodes texts; each answer has the best output, its score and the n best."""
        options = service.options(body.beam_size, body.alpha, body.n_best, body.extra_length)
        service.check_count(len(body.inputs))
        inputs = [service.encode(text, i) for i, text in enumerate(body.inputs)]
        results = await service.decode(options, inputs)
        outputs = []
        for text, beams in zip(body.inputs, results):
            hypotheses = [{"output": service.backend.text(ids), "score": s} for ids, s in beams]
            outputs.append({"input": text, **hypotheses[0], "n_best": hypotheses})
        return {"model": name, "outputs": outputs}

    @app.post("/v1/models/{model_verb}")
    async def predict(model_verb: str, body: PredictRequest) -> dict[str, Any]:
        """TF Serving's REST predict (`NAME:predict`): ids and scores per instance."""
        model, _, verb = model_verb.partition(":")
        if model != name or verb != "predict":
            raise RequestError(404, f"no servable {model_verb!r}: POST /v1/models/{name}:predict")
        service.check_count(len(body.instances))
        inputs, texts = _instances(service, body.instances)
        options = service.options(None, None, None, None)
        results = await service.decode(options, inputs)
        return {"predictions": [_prediction(service, beams, t) for beams, t in zip(results, texts)]}

    @app.get("/v1/models/{model}")
    async def model_status(model: str) -> dict[str, Any]:
        """TF Serving's model status."""
        if model != name:
            raise RequestError(404, f"no servable {model!r} (this server has {name!r})")
        status = {"error_code": "OK", "error_message": ""}
        return {"model_version_status": [{"version": "1", "state": "AVAILABLE", "status": status}]}

    @app.get("/health")
    async def health() -> JSONResponse:
        """200 when ready to decode, 503 once shutting down."""
        ok = service.ready
        body = {"status": "ok" if ok else "unavailable", "model": name}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> str:
        """Prometheus text exposition of the server's counters."""
        return service.metrics.render(service.batcher)


def _instances(service: Service, instances: Sequence[Any]) -> tuple[list[list[int]], list[bool]]:
    """Input ids of each TF Serving instance, and whether it was text (422 on bad ones)."""
    inputs, texts = [], []
    for i, instance in enumerate(instances):
        if isinstance(instance, str):
            inputs.append(service.encode(instance, i))
            texts.append(True)
            continue
        value = instance.get("input", instance.get("inputs"))
        if isinstance(value, dict) and isinstance(value.get("b64"), str):
            ids = _example_ids(value["b64"], i, service.backend.has_inputs)
        elif isinstance(value, str):
            ids = service.encode(value, i)
        elif isinstance(value, list) and all(isinstance(x, int) for x in value):
            ids = [x for x in value if x != 1] if value and value[-1] == 1 else list(value)
        else:
            raise RequestError(
                422, f"instance {i}: expected a text, {{'input': {{'b64': ...}}}} or "
                "{'inputs': [ids]}",
            )  # fmt: skip
        vocab_size = service.backend.input_vocab_size
        if any(not 0 <= x < vocab_size for x in ids):
            raise RequestError(422, f"instance {i}: ids must be in [0, {vocab_size})")
        inputs.append(service.check_length(ids, i))
        texts.append(False)
    return inputs, texts


def _example_ids(b64: str, index: int, has_inputs: bool) -> list[int]:
    """The "inputs" (or "targets") ids of a base64 serialized tf.Example, trailing EOS dropped."""
    from t2t.data.example_codec import decode_example

    try:
        example = decode_example(base64.b64decode(b64, validate=True))
    except (binascii.Error, ValueError, T2TError) as error:
        raise RequestError(422, f"instance {index}: not a base64 tf.Example ({error})") from None
    except Exception as error:  # protobuf's DecodeError and kin
        raise RequestError(
            422, f"instance {index}: not a tf.Example ({type(error).__name__})"
        ) from None
    feature = "inputs" if has_inputs else "targets"
    ids = example.get(feature)
    if ids is None:
        raise RequestError(422, f"instance {index}: the tf.Example has no {feature!r} feature")
    ids = [int(x) for x in list(ids)]
    return ids[:-1] if ids and ids[-1] == 1 else ids


def _prediction(service: Service, beams: list, text: bool) -> dict[str, Any]:
    """TF Serving's prediction: ids (per beam when n_best > 1) and scores."""
    from t2t.decode.decoding import cut_at_eos

    if len(beams) == 1:
        ids, score = beams[0]
        out: dict[str, Any] = {"outputs": cut_at_eos(ids), "scores": score}
        if text:
            out["text"] = service.backend.text(ids)
        return out
    out = {"outputs": [cut_at_eos(ids) for ids, _ in beams], "scores": [s for _, s in beams]}
    if text:
        out["text"] = [service.backend.text(ids) for ids, _ in beams]
    return out
