"""limit_req and limit_conn: request rates (leaky bucket with burst, delay, nodelay,
delay=N), connections in progress per key, their statuses, dry runs, variables, log
messages, state shared by workers and kept over a reload, and config errors.

`return` answers in the rewrite phase, before limits apply (as in nginx), so limited
locations serve static files."""

import re
import socket
import struct
import threading
import time

import pytest

from backend import Backends, custom, response
from conftest import build_request, read_response

FILES = {"html/index.html": "index\n", "html/f": "file\n", "html/busy.html": "busy\n"}
LOG = "log_format st '$uri $status $limit_req_status $limit_conn_status';\n"


def server(body, http=""):
    return (LOG + http + "\nserver {\n    listen 127.0.0.1:%PORT%;\n    root html;\n"
            "    access_log logs/st.log st;\n" + body + "\n}\n")


def start(ptc, body, http="", **kw):
    return ptc.start(server(body, http), files=dict(FILES, **kw.pop("files", {})), **kw)


def codes(srv, path="/f", n=1, headers=None):
    return [srv.get(path, headers=headers).status for _ in range(n)]


def log_lines(srv, n, name="st.log"):
    """The first n lines of the access log, once there are n."""
    assert srv.wait_for(lambda: len(srv.access_log(name).splitlines()) >= n), \
        srv.access_log(name)
    return srv.access_log(name).splitlines()[:n]


