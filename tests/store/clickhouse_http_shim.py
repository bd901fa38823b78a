"""A ClickHouse HTTP interface in front of the real ClickHouse engine (chDB), for tests.

No ClickHouse server can run here (no Docker, no binaries), so this is the named fake at that
boundary: the SQL runs on the real engine, only the HTTP framing is emulated — enough of it for
clickhouse-connect's HTTP client with ``compress=False`` (queries and commands in the body or the
``query`` parameter, ``param_*`` bound parameters, ``INSERT … FORMAT Native`` bodies).
Run: ``python clickhouse_http_shim.py PORT DATA_DIR``.
"""

import re
import sys
import tempfile
import threading
from email.parser import BytesParser
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import chdb

_FORMAT = re.compile(r"\s+FORMAT\s+(\w+)\s*$", re.IGNORECASE)
_INSERT_NATIVE = re.compile(rb"^(INSERT INTO .*? FORMAT Native)\n", re.DOTALL)


class Handler(BaseHTTPRequestHandler):
    conn = None
    lock = threading.Lock()

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._answer(200, b"Ok.\n", "TabSeparated")

    def do_POST(self) -> None:
        url = urlparse(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = self._body()
        content_type = self.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            # Long queries and parameters arrive as form fields (as with a real server).
            form = BytesParser(policy=default).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + body
            )
            for part in form.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                if isinstance(name, str) and isinstance(payload, bytes):
                    params[name] = payload.decode()
            body = b""
        bound = {k[len("param_") :]: v for k, v in params.items() if k.startswith("param_")}
        try:
            with self.lock:
                data = self._run(params, body, bound)
        except Exception as exc:
            self._answer(500, f"Code: 1. DB::Exception: {exc}".encode(), "TabSeparated")
            return
        self._answer(200, data[0], data[1])

    def _body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("content-length") or 0))
        out = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return bytes(out)
            out += self.rfile.read(size)
            self.rfile.readline()

    def _run(self, params: dict[str, str], body: bytes, bound: dict[str, str]) -> tuple[bytes, str]:
        if "query" in params:
            sql_text, payload = params["query"], body
        else:
            match = _INSERT_NATIVE.match(body)
            if match:
                sql_text, payload = match.group(1).decode(), body[match.end() :]
            else:
                sql_text, payload = body.decode(), b""
        if payload and sql_text.lstrip().upper().startswith("INSERT"):
            with tempfile.NamedTemporaryFile(suffix=".native") as tmp:
                tmp.write(payload)
                tmp.flush()
                head = re.sub(r"\s+FORMAT\s+Native\s*$", "", sql_text, flags=re.IGNORECASE)
                self.conn.query(f"{head} FROM INFILE '{tmp.name}' FORMAT Native", "Null")
            return b"", "TabSeparated"
        match = _FORMAT.search(sql_text)
        fmt = match.group(1) if match else "TabSeparated"
        sql_text = sql_text[: match.start()] if match else sql_text
        if params.get("database") and not sql_text.lstrip().upper().startswith("CREATE DATABASE"):
            self.conn.query(f"USE {params['database']}", "Null")
        result = self.conn.query(sql_text, fmt, params=bound or None)
        return result.bytes(), fmt

    def _answer(self, status: int, data: bytes, fmt: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("X-ClickHouse-Format", fmt)
        self.send_header("X-ClickHouse-Timezone", "UTC")
        self.send_header("X-ClickHouse-Summary", '{"read_rows":"0","written_rows":"0"}')
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    port, path = int(sys.argv[1]), sys.argv[2]
    Handler.conn = chdb.connect(path)
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
