#!/usr/bin/env python3
"""A stand-in for a hosted OpenAI-compatible LLM, for the eval end-to-end tests.

It answers /v1/chat/completions and /v1/completions by a fixed keyword rule for SMS spam
(so its accuracy is known independently: the test recomputes it from the data), reports token
usage as whitespace-separated words, sleeps a little to have a latency, and injects faults the
client must survive: the first request gets HTTP 500, the second 429 with Retry-After: 0.
Usage: eval_fake_llm.py PORT_FILE  (binds a free loopback port and writes it to PORT_FILE)
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SPAM_WORDS = ("free", "txt", "claim", "prize", "call", "win", "urgent", "mobile", "cash", "reply")
lock = threading.Lock()
count = {"n": 0}


def classify(prompt):
    text = prompt.rsplit("Text:", 1)[-1].lower()
    return "spam" if any(w in text for w in SPAM_WORDS) else "ham"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        with lock:
            count["n"] += 1
            n = count["n"]
        if n == 1:
            return self.reply(500, {"error": {"message": "injected failure"}})
        if n == 2:
            return self.reply(429, {"error": {"message": "slow down"}}, [("Retry-After", "0")])
        if self.headers.get("Authorization") != "Bearer test-key":
            return self.reply(401, {"error": {"message": "bad key"}})
        chat = self.path.endswith("/chat/completions")
        prompt = body["messages"][-1]["content"] if chat else body.get("prompt", "")
        answer = classify(prompt)
        time.sleep(0.02)
        choice = {"index": 0, "finish_reason": "stop"}
        if chat:
            choice["message"] = {"role": "assistant", "content": answer.capitalize() + "."}
        else:
            choice["text"] = " " + answer
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": 2}
        if body.get("stream"):
            return self.stream(chat, answer, usage if body.get("stream_options", {}).get("include_usage") else None)
        headers = [("x-rightsize-route", "fake")]
        if self.headers.get("X-Test-Tag"):  # echoed, to show --header reaches the server
            headers.append(("x-rightsize-cache", self.headers["X-Test-Tag"]))
        self.reply(200, {"object": "chat.completion", "choices": [choice], "usage": usage}, headers)

    def stream(self, chat, answer, usage):
        """OpenAI-style SSE: the answer in two deltas, then a usage chunk, then [DONE]."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("x-rightsize-route", "fake")
        self.send_header("Connection", "close")
        self.end_headers()
        text = answer.capitalize() + "."
        for piece in (text[:2], text[2:]):
            delta = {"delta": {"content": piece}} if chat else {"text": piece}
            self.wfile.write(f"data: {json.dumps({'choices': [dict(index=0, **delta)]})}\n\n".encode())
            self.wfile.flush()
            time.sleep(0.01)
        if usage:
            self.wfile.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
