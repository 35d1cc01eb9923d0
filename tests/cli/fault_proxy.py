#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of a real `rightsize serve` (the "large model").

Forwards every request to the target and relays the answer, except while a fault is armed:
  POST /__fault {"mode": M, "count": N, "seconds": S}
    mode "status500": answer HTTP 500 (an OpenAI error body) instead of forwarding
    mode "status429": answer 429 with Retry-After: 0
    mode "reset":     close the connection without answering
    mode "delay":     wait S seconds, then forward (a slow upstream; a timeout when S is long)
  for the next N proxied requests (count -1: until cleared with mode "none").
GET /__stats answers {"forwarded": n, "faults": n, "requests": n} (requests: all proxied ones).
GET /__received answers the bodies of every proxied POST, as text, in order (what the "large
model" was sent: the PII tests look for clear-text values in them).
Usage: fault_proxy.py TARGET_URL PORT_FILE  (binds a free loopback port, writes it to PORT_FILE)
"""
import json
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TARGET = sys.argv[1].rstrip("/")
lock = threading.Lock()
state = {"mode": "none", "count": 0, "seconds": 0.0, "forwarded": 0, "faults": 0, "requests": 0}
received = []


def take_fault():
    with lock:
        state["requests"] += 1
        if state["mode"] == "none" or state["count"] == 0:
            return None, 0.0
        if state["count"] > 0:
            state["count"] -= 1
        state["faults"] += 1
        return state["mode"], state["seconds"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body, headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/__stats":
            with lock:
                self.reply(200, {k: state[k] for k in ("forwarded", "faults", "requests")})
            return
        if self.path == "/__received":
            with lock:
                self.reply(200, list(received))
            return
        self.forward(b"")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/__fault":
            cmd = json.loads(body)
            with lock:
                state["mode"] = cmd.get("mode", "none")
                state["count"] = cmd.get("count", 1)
                state["seconds"] = float(cmd.get("seconds", 0))
            self.reply(200, {"ok": True})
            return
        with lock:
            received.append(body.decode("utf-8", "replace"))
        mode, seconds = take_fault()
        if mode == "status500":
            self.reply(500, {"error": {"message": "injected failure", "type": "server_error"}})
            return
        if mode == "status429":
            self.reply(429, {"error": {"message": "slow down", "type": "rate_limit_error"}},
                       [("Retry-After", "0")])
            return
        if mode == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.close_connection = True
            self.connection.close()
            return
        if mode == "delay":
            time.sleep(seconds)
        self.forward(body)

    def forward(self, body):
        req = urllib.request.Request(TARGET + self.path, data=body or None, method=self.command)
        for k in ("Content-Type", "Authorization"):
            if self.headers.get(k):
                req.add_header(k, self.headers[k])
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                code, data = r.status, r.read()
        except urllib.error.HTTPError as e:
            code, data = e.code, e.read()
        with lock:
            state["forwarded"] += 1
        try:
            self.reply(code, data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): that is the test


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client killed mid-request
            super().handle_error(request, client_address)


server = Server(("127.0.0.1", 0), Handler)
with open(sys.argv[2], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
