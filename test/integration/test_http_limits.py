"""Request limits and timeouts: header buffers, body size, client/keepalive/send timeouts,
keepalive_requests, server_tokens, Expect: 100-continue and body spooling to a file.

Locations that must read the request body proxy to a second server block on %PORT2%
(nginx reads a body only for a content handler that consumes it; `return` discards it).
"""

import os
import re
import socket
import time

import pytest

from conftest import parse_response, read_response

BACKEND = """
server {
    listen 127.0.0.1:%PORT2%;
    location / { return 200 "backend $request_method $uri"; }
}
"""

TOO_LARGE_TEXT = b"<center>Request Header Or Cookie Too Large</center>"


def exchange(srv, data, timeout=5.0, sock=None):
    """Send data and read until the server closes the connection.

    Returns (bytes read, closed, seconds waited): closed is False when the timeout
    passed first.
    """
    s = sock or srv.connect()
    out = b""
    start = time.monotonic()
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        while True:
            left = start + timeout - time.monotonic()
            if left <= 0:
                return out, False, time.monotonic() - start
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return out, False, time.monotonic() - start
            except ConnectionResetError:
                return out, True, time.monotonic() - start
            if not chunk:
                return out, True, time.monotonic() - start
            out += chunk
    finally:
        s.close()


def version_re(name):
    return re.escape(name) + r"/\d+\.\d+\.\d+"


# --- header buffers ---------------------------------------------------------------

HEADER_LIMITS = """
server {
    listen 127.0.0.1:%PORT%;
    client_header_buffer_size 1k;
    large_client_header_buffers 2 1k;
    location / { return 200 "ok"; }
}
"""


@pytest.fixture
def hsrv(ptc):
    return ptc.start(HEADER_LIMITS)


