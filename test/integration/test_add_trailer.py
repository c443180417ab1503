"""add_trailer: fields sent after the last chunk of a chunked response, as
nginx does: the response is switched to chunked coding for HTTP/1.1 clients,
statuses as for add_header (or any with `always`), values with variables,
inheritance like add_header. Configs use @A for a backend."""

import pytest

from backend import Backends, response
from conftest import parse_response


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def start(ptc, body, http="", b=None):
    conf = http + "\nserver {\n    listen 127.0.0.1:%PORT%;\n" + body + "\n}\n"
    if b is not None:
        conf = conf.replace("@A", b.addr)
    return ptc.start(conf, files={"html/f.txt": "file body\n"})


def raw(srv, path, method="GET", version="1.1"):
    req = "%s %s HTTP/%s\r\nHost: x\r\nConnection: close\r\n\r\n" % (method, path, version)
    return srv.raw(req.encode())


def test_trailer_after_the_last_chunk(ptc):
    srv = start(ptc, 'location / { add_trailer X-Sum "abc"; return 200 "hello"; }')
    data = raw(srv, "/")
    r = parse_response(data)
    assert r.status == 200 and r.chunked
    assert r.header("Content-Length") is None
    assert r.body == b"hello"
    assert r.trailers == [("X-Sum", "abc")]
    assert data.endswith(b"\r\n0\r\nX-Sum: abc\r\n\r\n")


def test_static_file_becomes_chunked(ptc):
    srv = start(ptc, "location / { add_trailer X-A 1; add_trailer X-B 2; }")
    r = parse_response(raw(srv, "/f.txt"))
    assert r.chunked and r.header("Content-Length") is None
    assert r.body == b"file body\n"
    assert r.trailers == [("X-A", "1"), ("X-B", "2")]


def test_variables_in_the_value(ptc):
    srv = start(ptc, 'location / { add_trailer X-Info "$uri:$status"; return 200 "x"; }')
    r = parse_response(raw(srv, "/p"))
    assert r.trailers == [("X-Info", "/p:200")]


def test_empty_value_sends_nothing(ptc):
    srv = start(ptc, 'location / { add_trailer X-E "$arg_none"; return 200 "x"; }')
    data = raw(srv, "/")
    r = parse_response(data)
    assert r.chunked and r.trailers == []
    assert data.endswith(b"\r\n0\r\n\r\n")


def test_http10_gets_no_trailers(ptc):
    srv = start(ptc, 'location / { add_trailer X-T v; }')
    r = parse_response(raw(srv, "/f.txt", version="1.0"))
    assert not r.chunked
    assert r.header("Content-Length") == "10"
    assert r.body == b"file body\n"


def test_head_keeps_the_length(ptc):
    srv = start(ptc, 'location / { add_trailer X-T v; }')
    r = parse_response(raw(srv, "/f.txt", method="HEAD"), head=True)
    assert r.status == 200
    assert r.header("Content-Length") == "10"
    assert r.header("Transfer-Encoding") is None


def test_errors_need_always(ptc):
    srv = start(ptc, 'location /a { add_trailer X-T v; return 404; }'
                     'location /b { add_trailer X-T v always; return 404; }')
    r = parse_response(raw(srv, "/a"))
    assert r.status == 404
    assert r.trailers == []
    assert r.header("Content-Length") is not None
    r = parse_response(raw(srv, "/b"))
    assert r.status == 404 and r.chunked
    assert r.trailers == [("X-T", "v")]
    assert b"404 Not Found" in r.body


def test_inheritance(ptc):
    srv = start(ptc, 'add_trailer X-Srv s;'
                     'location /in { add_header X-H h; return 200 "a"; }'
                     'location /own { add_trailer X-Own o; return 200 "b"; }')
    r = parse_response(raw(srv, "/in"))
    assert r.trailers == [("X-Srv", "s")]
    assert r.header("X-H") == "h"
    r = parse_response(raw(srv, "/own"))
    assert r.trailers == [("X-Own", "o")]


def test_in_if_block(ptc):
    srv = start(ptc, 'location / { if ($arg_t) { add_trailer X-If y; } return 200 "a"; }')
    assert parse_response(raw(srv, "/")).header("Content-Length") == "1"
    assert parse_response(raw(srv, "/?t=1")).trailers == [("X-If", "y")]


def test_chunked_transfer_encoding_off(ptc):
    srv = start(ptc, 'location / { chunked_transfer_encoding off; add_trailer X-T v; }')
    r = parse_response(raw(srv, "/f.txt"))
    assert not r.chunked
    assert r.header("Content-Length") == "10"


def test_proxied_response(ptc, backends):
    b = backends.new(lambda req: response(200, b"from origin"))
    srv = start(ptc, 'location / { add_trailer X-Up "$upstream_status"; '
                     'proxy_pass http://@A; }', b=b)
    r = parse_response(raw(srv, "/"))
    assert r.chunked and r.body == b"from origin"
    assert r.trailers == [("X-Up", "200")]


def test_keep_alive_after_trailers(ptc):
    srv = start(ptc, 'location / { add_trailer X-T v; return 200 "x"; }')
    s = srv.connect()
    try:
        from conftest import read_response
        for _ in range(2):
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            r = read_response(s)
            assert r.trailers == [("X-T", "v")]
    finally:
        s.close()


def test_bad_parameter(ptc):
    srv = ptc.prepare("server { listen 127.0.0.1:%PORT%; location / { add_trailer A b sometimes; } }")
    r = srv.cli("-t")
    assert r.returncode == 1
    assert 'invalid parameter "sometimes"' in r.stderr
