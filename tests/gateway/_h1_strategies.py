"""Hypothesis strategies for HTTP/1.1 byte streams: plausible messages, then mutations.

Messages are built field by field with the variations parsers disagree on (framing headers
repeated, obfuscated or combined, chunk extensions and trailers, HTTP/1.0, Expect), and the
stream is then mutated a little (a byte inserted, dropped or repeated) so that the fuzzers
reach the edges of both parsers, not only their happy paths.
"""

from __future__ import annotations

from hypothesis import strategies as st

_TOKEN = st.text(
    "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-_!#$%&'*+.^`|~", min_size=1, max_size=12
)
_VALUE = st.binary(max_size=20).map(lambda b: bytes(0x20 + x % 0x5F for x in b))
_SPACE = st.sampled_from([b"", b" ", b"  ", b"\t"])
_INTERESTING = [b"\r", b"\n", b"\r\n", b"\x00", b" ", b"\t", b":", b",", b"0", b"chunked", b"\x7f"]


@st.composite
def _chunked(draw: st.DrawFn, body: bytes) -> bytes:
    out: list[bytes] = []
    rest = body
    while rest:
        size = draw(st.integers(1, len(rest)))
        ext = draw(st.sampled_from([b"", b";a=b", b"; x", b';q="v"']))
        hexa = draw(st.sampled_from([b"%x", b"%X", b"0%x"])) % size
        out.append(hexa + ext + b"\r\n" + rest[:size] + b"\r\n")
        rest = rest[size:]
    trailers = draw(st.sampled_from([b"", b"x-trailer: t\r\n", b"host: evil\r\n"]))
    return b"".join(out) + b"0\r\n" + trailers + b"\r\n"


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """One request: start line, headers, body framed as declared (mostly)."""
    method = draw(st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"HEAD"]))
    target = b"/" + draw(st.text("abc/?=&%._-~", max_size=10)).encode()
    version = draw(st.sampled_from([b"1.1", b"1.1", b"1.1", b"1.0"]))
    body = draw(st.binary(max_size=40))
    headers: list[bytes] = []
    for _ in range(draw(st.sampled_from([1, 1, 1, 0, 2]))):
        headers.append(draw(st.sampled_from([b"Host", b"host", b"HOST"])) + b": t")
    framing = draw(st.sampled_from(["length", "length", "chunked", "none", "both", "te-odd"]))
    if framing in ("length", "both"):
        for _ in range(draw(st.sampled_from([1, 1, 1, 2]))):
            name = draw(st.sampled_from([b"Content-Length", b"content-length"]))
            size = len(body) + draw(st.sampled_from([0, 0, 0, 1, -1]))
            headers.append(name + b":" + draw(_SPACE) + b"%d" % max(size, 0) + draw(_SPACE))
    if framing in ("chunked", "both", "te-odd"):
        value = b"chunked"
        if framing == "te-odd":
            value = draw(
                st.sampled_from(
                    [
                        b"gzip, chunked",
                        b"chunked, gzip",
                        b"Chunked",
                        b"chunked, chunked",
                        b"xchunked",
                        b"chunked ",
                        b"identity",
                        b" chunked",
                    ]
                )
            )
        headers.append(b"Transfer-Encoding:" + draw(_SPACE) + value)
    for _ in range(draw(st.integers(0, 3))):
        name = (
            draw(st.sampled_from([b"Connection", b"Expect", b"X-A", b"Upgrade"]))
            if draw(st.booleans())
            else draw(_TOKEN).encode()
        )
        value = (
            draw(st.sampled_from([b"close", b"keep-alive", b"100-continue", b"h2c", b"upgrade"]))
            if draw(st.booleans())
            else draw(_VALUE)
        )
        headers.append(name + b":" + draw(_SPACE) + value + draw(_SPACE))
    headers = draw(st.permutations(headers))
    head = method + b" " + target + b" HTTP/" + version + b"\r\n"
    head += b"".join(h + b"\r\n" for h in headers) + b"\r\n"
    if framing in ("chunked", "both", "te-odd"):
        return head + draw(_chunked(body))
    if framing == "none":
        return head
    return head + body


@st.composite
def responses(draw: st.DrawFn) -> bytes:
    """One upstream response (sometimes after a 1xx, sometimes followed by a second one)."""
    status = draw(st.sampled_from([200, 200, 201, 204, 304, 400, 404, 500, 503, 599]))
    version = draw(st.sampled_from([b"1.1", b"1.1", b"1.0"]))
    body = draw(st.binary(max_size=40))
    headers = [b"content-type: application/json"]
    framing = draw(st.sampled_from(["length", "length", "chunked", "close", "both", "te-odd"]))
    if framing in ("length", "both"):
        for _ in range(draw(st.sampled_from([1, 1, 1, 2]))):
            size = len(body) + draw(st.sampled_from([0, 0, 0, 1, -1]))
            headers.append(b"Content-Length:" + draw(_SPACE) + b"%d" % max(size, 0))
    if framing in ("chunked", "both", "te-odd"):
        value = b"chunked"
        if framing == "te-odd":
            value = draw(
                st.sampled_from([b"gzip, chunked", b"Chunked", b"chunked, chunked", b"identity"])
            )
        headers.append(b"Transfer-Encoding: " + value)
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from([b"x-request-id", b"Connection", b"retry-after"]))
        headers.append(name + b":" + draw(_SPACE) + draw(_VALUE) + draw(_SPACE))
    head = b"HTTP/" + version + b" %d Reason\r\n" % status
    head += b"".join(h + b"\r\n" for h in draw(st.permutations(headers))) + b"\r\n"
    if draw(st.integers(0, 4)) == 0:
        head = (
            draw(
                st.sampled_from(
                    [
                        b"HTTP/1.1 100 Continue\r\n\r\n",
                        b"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n",
                    ]
                )
            )
            + head
        )
    message = head + (draw(_chunked(body)) if framing in ("chunked", "both", "te-odd") else body)
    if draw(st.integers(0, 4)) == 0:  # a desync: a second response in the same write
        message += b"HTTP/1.1 200 OK\r\nx-request-id: EVIL\r\ncontent-length: 4\r\n\r\nEVIL"
    return message


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[bytes]) -> bytes:
    """``base``'s bytes with up to three small mutations at random places."""
    data = draw(base)
    for _ in range(draw(st.integers(0, 3))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["insert", "delete", "repeat", "flip"]))
        if op == "insert":
            data = data[:at] + draw(st.sampled_from(_INTERESTING)) + data[at:]
        elif op == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 4)) :]
        elif op == "repeat":
            data = data[:at] + data[at : at + 8] + data[at:]
        else:
            data = data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1 :]
    return data


def request_streams() -> st.SearchStrategy[bytes]:
    """One to three pipelined requests, mutated."""
    return mutated(st.lists(requests(), min_size=1, max_size=3).map(b"".join))


def response_streams() -> st.SearchStrategy[bytes]:
    return mutated(responses())
