"""OTLP/HTTP wire handling: bodies in (protobuf or JSON, gzip), messages and responses out.

Follows the OTLP specification: ``application/x-protobuf`` and ``application/json`` bodies,
``Content-Encoding: gzip``, a response in the request's encoding carrying ``partial_success``
only when something was rejected, and ``google.rpc.Status`` bodies on errors. OTLP/JSON differs
from protobuf's canonical JSON in one way that matters: trace and span ids are hex, not base64.
"""

import base64
import json
import zlib
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_service
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_service
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_service

from llmobs_semconv import chunks
from llmobs_store._nesting import MAX_JSON_DEPTH, PROTOBUF_MAX_DEPTH, json_depth_problem
from llmobs_store.normaliser import key_values

KIND_TRACES = 1
KIND_METRICS = 2
KIND_LOGS = 3

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

_REQUESTS: dict[int, type[Message]] = {
    KIND_TRACES: trace_service.ExportTraceServiceRequest,
    KIND_METRICS: metrics_service.ExportMetricsServiceRequest,
    KIND_LOGS: logs_service.ExportLogsServiceRequest,
}
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})


class OtlpError(Exception):
    """A request the store refuses: HTTP status and the reason given to the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Accepted:
    """A parsed export request: what to spool and what to answer."""

    kind: int
    payload: bytes  # the request re-encoded as protobuf: the spool's format
    items: int
    rejected: int
    reason: str


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header; 415 when it is not an OTLP encoding."""
    bare = (content_type or "").split(";")[0].strip().lower()
    if bare not in (PROTOBUF, JSON):
        raise OtlpError(
            415, f"unsupported content type {bare or '(none)'!r}: use {PROTOBUF} or {JSON}"
        )
    return bare


# Members of one gzip body (what ``cat a.gz b.gz`` gives) beyond which it is refused: a client
# concatenates a few; thousands of empty members would only cost CPU (one inflater each).
MAX_GZIP_MEMBERS = 64
# Input is fed to zlib in pieces so that what is left after a member (``unused_data``, a copy)
# stays small whatever the body's size.
_PIECE = 64 * 1024


def decompress(body: bytes, encoding: str | None, max_bytes: int) -> bytes:
    """Undo Content-Encoding: every gzip member, nothing left over (400), never inflating the
    total past ``max_bytes`` (413)."""
    enc = (encoding or "identity").strip().lower()
    if enc == "identity" or not enc:
        return body
    if enc not in ("gzip", "deflate"):
        raise OtlpError(415, f"unsupported content encoding {enc!r}: use gzip or none")
    wbits = 16 + zlib.MAX_WBITS if enc == "gzip" else zlib.MAX_WBITS
    view = memoryview(body)
    out = bytearray()
    pos = members = 0
    pending = b""
    inflater: Any = None
    while pending or pos < len(body):
        if not pending:
            pending = bytes(view[pos : pos + _PIECE])
            pos += _PIECE
        if inflater is None:
            if members and enc == "deflate":
                raise OtlpError(400, "body is not valid deflate: bytes after the end of the stream")
            members += 1
            if members > MAX_GZIP_MEMBERS:
                raise OtlpError(400, f"gzip body has more than {MAX_GZIP_MEMBERS} members")
            inflater = zlib.decompressobj(wbits)
        try:
            # The budget left, never 0 (zlib reads 0 as "no limit"): the bomb stays cheap.
            out += inflater.decompress(pending, max_bytes + 1 - len(out))
        except zlib.error as exc:
            where = f" (member {members})" if members > 1 else ""
            raise OtlpError(400, f"body is not valid {enc}{where}: {exc}") from None
        if len(out) > max_bytes:
            raise OtlpError(413, f"decompressed body is larger than {max_bytes} bytes")
        if inflater.eof:
            pending = inflater.unused_data
            inflater = None
        else:
            pending = b""
    if inflater is not None:
        raise OtlpError(400, f"body is not valid {enc}: it ends in the middle of a stream")
    return bytes(out)


def parse(kind: int, media: str, data: bytes) -> Message:
    """Decode an export request; 400 naming what is malformed or nested too deeply."""
    message = _REQUESTS[kind]()
    if media == PROTOBUF:
        try:
            message.ParseFromString(data)
        except (DecodeError, RuntimeError, ValueError) as exc:
            # protobuf refuses messages nested too deeply with this same error.
            raise OtlpError(
                400,
                f"malformed protobuf {message.DESCRIPTOR.name} "
                f"(or messages nested deeper than {PROTOBUF_MAX_DEPTH}): {exc}",
            ) from None
    else:
        _parse_json(message, data)
    return message


