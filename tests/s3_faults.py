"""A fault-injecting HTTP proxy on 127.0.0.1 in front of the tests' S3 server.

Clients (pyarrow's S3 filesystem, through `AWS_ENDPOINT_URL`) talk to the proxy; each request is
checked against the rules in order, and the first rule that matches (method, path regex) and
still has hits left does its fault instead of, or before, forwarding the request unchanged:

- `503`: answers `503 SlowDown` (S3's throttling reply), `500`: `500 InternalError`;
- `reset`: reads the request (or, with `partial=True`, half of its body) and resets the TCP
  connection (SO_LINGER 0), as a dropped connection or a dying load balancer does;
- `slow`: waits `delay_s` before forwarding, as an overloaded endpoint does.

`times=None` makes a rule persistent (until removed). Every injected fault is recorded in
`injected` (method, path, fault). It listens and forwards on 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_XML = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        "<Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>")
_REPLIES = {"503": (503, "SlowDown", "Please reduce your request rate."),
            "500": (500, "InternalError", "We encountered an internal error. Please try again.")}
_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te",
        "expect"}


@dataclass
class Rule:
    fault: str  # "503" | "500" | "reset" | "slow"
    methods: tuple[str, ...] = ("GET", "PUT", "POST", "HEAD", "DELETE")
    path: str = ""  # regex searched in the request path (bucket/key and query)
    times: int | None = 1  # hits left; None: persistent
    delay_s: float = 0.0
    partial: bool = False  # reset after half of the request body
    hits: int = field(default=0)

    def matches(self, method: str, path: str) -> bool:
        return (method in self.methods and re.search(self.path, path) is not None
                and (self.times is None or self.hits < self.times))


class FaultProxy:
    """The proxy; `endpoint` is what AWS_ENDPOINT_URL should say. Use as a context manager."""

    def __init__(self, upstream_port: int):
        self.upstream = ("127.0.0.1", upstream_port)
        self.rules: list[Rule] = []
        self.injected: list[tuple[str, str, str]] = []
        self.requests = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _body(self, limit: int | None = None) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                        if limit is not None and len(out) >= limit:
                            return out
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n if limit is None else min(n, limit))

            def _reset(self) -> None:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()

            def _handle(self) -> None:
                rule = proxy._match(self.command, self.path)
                if rule is not None and rule.fault == "reset":
                    n = int(self.headers.get("Content-Length") or 0)
                    self._body(n // 2 if rule.partial else None)
                    self._reset()
                    return
                body = self._body()
                if rule is not None and rule.fault in _REPLIES:
                    status, code, message = _REPLIES[rule.fault]
                    data = _XML.format(code=code, message=message).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                    return
                if rule is not None and rule.fault == "slow":
                    time.sleep(rule.delay_s)
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=120)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                    if body or self.command in ("PUT", "POST"):
                        headers["Content-Length"] = str(len(body))
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                self.send_response(resp.status, resp.reason)
                head = self.command == "HEAD"  # its Content-Length is the object's size
                for k, v in resp.getheaders():
                    if k.lower() not in _HOP and (head or k.lower() != "content-length"):
                        self.send_header(k, v)
                if not head:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _match(self, method: str, path: str) -> Rule | None:
        with self.lock:
            self.requests += 1
            for rule in self.rules:
                if rule.matches(method, path):
                    rule.hits += 1
                    self.injected.append((method, path, rule.fault))
                    return rule
        return None

    def add(self, fault: str, **kw) -> Rule:
        rule = Rule(fault, **kw)
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def __enter__(self) -> "FaultProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