def timed_parallel(srv, paths, headers=None):
    """Send every request at once on its own connection; [(status, seconds)] in order."""
    out = [None] * len(paths)
    ready = threading.Barrier(len(paths))

    def one(i, path):
        s = srv.connect()
        s.settimeout(15)
        ready.wait()
        t0 = time.monotonic()
        s.sendall(build_request(path, headers=headers))
        try:
            r = read_response(s, timeout=15)
            out[i] = (r.status, time.monotonic() - t0)
        finally:
            s.close()

    threads = [threading.Thread(target=one, args=(i, p)) for i, p in enumerate(paths)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return out


# --- limit_req: rates -------------------------------------------------------------


def hammer(srv, conns, seconds):
    """Requests as fast as possible on each keep-alive connection for `seconds`;
    returns (admitted, refused) counts."""
    counts = {200: 0, 503: 0, "other": 0}
    lock = threading.Lock()
    start = time.monotonic() + 0.05
    stop = start + seconds

    def run(s):
        s.settimeout(10)
        time.sleep(max(0.0, start - time.monotonic()))
        while time.monotonic() < stop:
            s.sendall(b"GET /f HTTP/1.1\r\nHost: x\r\n\r\n")
            st = read_response(s).status
            with lock:
                counts[st if st in counts else "other"] += 1

    threads = [threading.Thread(target=run, args=(s,)) for s in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 20)
    assert counts["other"] == 0
    return counts[200], counts[503]


def connections_on_each_worker(srv, per_worker, workers):
    """Keep-alive connections, `per_worker` on each worker (found by $pid)."""
    by_pid = {}
    for _ in range(200):
        s = srv.connect()
        s.sendall(b"GET /pid HTTP/1.1\r\nHost: x\r\n\r\n")
        pid = read_response(s).body
        if len(by_pid.setdefault(pid, [])) < per_worker:
            by_pid[pid].append(s)
        else:
            s.close()
        if len(by_pid) == workers and all(len(v) == per_worker for v in by_pid.values()):
            break
    assert len(by_pid) == workers, "connections did not spread over the workers"
    return [s for v in by_pid.values() for s in v]


@pytest.mark.parametrize("workers", [1, 2])
def test_rate_holds_across_workers(ptc, workers):
    # 10r/s for 3 s from a client sending as fast as it can: the first request, the
    # burst of 5 at once, then one every 100 ms: 36, whatever worker takes the request.
    srv = ptc.start(
        "limit_req_zone $binary_remote_addr zone=one:1m rate=10r/s;\n"
        "server { listen 127.0.0.1:%PORT% reuseport; root html; access_log off;\n"
        "  keepalive_requests 1000000;\n"
        "  location = /pid { return 200 $pid; }\n"
        "  location / { limit_req zone=one burst=5 nodelay; } }", files=FILES,
        workers=workers)
    conns = connections_on_each_worker(srv, 2, workers)
    admitted, refused = hammer(srv, conns, 3.0)
    for s in conns:
        s.close()
    assert 33 <= admitted <= 38, (admitted, refused)
    assert refused > admitted


def test_burst_is_delayed_not_refused(ptc):
    # 5r/s, burst=3: of five requests at once one passes, three wait 200, 400 and
    # 600 ms, the fifth is over the burst
    srv = start(ptc, "location / { limit_req zone=one burst=3; }",
                "limit_req_zone $binary_remote_addr zone=one:1m rate=5r/s;")
    got = timed_parallel(srv, ["/f"] * 5)
    assert sorted(st for st, _ in got) == [200, 200, 200, 200, 503]
    waits = sorted(t for st, t in got if st == 200)
    assert waits[0] < 0.3 and waits[3] >= 0.5 and waits[3] < 3, waits
    st = sorted(ln.split()[2] for ln in log_lines(srv, 5))
    assert st == ["DELAYED", "DELAYED", "DELAYED", "PASSED", "REJECTED"]


def test_nodelay_serves_the_burst_at_once(ptc):
    srv = start(ptc, "location / { limit_req zone=one burst=3 nodelay; }",
                "limit_req_zone $binary_remote_addr zone=one:1m rate=1r/m;")
    t0 = time.monotonic()
    assert codes(srv, n=5) == [200, 200, 200, 200, 503]
    assert time.monotonic() - t0 < 0.9
    assert [ln.split()[2] for ln in log_lines(srv, 5)] == ["PASSED"] * 4 + ["REJECTED"]


def test_delay_n_serves_part_of_the_burst_at_once(ptc):
    # burst=4 delay=2 at 1r/s: three go at once, the next two wait 1 s and 2 s
    srv = start(ptc, "location / { limit_req zone=one burst=4 delay=2; }",
                "limit_req_zone $binary_remote_addr zone=one:1m rate=1r/s;")
    got = timed_parallel(srv, ["/f"] * 5)
    assert [st for st, _ in got] == [200] * 5
    waits = sorted(t for _, t in got)
    assert waits[2] < 0.6 and waits[3] >= 0.8 and waits[4] >= 1.7 and waits[4] < 5, waits
    st = sorted(ln.split()[2] for ln in log_lines(srv, 5))
    assert st == ["DELAYED", "DELAYED", "PASSED", "PASSED", "PASSED"]


def test_limit_req_status(ptc):
    srv = start(ptc, "location / { limit_req zone=one; limit_req_status 429; }",
                "limit_req_zone $binary_remote_addr zone=one:1m rate=1r/m;")
    assert srv.get("/f").status == 200
    r = srv.get("/f")
    assert (r.status, r.reason) == (429, "Too Many Requests")
    assert b"429 Too Many Requests" in r.body


def test_dry_run_passes_everything_and_says_what_would_happen(ptc):
    srv = start(ptc, "location /d { limit_req zone=one burst=1 nodelay; limit_req_dry_run on; }\n"
                     "location /q { limit_req zone=two burst=2; limit_req_dry_run on; }",
                "limit_req_zone $binary_remote_addr zone=one:1m rate=1r/m;\n"
                "limit_req_zone $binary_remote_addr zone=two:1m rate=1r/m;",
                files={"html/d": "d", "html/q": "q"})
    t0 = time.monotonic()
    assert codes(srv, "/d", 4) + codes(srv, "/q", 4) == [200] * 8
    assert time.monotonic() - t0 < 2  # dry-run delays do not wait
    st = [ln.split()[2] for ln in log_lines(srv, 8)]
    assert st == ["PASSED", "PASSED", "REJECTED_DRY_RUN", "REJECTED_DRY_RUN",
                  "PASSED", "DELAYED_DRY_RUN", "DELAYED_DRY_RUN", "REJECTED_DRY_RUN"]
    log = srv.error_log()
    assert re.search(r'\[error\] .*limiting requests, dry run, excess: \d+\.\d{3} by zone "one"',
                     log)
    assert re.search(r'\[warn\] .*delaying request, dry run, excess: \d+\.\d{3}, by zone "two"',
                     log)


def test_keys_are_independent_and_empty_keys_not_limited(ptc):
    srv = start(ptc, "location / { limit_req zone=one; }",
                "limit_req_zone $http_x_key zone=one:1m rate=1r/m;")
    assert codes(srv, n=2, headers={"X-Key": "a"}) == [200, 503]
    assert codes(srv, n=1, headers={"X-Key": "b"}) == [200]
    assert codes(srv, n=1, headers={"X-Key": "a"}) == [503]
    assert codes(srv, n=3) == [200, 200, 200]
    # a long key (stored as a digest) is a key like any other
    long_a, long_b = "x" * 300 + "a", "x" * 300 + "b"
    assert codes(srv, n=2, headers={"X-Key": long_a}) == [200, 503]
    assert codes(srv, n=1, headers={"X-Key": long_b}) == [200]
    assert [ln.split()[2] for ln in log_lines(srv, 10)][4:7] == ["-", "-", "-"]


def test_several_limits_and_inheritance(ptc):
    # a level without limit_req inherits the enclosing list; one with its own
    # replaces it; every limit of the list applies
    srv = start(ptc, "limit_req zone=srv;\n"
                     "location /inh { }\n"
                     "location /own { limit_req zone=a burst=10 nodelay; }\n"
                     "location /two { limit_req zone=a burst=10 nodelay;"
                     " limit_req zone=b burst=1 nodelay; }",
                "limit_req_zone $binary_remote_addr zone=srv:1m rate=1r/m;\n"
                "limit_req_zone $binary_remote_addr zone=a:1m rate=1r/m;\n"
                "limit_req_zone $binary_remote_addr zone=b:1m rate=1r/m;",
                files={"html/inh": "i", "html/own": "o", "html/two": "t"})
    assert codes(srv, "/inh", 2) == [200, 503]
    assert codes(srv, "/own", 4) == [200] * 4
    # zone a has room for 7 more; b lets 2 through
    assert codes(srv, "/two", 3) == [200, 200, 503]


def test_error_page_and_index_do_not_apply_the_limit_twice(ptc):
    # "/" goes to /index.html by an internal redirect, a refusal to the error page:
    # the limit was applied once for the request and is not checked again
    srv = start(ptc, "location / { limit_req zone=one; error_page 503 /busy.html; }",
                "limit_req_zone $binary_remote_addr zone=one:1m rate=1r/m;")
    r = srv.get("/")
    assert (r.status, r.body) == (200, b"index\n")
    r = srv.get("/")
    assert (r.status, r.body) == (503, b"busy\n")
    assert log_lines(srv, 2) == ["/index.html 200 PASSED -", "/busy.html 503 REJECTED -"]


def test_limit_req_runs_before_limit_conn(ptc):
    srv = start(ptc, "location / { limit_req zone=one; limit_conn addr 5; }",
                "limit_req_zone $binary_remote_addr zone=one:1m rate=1r/m;\n"
                "limit_conn_zone $binary_remote_addr zone=addr:1m;")
    assert codes(srv, n=2) == [200, 503]
    assert log_lines(srv, 2) == ["/f 200 PASSED PASSED", "/f 503 REJECTED -"]


def test_location_level_realip_is_applied_before_the_limit(ptc):
    srv = start(ptc, "location / { set_real_ip_from 127.0.0.1; limit_req zone=one; }",
                "limit_req_zone $binary_remote_addr zone=one:1m rate=1r/m;")
    assert codes(srv, n=2, headers={"X-Real-IP": "192.0.2.1"}) == [200, 503]
    assert codes(srv, n=1, headers={"X-Real-IP": "192.0.2.2"}) == [200]
    assert codes(srv, n=1) == [200]


# --- limit_req: logs, delays and clients going away ------------------------------


def test_log_messages_and_levels(ptc):
    srv = start(ptc, "location /e { limit_req zone=one burst=1; }\n"
                     "location /w { limit_req zone=two burst=1; limit_req_log_level warn; }",
                "limit_req_zone $binary_remote_addr zone=one:1m rate=2r/s;\n"
                "limit_req_zone $binary_remote_addr zone=two:1m rate=2r/s;",
                files={"html/e": "e", "html/w": "w"})
    for path in ("/e", "/w"):
        got = sorted(st for st, _ in timed_parallel(srv, [path] * 3))
        assert got == [200, 200, 503]
    ctx = r', client: 127\.0\.0\.1, server: , request: "GET /%s HTTP/1\.1", host: "localhost"'
    log = srv.error_log()
    assert re.search(r'\[error\] .*\*\d+ limiting requests, excess: \d\.\d{3} by zone "one"'
                     + ctx % "e", log), log
    assert re.search(r'\[warn\] .*\*\d+ delaying request, excess: \d\.\d{3}, by zone "one"'
                     + ctx % "e", log), log
    assert re.search(r'\[warn\] .*limiting requests, excess: \d\.\d{3} by zone "two"'
                     + ctx % "w", log), log
    assert re.search(r'\[notice\] .*delaying request, excess: \d\.\d{3}, by zone "two"'
                     + ctx % "w", log), log


def test_client_gone_while_delayed(ptc):
    srv = start(ptc, "location /f { limit_req zone=one burst=5; }\nlocation /n { }",
                "limit_req_zone $binary_remote_addr zone=one:1m rate=1r/m;",
                files={"html/n": "n"})
    assert srv.get("/f").status == 200
    s = srv.connect()
    s.sendall(build_request("/f"))  # would wait a minute
    assert srv.wait_for(lambda: "delaying request" in srv.error_log())
    s.close()
    assert log_lines(srv, 2)[1] == "/f 499 DELAYED -"
    assert re.search(r"\[info\] .*client prematurely closed connection", srv.error_log())
    assert srv.get("/n").status == 200


# --- limit_conn ------------------------------------------------------------------


class Gate:
    """A backend handler holding every request until release() is called."""

    def __init__(self):
        self.sem = threading.Semaphore(0)

    def __call__(self, req):
        def answer(sock, req):
            self.sem.acquire(timeout=20)
            sock.sendall(response(200, b"slow\n", {"Connection": "close"}))
            return False
        return custom(answer)

    def release(self, n=1):
        for _ in range(n):
            self.sem.release()


@pytest.fixture
def gated():
    with Backends() as bs:
        gate = Gate()
        b = bs.new(gate)
        yield gate, b
        gate.release(20)


def background_get(srv, path, results):
    def run():
        try:
            results.append(srv.get(path, timeout=20).status)
        except Exception as e:  # noqa: BLE001 - reported by the assertion below
            results.append(repr(e))
    t = threading.Thread(target=run)
    t.start()
    return t


@pytest.mark.needs_module("http_proxy")
def test_limit_conn_counts_requests_in_progress(ptc, gated):
    gate, b = gated
    srv = start(ptc, "limit_conn addr 2;\n"
                     "location /slow { proxy_pass http://%s; }\n"
                     "location /f { }" % b.addr,
                "limit_conn_zone $binary_remote_addr zone=addr:1m;")
    results = []
    threads = [background_get(srv, "/slow", results) for _ in range(2)]
    assert b.wait_requests(2)
    assert codes(srv, "/f", 2) == [503, 503]
    gate.release()
    assert srv.wait_for(lambda: len(results) == 1)
    assert codes(srv, "/f", 2) == [200, 200]  # one slot free again
    gate.release()
    for t in threads:
        t.join(20)
    assert results == [200, 200]
    assert re.search(r'\[error\] .*limiting connections by zone "addr", client: 127\.0\.0\.1',
                     srv.error_log())
    lines = log_lines(srv, 6)
    assert sorted(lines) == sorted(["/f 503 - REJECTED"] * 2 + ["/f 200 - PASSED"] * 2
                                   + ["/slow 200 - PASSED"] * 2)


@pytest.mark.needs_module("http_proxy")
def test_limit_conn_status_log_level_and_dry_run(ptc, gated):
    gate, b = gated
    srv = start(ptc, "location /slow { limit_conn addr 1; proxy_pass http://%s; }\n"
                     "location /f { limit_conn addr 1; limit_conn_status 429;"
                     " limit_conn_log_level info; }\n"
                     "location /d { limit_conn addr 1; limit_conn_dry_run on; }" % b.addr,
                "limit_conn_zone $binary_remote_addr zone=addr:1m;", files={"html/d": "d"})
    results = []
    t = background_get(srv, "/slow", results)
    assert b.wait_requests(1)
    assert codes(srv, "/f") == [429]
    assert codes(srv, "/d") == [200]
    gate.release()
    t.join(20)
    assert results == [200]
    assert codes(srv, "/f") == [200]
    assert sorted(log_lines(srv, 4)) == ["/d 200 - REJECTED_DRY_RUN", "/f 200 - PASSED",
                                         "/f 429 - REJECTED", "/slow 200 - PASSED"]
    log = srv.error_log()
    assert re.search(r'\[info\] .*limiting connections by zone "addr"', log)
    assert re.search(r'\[error\] .*limiting connections, dry run, by zone "addr"', log)


def test_limit_conn_counts_requests_not_idle_keepalive_connections(ptc):
    srv = start(ptc, "location / { limit_conn addr 1; }",
                "limit_conn_zone $binary_remote_addr zone=addr:1m;")
    idle = srv.connect()
    idle.sendall(b"GET /f HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(idle).status == 200
    assert codes(srv, n=2) == [200, 200]  # the kept-alive connection holds nothing
    idle.sendall(b"GET /f HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(idle).status == 200
    idle.close()


def test_limit_conn_released_when_the_client_aborts(ptc):
    srv = start(ptc, "location / { limit_conn addr 1; }",
                "limit_conn_zone $binary_remote_addr zone=addr:1m;")
    with open(srv.prefix / "html" / "big", "wb") as f:
        f.truncate(64 << 20)  # more than the socket buffers hold
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5)
    s.connect(("127.0.0.1", srv.port))
    s.sendall(build_request("/big"))
    s.recv(100)  # the download has started and then stalls: the client reads no more
    assert codes(srv, "/f") == [503]
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # reset
    assert srv.wait_for(lambda: codes(srv, "/f") == [200], timeout=5)


# --- state over reloads, zone full ----------------------------------------------------


def reload_and_wait(srv, text, marker):
    srv.reload(text)
    assert srv.wait_for(lambda: srv.get("/v").body == marker)


def test_reload_keeps_counters_and_takes_the_new_rate(ptc):
    conf = server("location = /v { return 200 @V; } location / { limit_req zone=one; }",
                  "limit_req_zone $binary_remote_addr zone=one:1m rate=@R;")
    srv = ptc.start(conf.replace("@R", "1r/m").replace("@V", "v1"), files=FILES)
    assert codes(srv, n=2) == [200, 503]
    reload_and_wait(srv, conf.replace("@R", "1r/m").replace("@V", "v2"), b"v2")
    assert codes(srv) == [503]  # the bucket survived
    reload_and_wait(srv, conf.replace("@R", "1000r/s").replace("@V", "v3"), b"v3")
    assert codes(srv) == [200]  # and drains at the new rate


def test_reload_with_a_new_zone_size_starts_afresh(ptc):
    conf = server("location = /v { return 200 @V; } location / { limit_req zone=one; }",
                  "limit_req_zone $binary_remote_addr zone=one:@S rate=1r/m;")
    srv = ptc.start(conf.replace("@S", "1m").replace("@V", "v1"), files=FILES)
    assert codes(srv, n=2) == [200, 503]
    reload_and_wait(srv, conf.replace("@S", "2m").replace("@V", "v2"), b"v2")
    assert codes(srv, n=2) == [200, 503]


def test_reload_with_another_key_is_refused(ptc):
    conf = server("location = /v { return 200 @V; } location / { limit_req zone=one; }",
                  "limit_req_zone @K zone=one:1m rate=1r/m;")
    srv = ptc.start(conf.replace("@K", "$binary_remote_addr").replace("@V", "v1"), files=FILES)
    srv.allow_log_errors()
    srv.write_conf(conf.replace("@K", "$remote_addr").replace("@V", "v2"))
    srv.cli("-s", "reload")
    assert srv.wait_for(lambda: 'limit_req "one" uses the "$remote_addr" key while previously '
                                'it used the "$binary_remote_addr" key' in srv.error_log())
    assert srv.get("/v").body == b"v1"
    assert codes(srv, n=2) == [200, 503]


@pytest.mark.portico_only
def test_full_zone_drops_the_least_recently_used_key(ptc):
    # nginx may refuse a new key when its zone is full; Portico drops the key
    # used least recently and never refuses the new one
    srv = start(ptc, "location / { limit_req zone=one; }",
                "limit_req_zone $http_x_key zone=one:32k rate=1r/m;")
    assert codes(srv, n=2, headers={"X-Key": "victim"}) == [200, 503]
    s = srv.connect()
    for i in range(600):  # the 32k zone holds about 490 keys
        s.sendall(b"GET /f HTTP/1.1\r\nHost: x\r\nX-Key: k%d\r\n\r\n" % i)
        assert read_response(s).status == 200
    s.close()
    assert codes(srv, n=2, headers={"X-Key": "victim"}) == [200, 503]


# --- config ---------------------------------------------------------------------


@pytest.mark.parametrize("http, message", [
    ("limit_req_zone $binary_remote_addr zone=one:1m rate=1r/s;"
     " limit_req_zone $uri zone=one:1m rate=1r/s;",
     'limit_req_zone "one" is already bound to key "$binary_remote_addr"'),
    ("limit_req_zone $binary_remote_addr zone=one:1m rate=1r/s;"
     " limit_req_zone $binary_remote_addr zone=one:2m rate=1r/s;",
     'the size 2097152 of shared memory zone "one" conflicts with already declared size 1048576'),
    ("limit_req_zone $binary_remote_addr zone=one:31k rate=1r/s;",
     'zone "zone=one:31k" is too small'),
    ("limit_req_zone $binary_remote_addr zone=one:1m rate=1r/h;", 'invalid rate "rate=1r/h"'),
    ("limit_conn_zone $binary_remote_addr zone=addr:1k;", 'zone "zone=addr:1k" is too small'),
    ("limit_conn_zone $binary_remote_addr zone=addr:1m;"
     " limit_conn_zone $binary_remote_addr zone=addr:1m;",
     'limit_conn_zone "addr" is already bound to key "$binary_remote_addr"'),
    ("limit_req_zone $binary_remote_addr zone=one:1m rate=1r/s;"
     " limit_conn_zone $binary_remote_addr zone=one:1m;",
     'the shared memory zone "one" is already declared for a different use'),
    ("server { limit_req zone=nope; }", 'zero size shared memory zone "nope"'),
    ("limit_conn_zone $binary_remote_addr zone=addr:1m; server { limit_conn nope 1; }",
     'zero size shared memory zone "nope"'),
    ("limit_req_zone $binary_remote_addr zone=one:1m rate=1r/s;"
     " server { limit_req zone=one burst=0; }", 'invalid burst value "burst=0"'),
    ("limit_req_zone $binary_remote_addr zone=one:1m rate=1r/s;"
     " server { limit_req zone=one; limit_req zone=one; }", '"limit_req" directive is duplicate'),
    ("limit_conn_zone $binary_remote_addr zone=addr:1m; server { limit_conn addr 65536; }",
     "connection limit must be less 65536"),
    ("limit_req_zone $binary_remote_addr zone=one:1m rate=1r/s; server { limit_req_status 399; }",
     "value must be between 400 and 599"),
])
def test_config_errors(ptc, http, message):
    srv = ptc.prepare(http)
    r = srv.cli("-t")
    assert r.returncode == 1
    assert message in r.stderr
    where = r.stderr.split(message, 1)[1].splitlines()[0]
    if srv.name == "portico" or "zero size" not in message:  # nginx does not say where
        assert re.search(r"test\.conf:\d+", where), r.stderr


def test_sync_is_refused(ptc):
    srv = ptc.prepare("limit_req_zone $binary_remote_addr zone=one:1m rate=1r/s sync;")
    r = srv.cli("-t")
    assert r.returncode == 1
    if srv.name == "portico":
        assert '"sync" parameter is not supported' in r.stderr
