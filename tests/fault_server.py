"""A fault-injecting OpenAI-compatible server for the fault tests (load generator, eval endpoint backend).

It is not a model server: it answers ``GET /v1/models`` and ``POST /v1/chat/completions`` (streaming and
not) with a fixed reply, and fails the requests its plan says, each the way a real server or network does —
an HTTP 500, a connection reset before any response, a stream reset after two chunks, a stream that just
ends after two chunks (a clean close, no finish_reason), a chunk that is not JSON, a slow first token. Requests are numbered in arrival order, streaming and non-streaming apart, so a
plan says which one fails how (``plan[i % len(plan)]``); ``served`` records what each request got.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OK, HTTP_500, RESET, MID_STREAM, GARBAGE = "ok", "http_500", "reset", "mid_stream", "garbage"
TRUNCATED = "truncated"  # two chunks, then a clean close: no finish_reason, no [DONE]
SLOW = "slow"  # the first token after slow_s seconds, then a normal reply
REPLY = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>'
TOKENS = ["It ", "is ", "3 ", "degrees."]


class FaultServer:
    def __init__(self, stream_plan: list[str] | None = None, plan: list[str] | None = None, slow_s: float = 0.5,
                 model: str = "fault-model") -> None:
        self.stream_plan, self.plan, self.slow_s, self.model = stream_plan or [OK], plan or [OK], slow_s, model
        self.served: list[tuple[bool, str]] = []  # (streaming, what it got), in arrival order
        self._lock = threading.Lock()
        self._counts = {True: 0, False: 0}
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def next_fault(self, streaming: bool) -> str:
        with self._lock:
            plan = self.stream_plan if streaming else self.plan
            fault = plan[self._counts[streaming] % len(plan)]
            self._counts[streaming] += 1
            self.served.append((streaming, fault))
            return fault

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _reset(self) -> None:  # RST, not FIN: what a crashed peer or a dropped connection looks like
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": server.model, "object": "model",
                                                                 "max_model_len": 4096}]})
                else:
                    self._json(404, {"error": {"message": "not found", "type": "NotFoundError", "code": 404}})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                streaming = bool(body.get("stream"))
                fault = server.next_fault(streaming)
                if fault == RESET:
                    return self._reset()
                if fault == HTTP_500:
                    return self._json(500, {"error": {"message": "injected failure", "type": "InternalServerError",
                                                      "code": 500}})
                if fault == SLOW:
                    time.sleep(server.slow_s)
                if not streaming:
                    if fault == GARBAGE:
                        data = b"{this is not json"
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                        return None
                    return self._json(200, {
                        "id": "c1", "object": "chat.completion", "created": 0, "model": server.model,
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": REPLY}}],
                        # about what a tokenizer would count, so a caller sizing prompts by it converges
                        "usage": {"prompt_tokens": 40 + len(json.dumps(body.get("messages"))) // 4,
                                  "completion_tokens": 12, "total_tokens": 52}})
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True

                def chunk(payload: Any) -> None:
                    text = payload if isinstance(payload, str) else json.dumps(payload)
                    self.wfile.write(f"data: {text}\n\n".encode())
                    self.wfile.flush()

                def delta(content: str) -> dict[str, Any]:
                    return {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": server.model,
                            "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}]}

                if fault == GARBAGE:
                    chunk(delta(TOKENS[0]))
                    chunk("{this is not json")
                    return None
                for i, token in enumerate(TOKENS):
                    chunk(delta(token))
                    if fault == TRUNCATED and i == 1:
                        return None
                    if fault == MID_STREAM and i == 1:
                        time.sleep(0.2)  # the client reads the two chunks first (a reset drops unread data)
                        return self._reset()
                chunk({**delta(""), "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]})
                chunk({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": server.model,
                       "choices": [], "usage": {"prompt_tokens": 40, "completion_tokens": len(TOKENS),
                                                "total_tokens": 40 + len(TOKENS)}})
                chunk("[DONE]")
                return None

        return Handler
