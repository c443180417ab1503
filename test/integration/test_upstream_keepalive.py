"""Keep-alive connections to upstreams: reuse, limits, idle timeout, and the
transparent retry when the upstream closed a pooled connection."""

import pytest

from backend import Backends, close, response, send
from conftest import build_request, read_response

pytestmark = pytest.mark.needs_module("http_proxy")

KEEPALIVE = """
upstream up {{ server {addr}; keepalive 4; {extra} }}
server {{
    listen 127.0.0.1:%PORT%;
    location / {{
        proxy_pass http://up;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        {loc}
    }}
}}
"""


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def start(ptc, b, extra="", loc=""):
    return ptc.start(KEEPALIVE.format(addr=b.addr, extra=extra, loc=loc))


def get_n(srv, n, method="GET"):
    """n requests over one client keep-alive connection; their statuses."""
    s = srv.connect()
    out = []
    for i in range(n):
        s.sendall(build_request("/r%d" % i, method=method, headers={"Connection": "keep-alive"},
                                body=b"x" if method == "POST" else None))
        out.append(read_response(s).status)
    s.close()
    return out


def test_connection_is_reused(ptc, backends):
    b = backends.new()
    srv = start(ptc, b)
    assert get_n(srv, 5) == [200] * 5
    assert len({r.conn_id for r in b.requests}) == 1
    assert all(r.header("Connection") is None for r in b.requests)


def test_without_keepalive_each_request_opens_a_connection(ptc, backends):
    b = backends.new()
    srv = ptc.start("server { listen 127.0.0.1:%PORT%; location / { proxy_pass http://"
                    + b.addr + "; } }")
    assert get_n(srv, 3) == [200] * 3
    assert len({r.conn_id for r in b.requests}) == 3
    assert all(r.header("Connection") == "close" for r in b.requests)


def test_keepalive_requests_limits_reuse(ptc, backends):
    b = backends.new()
    srv = start(ptc, b, extra="keepalive_requests 2;")
    assert get_n(srv, 4) == [200] * 4
    ids = [r.conn_id for r in b.requests]
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]


def test_keepalive_timeout_closes_idle_connection(ptc, backends):
    b = backends.new()
    srv = start(ptc, b, extra="keepalive_timeout 1s;")
    assert get_n(srv, 1) == [200]
    conn = b.connections[0]
    assert conn.closed.wait(5), "the idle upstream connection was not closed"


def test_upstream_close_after_response_is_not_reused(ptc, backends):
    """Connection: close from the upstream: that connection is not pooled."""
    b = backends.new(lambda req: response(200, b"bye", [("Connection", "close")]))
    srv = start(ptc, b)
    assert get_n(srv, 3) == [200] * 3
    assert len({r.conn_id for r in b.requests}) == 3


def dies_on_second_request(req):
    # answers the first request of a connection, then closes the
    # connection when the next request arrives on it
    if sum(1 for r in dies_on_second_request.seen if r == req.conn_id):
        return close()
    dies_on_second_request.seen.append(req.conn_id)
    return send(response(200, b"ok"), keep=True)


@pytest.mark.portico_only
def test_closed_pooled_connection_is_retried_for_idempotent_requests(ptc, backends):
    dies_on_second_request.seen = []
    b = backends.new(dies_on_second_request)
    srv = start(ptc, b)
    assert get_n(srv, 4) == [200] * 4
    # every second request found a dead pooled connection and went again on
    # a fresh one; no peer was marked failed (requests keep succeeding)
    assert len(b.connections) >= 3


@pytest.mark.portico_only
def test_closed_pooled_connection_is_not_retried_for_post(ptc, backends):
    dies_on_second_request.seen = []
    b = backends.new(dies_on_second_request)
    srv = start(ptc, b)
    assert get_n(srv, 1, method="POST") == [200]
    assert get_n(srv, 1, method="POST") == [502]