def _parse_json(message: Message, data: bytes) -> None:
    try:
        doc = json.loads(data)
    except RecursionError:
        raise OtlpError(
            400, f"malformed JSON: nested deeper than {MAX_JSON_DEPTH} levels"
        ) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise OtlpError(400, f"malformed JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise OtlpError(400, "malformed JSON: the body must be an object")
    problem = json_depth_problem(doc)
    if problem:
        raise OtlpError(400, f"malformed OTLP JSON {message.DESCRIPTOR.name}: {problem}")
    try:
        _hex_ids_to_base64(doc)
        json_format.ParseDict(doc, message, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise OtlpError(400, f"malformed OTLP JSON {message.DESCRIPTOR.name}: {exc}") from None


def _hex_ids_to_base64(node: Any) -> None:
    """OTLP/JSON carries ids as hex; protobuf JSON expects base64 for bytes fields."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                try:
                    node[key] = base64.b64encode(bytes.fromhex(value)).decode()
                except ValueError:
                    raise ValueError(f"{key} is not hex: {value[:40]!r}") from None
            elif isinstance(value, dict | list):
                _hex_ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict | list):
                _hex_ids_to_base64(item)


def accept(kind: int, media: str, data: bytes) -> Accepted:
    """Parse and validate one request; invalid items are counted for ``partial_success``."""
    message = parse(kind, media, data)
    items = rejected = 0
    reason = ""
    if kind == KIND_TRACES:
        for rs in message.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    items += 1
                    if not valid_span_ids(span):
                        rejected += 1
                        reason = "span with an invalid trace_id or span_id"
    elif kind == KIND_LOGS:
        for rl in message.resource_logs:
            for sl in rl.scope_logs:
                for record in sl.log_records:
                    items += 1
                    problem = chunk_problem(record)
                    if problem:
                        rejected += 1
                        reason = problem
    else:
        for rm in message.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    which = metric.WhichOneof("data")
                    items += len(getattr(metric, which).data_points) if which else 0
    # Protobuf bodies are spooled as received (no re-encoding); JSON ones as protobuf.
    payload = data if media == PROTOBUF else bytes(message.SerializeToString())
    return Accepted(kind, payload, items, rejected, reason)


def valid_span_ids(span: Any) -> bool:
    return (
        len(span.trace_id) == 16
        and len(span.span_id) == 8
        and any(span.trace_id)
        and any(span.span_id)
    )


def chunk_problem(record: Any) -> str:
    """Why a content-chunk log record is invalid ('' when valid or not a chunk)."""
    attrs = key_values(record.attributes)
    if not chunks.is_chunk(attrs, record.event_name):
        return ""
    if len(record.trace_id) != 16 or len(record.span_id) != 8:
        return "content chunk without a valid trace_id and span_id"
    body = record.body.string_value if record.body.WhichOneof("value") == "string_value" else None
    try:
        chunks.ChunkRecord.from_log(record.trace_id.hex(), record.span_id.hex(), attrs, body)
    except ValueError as exc:
        return str(exc)
    return ""


def success_body(kind: int, media: str, rejected: int, reason: str) -> bytes:
    """The Export*ServiceResponse, with partial_success set only when something was rejected."""
    if kind == KIND_TRACES:
        response: Message = trace_service.ExportTraceServiceResponse()
        if rejected:
            response.partial_success.rejected_spans = rejected
    elif kind == KIND_LOGS:
        response = logs_service.ExportLogsServiceResponse()
        if rejected:
            response.partial_success.rejected_log_records = rejected
    else:
        response = metrics_service.ExportMetricsServiceResponse()
        if rejected:
            response.partial_success.rejected_data_points = rejected
    if rejected:
        response.partial_success.error_message = reason
    if media == JSON:
        return str(json_format.MessageToJson(response, indent=None)).encode()
    return bytes(response.SerializeToString())


def error_body(media: str, status: int, message: str) -> bytes:
    """A ``google.rpc.Status`` in the request's encoding (JSON when unknown)."""
    grpc_code = {400: 3, 413: 8, 415: 3, 429: 8, 503: 14, 401: 16}.get(status, 2)
    if media == PROTOBUF:
        return bytes(status_pb2.Status(code=grpc_code, message=message).SerializeToString())
    return json.dumps({"code": grpc_code, "message": message}).encode()
