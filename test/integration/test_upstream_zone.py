"""upstream zone: peer state (failures, weights) shared by all workers."""
import collections
import re

import pytest

from backend import Backends, reset

pytestmark = pytest.mark.needs_module("http_proxy")


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


CONF = """
upstream up {{
    {zone}
    server {bad} max_fails=1 fail_timeout=60s;
    server {good};
}}
server {{
    listen 127.0.0.1:%PORT% reuseport;  # spreads connections over both workers
    location / {{ proxy_pass http://up; add_header X-Pid $pid; }}
}}
"""


def spread_over_workers(srv, n=200):
    """n requests on new connections; returns {pid: count}."""
    seen = collections.Counter()
    for _ in range(n):
        r = srv.get("/")
        assert r.status == 200
        seen[r.header("X-Pid")] += 1
        if len(seen) == 2 and sum(seen.values()) >= 20:
            break
    return seen


@pytest.mark.parametrize("zone", ["zone up 64k;", ""])
def test_failure_seen_by_one_worker_takes_the_peer_out_for_all(ptc, backends, zone):
    bad = backends.new(lambda req: reset(), name="bad")
    good = backends.new(name="good")
    srv = ptc.start(CONF.format(zone=zone, bad=bad.addr, good=good.addr), workers=2)
    assert srv.wait_for(lambda: len(srv.worker_pids()) == 2)
    seen = spread_over_workers(srv)
    if len(seen) < 2:
        pytest.skip("the kernel gave every connection to one worker")
    tried = len(bad.connections)
    if zone:
        assert tried == 1, "with a zone, one failure takes the peer out everywhere"
    else:
        assert tried == 2, "without a zone, each worker finds out for itself"


def test_weights_hold_across_workers_with_zone(ptc, backends):
    a, b = backends.new(name="A"), backends.new(name="B")
    srv = ptc.start("upstream up { zone up 64k; server %s weight=3; server %s; }\n"
                    "server { listen 127.0.0.1:%%PORT%%; location / { proxy_pass http://up; } }"
                    % (a.addr, b.addr), workers=2)
    for _ in range(400):
        assert srv.get("/").status == 200
    # one shared smooth round robin: exactly 3:1
    assert (len(a.requests), len(b.requests)) == (300, 100)


def test_zone_too_small_is_an_error(ptc, backends):
    servers = "".join("server 127.0.0.1:%d;" % (10000 + i) for i in range(200))
    srv = ptc.start("upstream up { zone up 8k; %s }\nserver { listen 127.0.0.1:%%PORT%%; "
                    "location / { proxy_pass http://up; } }" % servers, expect_fail=True)
    assert srv.returncode == 1
    assert re.search(r'zone "up" is too small in \S+:\d+', srv.stderr_text()), srv.stderr_text()