def test_long_request_line_is_414(hsrv):
    out, closed, _ = exchange(hsrv, b"GET /" + b"a" * 2048 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert closed
    resp = parse_response(out)
    assert (resp.status, resp.reason) == (414, "Request-URI Too Large")
    assert b"<center><h1>414 Request-URI Too Large</h1></center>" in resp.body


def test_request_line_within_large_buffer_is_served(hsrv):
    resp = hsrv.get("/" + "a" * 900)
    assert (resp.status, resp.body) == (200, b"ok")


def check_header_too_large(out, closed):
    assert closed
    assert out.startswith(b"HTTP/1.1 400 Bad Request\r\n"), out[:200]
    resp = parse_response(out)
    assert b"<title>400 Request Header Or Cookie Too Large</title>" in resp.body
    assert b"<center><h1>400 Bad Request</h1></center>" in resp.body
    assert TOO_LARGE_TEXT in resp.body
    assert resp.header("Connection") == "close"


def test_long_header_line_is_400_too_large(hsrv):
    out, closed, _ = exchange(hsrv, b"GET / HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 1500
                              + b"\r\n\r\n")
    check_header_too_large(out, closed)


def test_headers_beyond_large_buffers_are_400_too_large(hsrv):
    headers = b"".join(b"X-%d: %s\r\n" % (i, b"b" * 500) for i in range(6))
    out, closed, _ = exchange(hsrv, b"GET / HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    check_header_too_large(out, closed)


def test_headers_filling_large_buffers_are_served(hsrv):
    """Two 600-byte lines: each fits a 1k buffer of its own."""
    resp = hsrv.get("/", headers=[("X-%d" % i, "c" * 600) for i in range(2)])
    assert (resp.status, resp.body) == (200, b"ok")


# --- body size ----------------------------------------------------------------------

BODY_LIMITS = BACKEND + """
server {
    listen 127.0.0.1:%PORT%;
    client_max_body_size 10;
    location /ret { return 200 "ret"; }
    location /px { proxy_pass http://127.0.0.1:%PORT2%; }
    location /nolimit {
        client_max_body_size 0;
        proxy_pass http://127.0.0.1:%PORT2%;
    }
}
"""


@pytest.fixture
def bsrv(ptc):
    return ptc.start(BODY_LIMITS, ports=2)


@pytest.mark.needs_module("http_proxy")
@pytest.mark.parametrize("path", ["/ret", "/px"])
def test_content_length_over_limit_is_413(bsrv, path):
    out, closed, _ = exchange(bsrv, b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n"
                              b"hello world" % path.encode())
    assert closed
    resp = parse_response(out)
    assert (resp.status, resp.reason) == (413, "Request Entity Too Large")
    assert b"<center><h1>413 Request Entity Too Large</h1></center>" in resp.body


@pytest.mark.needs_module("http_proxy")
def test_content_length_at_limit_is_served(bsrv):
    resp = bsrv.get("/px", method="POST", body=b"helloworld")
    assert (resp.status, resp.body) == (200, b"backend POST /px")


@pytest.mark.needs_module("http_proxy")
def test_chunked_body_over_limit_is_413(bsrv):
    out, closed, _ = exchange(bsrv, b"POST /px HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                              b"\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n")
    assert closed
    assert parse_response(out).status == 413


@pytest.mark.needs_module("http_proxy")
def test_chunked_body_at_limit_is_served(bsrv):
    resp = bsrv.get("/px", method="POST", headers=[("Transfer-Encoding", "chunked")],
                    body=b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n")
    assert (resp.status, resp.body) == (200, b"backend POST /px")


@pytest.mark.needs_module("http_proxy")
def test_max_body_size_zero_disables_check(bsrv):
    resp = bsrv.get("/nolimit", method="POST", body=b"x" * 100000)
    assert (resp.status, resp.body) == (200, b"backend POST /nolimit")
    resp = bsrv.get("/nolimit", method="POST", headers=[("Transfer-Encoding", "chunked")],
                    body=b"ffff\r\n" + b"y" * 0xffff + b"\r\n0\r\n\r\n")
    assert (resp.status, resp.body) == (200, b"backend POST /nolimit")


# --- timeouts -------------------------------------------------------------------------

def test_client_header_timeout_closes_without_response(ptc):
    srv = ptc.start('server { listen 127.0.0.1:%PORT%; client_header_timeout 1s;'
                    ' location / { return 200 "ok"; } }')
    out, closed, waited = exchange(srv, b"GET / HTTP/1.1\r\nHost: x\r\n", timeout=5)
    assert (out, closed) == (b"", True)
    assert 0.8 <= waited < 4


@pytest.mark.needs_module("http_proxy")
def test_client_body_timeout_closes_without_response(ptc):
    srv = ptc.start(BACKEND + 'server { listen 127.0.0.1:%PORT%; client_body_timeout 1s;'
                    ' location / { proxy_pass http://127.0.0.1:%PORT2%; } }', ports=2)
    out, closed, waited = exchange(srv, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
                                   b"\r\nabc", timeout=5)
    assert (out, closed) == (b"", True)
    assert 0.8 <= waited < 4


def test_keepalive_timeout_closes_idle_connection(ptc):
    srv = ptc.start('server { listen 127.0.0.1:%PORT%; keepalive_timeout 1s;'
                    ' location / { return 200 "ok"; } }')
    s = srv.connect()
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    resp = read_response(s)
    assert (resp.status, resp.header("Connection")) == (200, "keep-alive")
    out, closed, waited = exchange(srv, b"", timeout=5, sock=s)
    assert (out, closed) == (b"", True)
    assert 0.8 <= waited < 4


def test_keepalive_timeout_zero_closes_after_response(ptc):
    srv = ptc.start('server { listen 127.0.0.1:%PORT%; keepalive_timeout 0;'
                    ' location / { return 200 "ok"; } }')
    out, closed, waited = exchange(srv, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert closed and waited < 2
    resp = parse_response(out)
    assert (resp.status, resp.header("Connection"), resp.body) == (200, "close", b"ok")


def test_keepalive_requests_limits_requests_per_connection(ptc):
    srv = ptc.start('server { listen 127.0.0.1:%PORT%; keepalive_requests 3;'
                    ' location / { return 200 "r$uri"; } }')
    s = srv.connect()
    for i in (1, 2):
        s.sendall(b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
        resp = read_response(s)
        assert (resp.body, resp.header("Connection")) == (b"r/%d" % i, "keep-alive")
    s.sendall(b"GET /3 HTTP/1.1\r\nHost: x\r\n\r\n")
    resp = read_response(s)
    assert (resp.body, resp.header("Connection")) == (b"r/3", "close")
    out, closed, _ = exchange(srv, b"", timeout=3, sock=s)
    assert (out, closed) == (b"", True)


def test_send_timeout_closes_stalled_transfer(ptc):
    size = 8 << 20
    srv = ptc.start('server { listen 127.0.0.1:%PORT%; send_timeout 1s; root html; }',
                    files={"html/big.bin": b"z" * size})
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5)
    s.connect(("127.0.0.1", srv.port))
    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(2.5)  # the client stalls (reads nothing) well past send_timeout
    out, closed, _ = exchange(srv, b"", timeout=10, sock=s)
    assert closed
    assert out.startswith(b"HTTP/1.1 200 OK\r\n")
    assert len(out) < size


# --- server_tokens ----------------------------------------------------------------------

TOKENS = """
server {
    listen 127.0.0.1:%PORT%;
    location /off { server_tokens off; return 404; }
    location /on { server_tokens on; return 404; }
    location / { return 404; }
}
"""


@pytest.mark.parametrize("path,versioned", [("/off", False), ("/on", True), ("/", True)],
                         ids=["off", "on", "default"])
def test_server_tokens(ptc, path, versioned):
    srv = ptc.start(TOKENS)
    resp = srv.get(path)
    assert resp.status == 404
    footer = re.search(rb"<hr><center>([^<]*)</center>", resp.body).group(1).decode()
    if versioned:
        assert re.fullmatch(version_re(srv.name), resp.header("Server"))
        assert footer == resp.header("Server")
    else:
        assert resp.header("Server") == srv.name
        assert footer == srv.name


# --- Expect: 100-continue and body spooling -------------------------------------------------

def test_expect_100_continue(ptc):
    srv = ptc.start('server { listen 127.0.0.1:%PORT%; location / { return 200 "done"; } }')
    s = srv.connect()
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n"
              b"Connection: close\r\n\r\n")
    interim = b""
    while not interim.endswith(b"\r\n\r\n"):
        chunk = s.recv(1)
        assert chunk, interim
        interim += chunk
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    s.sendall(b"hello")
    out, closed, _ = exchange(srv, b"", sock=s)
    resp = parse_response(out)
    assert (resp.status, resp.body) == (200, b"done")


def test_no_100_continue_without_expect(ptc):
    srv = ptc.start('server { listen 127.0.0.1:%PORT%; location / { return 200 "done"; } }')
    out, closed, _ = exchange(srv, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                              b"Connection: close\r\n\r\nhello")
    assert closed
    assert out.startswith(b"HTTP/1.1 200 OK\r\n")


@pytest.mark.needs_module("http_proxy")
def test_body_in_file_only_spools_to_temp_path(ptc):
    srv = ptc.start(BACKEND + """
server {
    listen 127.0.0.1:%PORT%;
    client_body_temp_path %PREFIX%/body;
    location / {
        client_body_buffer_size 1k;
        client_body_in_file_only on;
        proxy_pass http://127.0.0.1:%PORT2%;
    }
}
""", ports=2)
    body = bytes(range(256)) * 20
    resp = srv.get("/up", method="POST", body=body)
    assert (resp.status, resp.body) == (200, b"backend POST /up")
    spooled = [os.path.join(d, f) for d, _, fs in os.walk(srv.prefix / "body") for f in fs]
    assert len(spooled) == 1, spooled
    with open(spooled[0], "rb") as f:
        assert f.read() == body
