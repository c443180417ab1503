"""$request_body: the request body when it was read into memory (here by
the proxy, which reads it before choosing an upstream), as nginx has it:
nothing when no body was read, when it was empty, or when it went to a temp
file. Configs use @A for a backend."""

import pytest

from backend import Backends
from conftest import parse_response


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def start(ptc, b, extra=""):
    conf = ("log_format body '$request_method $request_body';"
            "server { listen 127.0.0.1:%PORT%; access_log logs/body.log body; " + extra +
            " location / { proxy_pass http://@A; }"
            " location /ret { return 200 \"[$request_body]\"; } }")
    return ptc.start(conf.replace("@A", b.addr))


def logged(srv, n):
    assert srv.wait_for(lambda: srv.access_log("body.log").count("\n") >= n)
    return srv.access_log("body.log").splitlines()


def test_body_read_by_the_proxy(ptc, backends):
    b = backends.new()
    srv = start(ptc, b)
    assert srv.get("/", method="POST", body=b"a=1&b=two").status == 200
    assert srv.get("/").status == 200
    assert logged(srv, 2) == ["POST a=1&b=two", "GET -"]
    assert b.requests[0].body == b"a=1&b=two"


def test_chunked_body_is_decoded(ptc, backends):
    b = backends.new()
    srv = start(ptc, b)
    req = (b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n")
    assert parse_response(srv.raw(req)).status == 200
    assert logged(srv, 1) == ["POST abcdefg"]


def test_escaped_in_the_log(ptc, backends):
    b = backends.new()
    srv = start(ptc, b)
    srv.get("/", method="POST", body=b'say "hi"\n')
    assert logged(srv, 1) == ['POST say \\x22hi\\x22\\x0A']


def test_body_in_a_temp_file_is_not_shown(ptc, backends):
    b = backends.new()
    srv = start(ptc, b, "client_body_buffer_size 1k;")
    body = b"x" * 4000
    assert srv.get("/", method="POST", body=body).status == 200
    small = b"y" * 1000
    assert srv.get("/", method="POST", body=small).status == 200
    assert logged(srv, 2) == ["POST -", "POST " + "y" * 1000]
    assert b.requests[0].body == body


def test_not_read_by_return(ptc, backends):
    b = backends.new()
    srv = start(ptc, b)
    assert srv.get("/ret", method="POST", body=b"data").body == b"[]"
    assert logged(srv, 1) == ["POST -"]


@pytest.mark.portico_only
def test_body_read_by_the_request_filter(ptc):
    srv = ptc.start("log_format body '$request_method $request_body';"
                    "server { listen 127.0.0.1:%PORT%; access_log logs/body.log body;"
                    " location /f/ { filter_rule never body ~ \"^never-matches$\" log; }"
                    " location /n/ { } }")
    assert srv.get("/f/x", method="POST", body=b"checked=1").status == 404
    assert srv.get("/n/x", method="POST", body=b"unread=1").status == 404
    # the filter read the first body for its rule; nothing read the second
    assert logged(srv, 2) == ["POST checked=1", "POST -"]
