"""nginx proxy directives around the request and the response: proxy_set_body,
proxy_pass_request_body/headers, proxy_ignore_headers, proxy_cookie_*, proxy_bind,
proxy_force_ranges, proxy_limit_rate, $upstream_cookie_NAME."""
import time

import pytest

from backend import Backends, response, send

pytestmark = pytest.mark.needs_module("http_proxy")


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def start(ptc, b, loc="", http="", locations=""):
    return ptc.start(http + "server { listen 127.0.0.1:%%PORT%%; location / { "
                     "proxy_pass http://%s; %s } %s }" % (b.addr, loc, locations))


def answer(resp):
    return lambda req: send(resp, keep=False)


# ---- item 2: the request body and headers -----------------------------------


def test_set_body_replaces_the_body(ptc, backends):
    b = backends.new()
    srv = start(ptc, b, 'proxy_set_body "name=$arg_n&v=$http_x_v";')
    r = srv.get("/?n=x", method="POST", headers={"X-V": "y"}, body=b"abc")
    assert r.status == 200
    req = b.requests[0]
    assert req.body == b"name=x&v=y"
    assert req.header("Content-Length") == str(len(req.body))


def test_set_body_on_a_request_without_body(ptc, backends):
    b = backends.new()
    srv = start(ptc, b, "proxy_set_body hello;")
    assert srv.get("/").status == 200
    assert b.requests[0].body == b"hello"
    assert b.requests[0].header("Content-Length") == "5"


def test_set_body_with_unbuffered_chunked_request(ptc, backends):
    b = backends.new()
    srv = start(ptc, b, "proxy_set_body fixed; proxy_request_buffering off;")
    r = srv.get("/", method="POST", headers={"Transfer-Encoding": "chunked"},
                body=b"3\r\nabc\r\n0\r\n\r\n")
    assert r.status == 200
    req = b.requests[0]
    assert req.body == b"fixed" and req.header("Transfer-Encoding") is None


@pytest.mark.portico_only  # nginx forwards the client's Content-Length (configs add
# proxy_set_header Content-Length ""); Portico drops it with the body
def test_pass_request_body_off(ptc, backends):
    b = backends.new()
    srv = start(ptc, b, "proxy_pass_request_body off;")
    assert srv.get("/", method="POST", body=b"secret").status == 200
    req = b.requests[0]
    assert req.body == b"" and req.header("Content-Length") is None


def test_pass_request_body_off_auth_request_style(ptc, backends):
    b = backends.new()
    srv = start(ptc, b, 'proxy_pass_request_body off; proxy_set_header Content-Length "";')
    assert srv.get("/", method="POST", body=b"secret").status == 200
    req = b.requests[0]
    assert req.body == b"" and req.header("Content-Length") is None


def test_pass_request_headers_off(ptc, backends):
    b = backends.new()
    srv = start(ptc, b, "proxy_pass_request_headers off; proxy_set_header X-Kept yes;")
    assert srv.get("/", headers={"X-Client": "1"}).status == 200
    req = b.requests[0]
    assert req.header("X-Client") is None and req.header("X-Kept") == "yes"
