"""Reading one client request: headers of interest, the bounded body, the JSON, identities."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from llmobs_semconv import attributes as A

_SESSION_HEADER = A.HEADER_SESSION_ID.encode()
_USER_HEADER = A.HEADER_USER_ID.encode()
_CALLER_SPAN_HEADER = A.HEADER_CALLER_SPAN_ID.encode()
_HEX = frozenset("0123456789abcdef")


class BadRequest(Exception):
    """A caller's mistake: answered with an OpenAI-shaped error, never a 500."""

    def __init__(
        self, status: int, message: str, code: str | None = None, param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param


@dataclass
class IncomingRequest:
    """What the gateway needs from the client's request (headers read in one pass)."""

    authorization: str | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    baggage: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    caller_span_id: str | None = None
    forwarded: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    doc: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_headers(
        cls,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        forward_prefixes: tuple[bytes, ...] = (),
    ) -> IncomingRequest:
        req = cls(body=body)
        for name, value in headers:
            if forward_prefixes and name.startswith(forward_prefixes):
                req.forwarded.append((name, value))
            # Header names arrive lower-cased from the server.
            if name == b"authorization":
                req.authorization = value.decode("latin-1")
            elif name == b"traceparent":
                req.traceparent = value.decode("latin-1")
            elif name == b"tracestate":
                req.tracestate = value.decode("latin-1")
            elif name == b"baggage":
                req.baggage = value.decode("latin-1")
            elif name == _SESSION_HEADER:
                req.session_id = value.decode("utf-8", "replace")
            elif name == _USER_HEADER:
                req.user_id = value.decode("utf-8", "replace")
            elif name == _CALLER_SPAN_HEADER:
                span_id = value.decode("latin-1").strip().lower()
                # Only a well-formed span id is recorded: the store joins on it.
                if len(span_id) == 16 and set(span_id) <= _HEX and span_id != "0" * 16:
                    req.caller_span_id = span_id
        if req.baggage and (req.session_id is None or req.user_id is None):
            entries = parse_baggage(req.baggage)
            req.session_id = req.session_id or entries.get(A.BAGGAGE_SESSION_ID)
            req.user_id = req.user_id or entries.get(A.BAGGAGE_USER_ID)
        return req

    def parse(self) -> str:
        """Parse the JSON body; returns the requested model."""
        if not self.body:
            raise BadRequest(400, "Request body is empty; expected a JSON object")
        try:
            doc = json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(400, f"Request body is not valid JSON: {exc}") from None
        except RecursionError:  # a body's bytes are the caller's: deep nesting is no 500
            raise BadRequest(400, "Request body is nested too deeply") from None
        if not isinstance(doc, dict):
            raise BadRequest(400, "Request body must be a JSON object")
        model = doc.get("model")
        if not isinstance(model, str) or not model:
            raise BadRequest(400, "You must provide a model parameter", param="model")
        self.doc = doc
        return model

    def api_key(self) -> str | None:
        auth = self.authorization
        if auth and auth[:7].lower() == "bearer ":
            return auth[7:].strip() or None
        return None


def key_digest(key: str) -> str:
    """Full sha256 hex digest of a caller key (what ``api_keys`` in the config lists)."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_identity(digest: str | None) -> str:
    """The caller identity recorded on spans and used by limits: a digest prefix, never the key."""
    return digest[:16] if digest else "anonymous"


def parse_baggage(header: str) -> dict[str, str]:
    """W3C baggage ``k=v;props,k2=v2`` -> {k: v} (percent-decoded, properties dropped)."""
    out: dict[str, str] = {}
    for member in header.split(",")[:64]:  # the spec's limit is 64 members (180 in practice)
        kv = member.split(";", 1)[0]
        key, sep, value = kv.partition("=")
        if sep and key.strip():
            out[unquote(key.strip())] = unquote(value.strip())
    return out
