"""A local HTTP server on 127.0.0.1 for the download tests: serves files under the spec's
relative paths, honours Range requests, and can misbehave on purpose."""

import email.utils
import hashlib
import http.server
import re
import socketserver
import threading
from typing import Dict, List


class FileServer:
    """Serves `files` (relative URL path -> bytes). `mode` changes its behaviour:
    - "normal": 200 or 206 with correct headers and a plain MD5 ETag;
    - "no_range": ignores Range (always 200);
    - "cut": sends the declared length but closes after `cut_at` bytes of the body;
    - "bad_etag": a plain MD5 ETag that does not match the body;
    - "wrong_total": Content-Range / Content-Length totals 10 bytes larger than the file,
       body complete (a server whose stated size the data never reaches);
    - "no_etag": no ETag header;
    - "chunked": 200 in chunked transfer encoding, no Content-Length (Range ignored); with
       `cut_at`, the stream ends cleanly after that many bytes.
    """

    def __init__(self, files: Dict[str, bytes]):
        self.files = files
        self.mode = "normal"
        self.cut_at = 0
        self.requests: List[dict] = []
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server._handle(self)

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def gets(self, suffix: str) -> List[dict]:
        """The requests whose path ends with `suffix`."""
        with self._lock:
            return [r for r in self.requests if r["path"].endswith(suffix)]

    def _handle(self, h):
        path = h.path.lstrip("/")
        range_header = h.headers.get("Range")
        with self._lock:
            self.requests.append({"path": path, "range": range_header})
        data = self.files.get(path)
        if data is None:
            h.send_response(404)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        if self.mode == "chunked":
            h.send_response(200)
            h.send_header("Transfer-Encoding", "chunked")
            h.send_header("Connection", "close")
            h.end_headers()
            body = data[:self.cut_at] if self.cut_at else data
            for i in range(0, len(body), 65536):
                piece = body[i:i + 65536]
                h.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
            h.wfile.write(b"0\r\n\r\n")
            h.close_connection = True
            return
        size = len(data)
        start = 0
        partial = False
        declared_total = size + 10 if self.mode == "wrong_total" else size
        match = re.fullmatch(r"bytes=(\d+)-", range_header or "")
        if match and self.mode != "no_range":
            start = int(match.group(1))
            if start >= size:
                h.send_response(416)
                h.send_header("Content-Range", f"bytes */{declared_total}")
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            partial = True
        body = data[start:]
        h.send_response(206 if partial else 200)
        if partial:
            h.send_header("Content-Range", f"bytes {start}-{size - 1}/{declared_total}")
            h.send_header("Content-Length", str(len(body)))
        else:
            h.send_header("Content-Length", str(declared_total if self.mode == "wrong_total" else len(body)))
        if self.mode == "bad_etag":
            h.send_header("ETag", '"' + hashlib.md5(data + b"x").hexdigest() + '"')
        elif self.mode != "no_etag":
            h.send_header("ETag", '"' + hashlib.md5(data).hexdigest() + '"')
        h.send_header("Last-Modified", email.utils.formatdate(usegmt=True))
        h.send_header("Connection", "close")
        h.end_headers()
        if self.mode == "cut":
            h.wfile.write(body[:self.cut_at])
            h.wfile.flush()
            h.close_connection = True
            return
        if self.mode == "wrong_total" and not partial:
            h.wfile.write(body)  # 10 bytes short of the declared length: the client sees a cut
            h.close_connection = True
            return
        h.wfile.write(body)


def spec_files(fixture_dir: str, names=("small", "original")) -> Dict[str, bytes]:
    """The fixture's options.json and weights under the spec's relative paths for `names`."""
    import os
    from elmo.download import MODELS
    with open(os.path.join(fixture_dir, "options.json"), "rb") as f:
        options = f.read()
    with open(os.path.join(fixture_dir, "lm_weights.hdf5"), "rb") as f:
        weights = f.read()
    files = {}
    for name in names:
        config, stem = MODELS[name]
        files[f"{config}/{stem}_options.json"] = options
        files[f"{config}/{stem}_weights.hdf5"] = weights
    return files


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then released)."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
