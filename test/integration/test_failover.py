"""Failover between upstream servers: proxy_next_upstream (error, http_500, off,
non_idempotent), proxy_next_upstream_tries, passive health (max_fails/fail_timeout), all
peers down, and the connect/read/send timeouts.

Configs name servers by address; every test runs one worker so that the passive-health
state it measures is the only state there is."""

import os
import time

import pytest

from backend import Backends, Blackhole, dead_port, hang, reset, response
from conftest import parse_response

pytestmark = pytest.mark.needs_module("http_proxy")


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def start(ptc, servers, extra=""):
    """One upstream `u` with the given server lines, proxied from / on %PORT%."""
    return ptc.start("""
        upstream u { %s }
        server {
            listen 127.0.0.1:%%PORT%%;
            client_body_temp_path %%PREFIX%%/body_temp;
            location / {
                proxy_pass http://u;
                add_header X-U $upstream_addr always;
                add_header X-S $upstream_status always;
                %s
            }
        }""" % ("".join("server %s; " % s for s in servers), extra))


def assert_error_page(r, status, reason):
    assert (r.status, r.reason) == (status, reason)
    assert ("<title>%d %s</title>" % (status, reason)).encode() in r.body
    assert ("<center><h1>%d %s</h1></center>" % (status, reason)).encode() in r.body


def test_dead_peer_is_skipped(ptc, backends):
    b = backends.new()
    dead = "127.0.0.1:%d" % dead_port()
    srv = start(ptc, [dead + " max_fails=0", b.addr + " max_fails=0"])
    seen = []
    for i in range(6):
        r = srv.get("/f%d" % i)
        assert (r.status, r.header("X-Backend")) == (200, b.name)
        seen.append(r.header("X-U"))
    assert set(seen) == {b.addr, "%s, %s" % (dead, b.addr)}, seen
    assert len(b.requests) == 6


def test_max_fails_takes_a_peer_out_for_fail_timeout(ptc, backends):
    bad = backends.new(lambda req: reset())
    good = backends.new()
    srv = start(ptc, [bad.addr + " max_fails=1 fail_timeout=2s", good.addr])
    t0 = time.monotonic()
    for i in range(6):                      # spread over 1.5 s
        assert srv.get("/a%d" % i).status == 200
        time.sleep(0.25)
    assert len(bad.connections) == 1        # tried once, then left alone
    time.sleep(max(0.0, 3.2 - (time.monotonic() - t0)))
    for i in range(6):
        assert srv.get("/b%d" % i).status == 200
    assert len(bad.connections) == 2        # tried again after fail_timeout, once
    assert len(good.requests) == 12


def test_all_peers_down_is_a_fast_502(ptc):
    srv = start(ptc, ["127.0.0.1:%d" % dead_port(), "127.0.0.1:%d" % dead_port()])
    for _ in range(2):
        t0 = time.monotonic()
        r = srv.get("/")
        assert time.monotonic() - t0 < 1.0
        assert_error_page(r, 502, "Bad Gateway")


@pytest.mark.parametrize("next_upstream", [True, False])
def test_http_500_retried_only_when_listed(ptc, backends, next_upstream):
    a = backends.new(lambda req: response(500, b"boom"))
    b = backends.new()
    extra = "proxy_next_upstream error timeout http_500;" if next_upstream else ""
    srv = start(ptc, [a.addr, b.addr], extra)
    results = [srv.get("/p%d" % i) for i in range(4)]
    assert len(a.requests) >= 1
    if next_upstream:
        assert [r.status for r in results] == [200] * 4
        assert len(b.requests) == 4
        assert "%s, %s" % (a.addr, b.addr) in [r.header("X-U") for r in results]
    else:
        fails = [r for r in results if r.status == 500]
        assert len(fails) == len(a.requests)
        assert all(r.body == b"boom" for r in fails)
        assert len(b.requests) == 4 - len(fails)


@pytest.mark.parametrize("directive, retried", [
    ("", False),
    ("proxy_next_upstream error non_idempotent;", True),
])
def test_post_not_retried_after_sending(ptc, backends, directive, retried):
    a = backends.new(lambda req: reset())
    b = backends.new()
    srv = start(ptc, [a.addr, b.addr + " backup"], directive)
    r = srv.get("/post", method="POST", body=b"payload")
    assert [(q.method, q.body) for q in a.requests] == [("POST", b"payload")]
    if retried:
        assert (r.status, r.header("X-Backend")) == (200, b.name)
        assert [(q.method, q.body) for q in b.requests] == [("POST", b"payload")]
    else:
        assert_error_page(r, 502, "Bad Gateway")
        assert b.requests == [] and b.connections == []


@pytest.mark.parametrize("directive, ok", [
    ("", True),
    ("proxy_next_upstream_tries 1;", False),
    ("proxy_next_upstream_tries 2;", True),
    ("proxy_next_upstream off;", False),
])
def test_next_upstream_limits(ptc, backends, directive, ok):
    b = backends.new()
    srv = start(ptc, ["127.0.0.1:%d" % dead_port(), b.addr + " backup"], directive)
    r = srv.get("/")
    if ok:
        assert (r.status, len(b.requests)) == (200, 1)
    else:
        assert_error_page(r, 502, "Bad Gateway")
        assert b.connections == []


def test_connect_timeout(ptc):
    with Blackhole() as hole:
        if not hole.hangs:
            pytest.skip("cannot make a loopback connect hang here")
        srv = start(ptc, [hole.addr], "proxy_connect_timeout 1s;")
        t0 = time.monotonic()
        r = srv.get("/", timeout=10)
        took = time.monotonic() - t0
    assert_error_page(r, 504, "Gateway Time-out")
    assert 0.8 < took < 3.0, took


def test_read_timeout_with_a_hanging_backend(ptc, backends):
    b = backends.new(lambda req: hang())
    srv = start(ptc, [b.addr], "proxy_read_timeout 1s;")
    t0 = time.monotonic()
    r = srv.get("/", timeout=10)
    took = time.monotonic() - t0
    assert_error_page(r, 504, "Gateway Time-out")
    assert 0.8 < took < 3.0, took
    assert len(b.requests) == 1


def test_send_timeout_with_a_backend_that_does_not_read(ptc, backends):
    b = backends.new(silent=True, rcvbuf=4096)
    srv = start(ptc, [b.addr], "proxy_send_timeout 1s; client_max_body_size 0;")
    body = os.urandom(16 * 1024 * 1024)
    s = srv.connect()
    s.sendall(("POST /up HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
               "Content-Length: %d\r\n\r\n" % len(body)).encode() + body)
    t0 = time.monotonic()
    s.settimeout(10)
    out = b""
    while True:
        data = s.recv(65536)
        if not data:
            break
        out += data
    took = time.monotonic() - t0
    s.close()
    assert_error_page(parse_response(out), 504, "Gateway Time-out")
    assert took < 5.0, took
    assert len(b.connections) == 1
