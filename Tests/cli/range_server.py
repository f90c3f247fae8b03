"""A local HTTP server for the download tests: serves files under the download spec's
relative paths, supports Range requests (206), sends the S3-style ETag (the file's MD5),
records every request, and can misbehave on purpose (see `Faults`; faults apply to the
weights file only, so that the options file before it downloads normally)."""
import hashlib
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Faults:
    # Send only this many body bytes of the next full (non-range) response, then hang up.
    truncate_next_full: int | None = None
    # Announce a total size this much larger than the file in Content-Range (answers 206).
    inflate_total: int = 0
    # Send this ETag instead of the file's MD5.
    etag: str | None = None
    # Answer range requests with the whole file (200), as a server without Range support does.
    ignore_range: bool = False
    # Send the body in 16 KiB pieces this many seconds apart (a slow link).
    delay: float = 0.0


@dataclass
class RangeServer:
    files: dict  # URL path ("/dir/name") -> bytes
    faults: Faults = field(default_factory=Faults)
    log: list = field(default_factory=list)  # (path, Range header or None, status)

    def __post_init__(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                body = server.files.get(self.path)
                rng = self.headers.get("Range")
                if body is None:
                    server.log.append((self.path, rng, 404))
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                f = server.faults if self.path.endswith("_weights.hdf5") else Faults()
                etag = f.etag or hashlib.md5(body).hexdigest()
                start = 0
                m = re.fullmatch(r"bytes=(\d+)-", rng or "")
                if m and not f.ignore_range:
                    start = int(m.group(1))
                    if start >= len(body):
                        server.log.append((self.path, rng, 416))
                        self.send_response(416)
                        self.send_header("ETag", f'"{etag}"')
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                partial = (m and not f.ignore_range) or f.inflate_total
                status = 206 if partial else 200
                server.log.append((self.path, rng, status))
                self.send_response(status)
                self.send_header("ETag", f'"{etag}"')
                self.send_header("Content-Length", str(len(body) - start))
                if partial:
                    total = len(body) + f.inflate_total
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{total}")
                self.end_headers()
                data = body[start:]
                if status == 200 and f.truncate_next_full is not None:
                    data = data[: f.truncate_next_full]
                    f.truncate_next_full = None
                    self.wfile.write(data)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if f.delay:
                    for i in range(0, len(data), 16384):
                        self.wfile.write(data[i:i + 16384])
                        self.wfile.flush()
                        time.sleep(f.delay)
                    return
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
