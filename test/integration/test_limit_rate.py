"""limit_rate, limit_rate_after and $limit_rate: the response body is sent at
most at the given rate per request, without holding up the worker's other
connections. Times are checked with loose bounds: nginx gives a request its
first second's worth at once, so SIZE at RATE takes about SIZE/RATE - 1
seconds. Configs use @A for a backend."""

import socket
import threading
import time

import pytest

from backend import Backends, response
from conftest import parse_response

KB = 1024


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def start(ptc, body, http="", b=None, files=None):
    conf = http + "\nserver {\n    listen 127.0.0.1:%PORT%;\n" + body + "\n}\n"
    if b is not None:
        conf = conf.replace("@A", b.addr)
    files = files or {}
    files.setdefault("html/big", b"x" * (400 * KB))
    return ptc.start(conf, files=files)


def timed(srv, path, timeout=20):
    """(seconds, parsed response) of one GET read to the end of the connection."""
    s = srv.connect()
    s.settimeout(timeout)
    t0 = time.monotonic()
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    elapsed = time.monotonic() - t0
    s.close()
    return elapsed, parse_response(data)


def test_static_file_at_the_rate(ptc):
    srv = start(ptc, "location / { limit_rate 200k; }")
    elapsed, r = timed(srv, "/big")
    assert r.status == 200 and len(r.body) == 400 * KB
    assert 0.6 <= elapsed <= 4.0, elapsed


def test_no_limit_is_fast(ptc):
    srv = start(ptc, "location / { limit_rate 0; }")
    elapsed, r = timed(srv, "/big")
    assert len(r.body) == 400 * KB
    assert elapsed < 0.5, elapsed


def test_limit_rate_after(ptc):
    srv = start(ptc, "location / { limit_rate 256k; limit_rate_after 1m; }",
                files={"html/big": b"y" * (1280 * KB)})
    elapsed, r = timed(srv, "/big")
    assert len(r.body) == 1280 * KB
    # 1m + the first second's 256k at once, then 256k more one second later;
    # without limit_rate_after it would take about four seconds
    assert 0.6 <= elapsed <= 2.5, elapsed


def test_other_connections_are_not_slowed(ptc):
    srv = start(ptc, "location / { limit_rate 100k; } location /fast { return 200 ok; }",
                files={"html/big": b"z" * (300 * KB)})
    result = {}

    def slow():
        result["slow"] = timed(srv, "/big")

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.2)
    times = []
    for _ in range(5):
        elapsed, r = timed(srv, "/fast")
        assert r.body == b"ok"
        times.append(elapsed)
    # a second limited download runs alongside at its own rate
    elapsed2, r2 = timed(srv, "/big")
    t.join(20)
    assert max(times) < 0.5, times
    assert len(r2.body) == 300 * KB and elapsed2 <= 4.0
    elapsed, r = result["slow"]
    assert len(r.body) == 300 * KB
    assert 1.2 <= elapsed <= 4.0, elapsed


def test_variable_value_and_log(ptc):
    srv = start(ptc, "location / { limit_rate $rate; access_log logs/lr.log lr; }",
                http="log_format lr '$uri $limit_rate';"
                     "map $arg_r $rate { default 0; slow 200k; }")
    elapsed, r = timed(srv, "/big?r=slow")
    assert elapsed >= 0.6 and len(r.body) == 400 * KB
    elapsed, r = timed(srv, "/big")
    assert elapsed < 0.5
    assert srv.wait_for(lambda: srv.access_log("lr.log").count("\n") == 2)
    assert srv.access_log("lr.log").splitlines() == ["/big 204800", "/big 0"]


def test_set_limit_rate(ptc):
    srv = start(ptc, "location / { limit_rate 1k; set $limit_rate 200k; }"
                     "location /show { set $limit_rate 20k; return 200 \"[$limit_rate]\"; }"
                     "location /before { limit_rate 10k; return 200 \"[$limit_rate]\"; }")
    elapsed, r = timed(srv, "/big")
    # at 1k/s this would take minutes
    assert 0.6 <= elapsed <= 4.0, elapsed
    assert srv.get("/show").body == b"[20480]"
    # limit_rate itself is applied when the response is written
    assert srv.get("/before").body == b"[0]"


def test_invalid_values_at_run_time(ptc):
    srv = start(ptc, "location /s { set $limit_rate bogus; return 200 \"[$limit_rate]\"; }"
                     "location /v { limit_rate $arg_r; return 200 x; }")
    assert srv.get("/s").body == b"[0]"
    assert srv.get("/v?r=bogus").body == b"x"
    assert srv.wait_for(lambda: 'invalid $limit_rate "bogus"' in srv.error_log())
    assert srv.wait_for(lambda: 'invalid size "bogus"' in srv.error_log())


def test_in_if_block(ptc):
    srv = start(ptc, "location / { if ($arg_slow) { limit_rate 200k; } }")
    assert timed(srv, "/big")[0] < 0.5
    assert timed(srv, "/big?slow=1")[0] >= 0.6


def test_inherited_from_server(ptc):
    srv = start(ptc, "limit_rate 200k; location / { } location /free/ { limit_rate 0; }",
                files={"html/big": b"x" * (400 * KB), "html/free/big": b"x" * (400 * KB)})
    assert timed(srv, "/big")[0] >= 0.6
    assert timed(srv, "/free/big")[0] < 0.5


def test_proxied_response(ptc, backends):
    b = backends.new(lambda req: response(200, b"p" * (400 * KB)))
    srv = start(ptc, "location / { limit_rate 200k; proxy_pass http://@A; }", b=b)
    elapsed, r = timed(srv, "/")
    assert len(r.body) == 400 * KB
    assert 0.6 <= elapsed <= 4.0, elapsed


def test_x_accel_limit_rate_from_the_origin(ptc, backends):
    def handler(req):
        rate = "204800" if "slow" in req.target else "bogus"
        return response(200, b"q" * (400 * KB), headers=[("X-Accel-Limit-Rate", rate)])
    b = backends.new(handler)
    srv = start(ptc, "location / { proxy_pass http://@A; }", b=b)
    elapsed, r = timed(srv, "/slow")
    assert len(r.body) == 400 * KB
    assert r.header("X-Accel-Limit-Rate") is None
    assert 0.6 <= elapsed <= 4.0, elapsed
    elapsed, r = timed(srv, "/fast")
    assert len(r.body) == 400 * KB and elapsed < 0.5


def test_keep_alive_requests_are_limited_each(ptc):
    srv = start(ptc, "location / { limit_rate 200k; }", files={"html/big": b"k" * (300 * KB)})
    s = srv.connect()
    s.settimeout(10)
    try:
        from conftest import read_response
        for _ in range(2):
            t0 = time.monotonic()
            s.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            r = read_response(s, timeout=10)
            assert len(r.body) == 300 * KB
            assert time.monotonic() - t0 >= 0.3
    finally:
        s.close()


@pytest.mark.parametrize("line, message", [
    ("limit_rate fast;", "invalid value"),
    ("limit_rate_after -1;", "invalid value"),
])
def test_config_errors(ptc, line, message):
    srv = ptc.prepare("server { listen 127.0.0.1:%%PORT%%; location / { %s } }" % line)
    r = srv.cli("-t")
    assert r.returncode == 1
    assert message in r.stderr
