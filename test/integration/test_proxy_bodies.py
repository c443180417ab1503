"""Request bodies through the proxy: Content-Length and chunked bodies, request buffering
on and off, spilling to client_body_temp_path, client_max_body_size, Expect:
100-continue, and request smuggling attempts that must never reach the origin.

Configs use @A for the backend's address (127.0.0.1:port)."""

import os
import time

import pytest

from backend import Backends, chunk
from conftest import parse_response, read_response

pytestmark = pytest.mark.needs_module("http_proxy")


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def start(ptc, body, b):
    """Start the proxy with one server block on %PORT% whose body is `body`."""
    http = "server {\n    listen 127.0.0.1:%%PORT%%;\n%s\n}\n" % body
    return ptc.start(http.replace("@A", b.addr))


PASS = "location / { proxy_pass http://@A; }"


def chunked_request(path, pieces, extra=b""):
    head = ("POST %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            "Transfer-Encoding: chunked\r\n" % path).encode() + extra + b"\r\n"
    return head + b"".join(chunk(p) for p in pieces) + b"0\r\n\r\n"


def test_content_length_body_forwarded_exactly(ptc, backends):
    b = backends.new()
    srv = start(ptc, PASS, b)
    body = bytes(range(256)) * 10 + b"\r\n\r\nend"
    r = srv.get("/post", method="POST", body=body,
                headers=[("Content-Type", "application/octet-stream")])
    assert r.status == 200
    req = b.requests[0]
    assert (req.method, req.body, req.chunked) == ("POST", body, False)
    assert req.header_all("Content-Length") == [str(len(body))]
    assert req.header_all("Content-Type") == ["application/octet-stream"]
    assert req.raw.endswith(b"\r\n\r\n" + body)


def test_empty_content_length_body_forwarded(ptc, backends):
    b = backends.new()
    srv = start(ptc, PASS + "location /long/ { proxy_pass http://@A; "
                     "proxy_set_header X-Long " + "v" * 300 + "; }", b)
    for path in ("/empty", "/long/empty"):
        r = srv.get(path, method="POST", body=b"", timeout=3)
        assert r.status == 200
    assert [(q.target, q.body) for q in b.requests] == [("/empty", b""), ("/long/empty", b"")]
    assert all(q.header_all("Content-Length") == ["0"] for q in b.requests)


def test_chunked_body_forwarded_with_buffering(ptc, backends):
    b = backends.new()
    srv = start(ptc, PASS, b)
    pieces = [b"first;", b"x" * 3000, b"\r\n0\r\n\r\nlast"]
    out = srv.raw(chunked_request("/chunked", pieces))
    assert parse_response(out).status == 200
    req = b.requests[0]
    assert req.body == b"".join(pieces)
    if req.chunked:
        assert req.header("Content-Length") is None
    else:   # nginx: buffered, then sent with a length
        assert req.header_all("Content-Length") == [str(len(req.body))]
        assert req.header("Transfer-Encoding") is None


def test_chunked_body_streamed_without_request_buffering(ptc, backends):
    b = backends.new()
    srv = start(ptc, """location / { proxy_pass http://@A; proxy_http_version 1.1;
                                      proxy_request_buffering off; }""", b)
    s = srv.connect()
    s.sendall(chunked_request("/stream", [])[:-5])      # head only, no chunk yet
    s.sendall(chunk(b"part one;"))
    # unbuffered: the head and the first chunk reach the origin before the body ends
    assert srv.wait_for(lambda: b"part one;" in b.connections[0].raw, 3)
    assert b.requests == []
    s.sendall(chunk(b"part two") + b"0\r\n\r\n")
    r = read_response(s)
    s.close()
    assert r.status == 200
    req = b.requests[0]
    assert (req.body, req.chunked) == (b"part one;part two", True)
    assert req.header_all("Transfer-Encoding") == ["chunked"]


def test_large_body_spills_to_temp_file_and_is_removed(ptc, backends):
    b = backends.new()
    srv = start(ptc, """
        client_body_buffer_size 1k;
        client_body_temp_path %PREFIX%/body_temp;
        location / { proxy_pass http://@A; }""", b)
    body = os.urandom(100 * 1024)
    r = srv.get("/upload", method="POST", body=body, timeout=10)
    assert r.status == 200
    assert b.requests[0].body == body
    temp = srv.prefix / "body_temp"
    assert temp.is_dir()
    assert srv.wait_for(lambda: not [f for _, _, fs in os.walk(temp) for f in fs], 3)


def test_client_max_body_size_rejects_before_the_backend(ptc, backends):
    b = backends.new()
    srv = start(ptc, "client_max_body_size 1k;\n" + PASS, b)
    r = srv.get("/big", method="POST", body=b"z" * 2048)
    assert r.status == 413
    ok = srv.get("/small", method="POST", body=b"z" * 1024)
    assert ok.status == 200
    assert [q.target for q in b.requests] == ["/small"]
    assert len(b.connections) == 1


def test_expect_100_continue_answered_by_the_proxy(ptc, backends):
    b = backends.new()
    srv = start(ptc, PASS, b)
    s = srv.connect()
    s.sendall(b"POST /e HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
              b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    s.settimeout(3)
    interim = s.recv(4096)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert b.requests == []
    s.sendall(b"hello")
    r = read_response(s)
    s.close()
    assert r.status == 200
    req = b.requests[0]
    assert req.body == b"hello" and req.header("Expect") is None


# --- smuggling attempts -----------------------------------------------------


def test_content_length_with_chunked_is_rejected(ptc, backends):
    b = backends.new()
    srv = start(ptc, PASS, b)
    out = srv.raw(b"POST /s HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n"
                  b"5\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert parse_response(out).status == 400
    assert out.count(b"HTTP/1.1 ") == 1
    time.sleep(0.2)
    assert (b.requests, b.connections) == ([], [])


def test_two_content_lengths_are_rejected(ptc, backends):
    b = backends.new()
    srv = start(ptc, PASS, b)
    out = srv.raw(b"POST /s HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n"
                  b"Content-Length: 30\r\n\r\nabcGET /smuggled HTTP/1.1\r\n\r\n")
    assert parse_response(out).status == 400
    assert out.count(b"HTTP/1.1 ") == 1
    time.sleep(0.2)
    assert (b.requests, b.connections) == ([], [])


def test_request_inside_chunk_data_stays_body(ptc, backends):
    b = backends.new()
    srv = start(ptc, "location / { proxy_pass http://@A; proxy_http_version 1.1; }", b)
    inner = b"GET /smuggled HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"
    out = srv.raw(chunked_request("/outer", [inner, b"0\r\n\r\n" + inner]))
    assert parse_response(out).status == 200
    time.sleep(0.2)
    assert [(q.method, q.target) for q in b.requests] == [("POST", "/outer")]
    assert b.requests[0].body == inner + b"0\r\n\r\n" + inner
    assert b.connections[0].raw == b.requests[0].raw
