"""queue N [timeout=T] in upstream (a Portico extension; nginx's open-source
proxy fails at once): requests wait while every server is at max_conns."""
import threading
import time

import pytest

from backend import Backends, hang, slow

pytestmark = [pytest.mark.needs_module("http_proxy"), pytest.mark.portico_only]


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def start(ptc, b, queue):
    return ptc.start("upstream up { server %s max_conns=1; %s }\n"
                     "server { listen 127.0.0.1:%%PORT%%; location / { proxy_pass http://up; } }"
                     % (b.addr, queue))


def concurrent_gets(srv, n, timeout=10):
    results = [None] * n

    def one(i):
        try:
            results[i] = srv.get("/%d" % i, timeout=timeout).status
        except Exception as e:  # noqa: BLE001 - report what went wrong
            results[i] = repr(e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 5)
    return results


def slow_ok(req):
    return slow([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n", b"ok"],
                delay=0.3)


def test_requests_wait_for_a_free_connection(ptc, backends):
    b = backends.new(slow_ok)
    srv = start(ptc, b, "queue 10 timeout=5s;")
    assert concurrent_gets(srv, 4) == [200] * 4
    # max_conns=1: the backend never had two requests at once
    assert len(b.requests) == 4


def test_full_queue_answers_503(ptc, backends):
    b = backends.new(slow_ok)
    srv = start(ptc, b, "queue 1 timeout=5s;")
    results = concurrent_gets(srv, 4)
    assert sorted(results).count(200) >= 2 and 503 in results, results


def test_queue_timeout_answers_503(ptc, backends):
    b = backends.new(lambda req: hang())
    srv = start(ptc, b, "queue 5 timeout=1s;")
    s = srv.connect()
    s.sendall(b"GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")  # takes the only slot
    assert b.wait_requests(1, 5)
    began = time.monotonic()
    r = srv.get("/waits", timeout=10)
    waited = time.monotonic() - began
    s.close()
    assert r.status == 503
    assert 0.8 <= waited < 3


def test_without_queue_busy_servers_fail_at_once(ptc, backends):
    b = backends.new(lambda req: hang())
    srv = start(ptc, b, "")
    s = srv.connect()
    s.sendall(b"GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b.wait_requests(1, 5)
    began = time.monotonic()
    assert srv.get("/now", timeout=10).status == 502
    assert time.monotonic() - began < 1
    s.close()
