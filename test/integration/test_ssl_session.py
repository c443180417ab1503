"""TLS session resumption: ssl_session_cache shared across workers,
ssl_session_tickets with ssl_session_ticket_key files (the first key encrypts, all
decrypt: rotation across reloads), ssl_session_timeout, and $ssl_session_reused /
$ssl_session_id.

Resumption is observed from the client (Python's SSLSocket.session_reused) and from
the server ($ssl_session_reused is "r" on a resumed connection, "." otherwise)."""

import re
import time

import pytest

import tlsutil
from conftest import wait_for
from tlsutil import certs, client_context, https_get, ssl_server, start

pytestmark = tlsutil.needs_tls

SHOW = ('add_header X-Pid $pid always; '
        'location / { return 200 "$ssl_session_reused|$ssl_session_id"; }')


def resume(port, ctx, session):
    """One request offering session; returns the Result."""
    return https_get(port, ctx=ctx, session=session)


# --- shared cache -------------------------------------------------------------


@pytest.mark.parametrize("version", ["TLSv1.2", "TLSv1.3"])
def test_shared_cache_resumes_in_another_worker(ptc, version):
    srv = start(ptc, ssl_server("ssl_session_cache shared:SSL:1m; ssl_session_tickets off;" +
                                SHOW, listen="reuseport"), workers=2)
    ctx = client_context(version=version)
    first = https_get(srv.port, ctx=ctx)
    assert (first.reused, first.text[:2]) == (False, ".|")
    session, served_by = first.session, {first.header("X-Pid")}
    for _ in range(200):
        r = resume(srv.port, ctx, session)
        assert (r.reused, r.text[:2]) == (True, "r|"), "attempt %d" % len(served_by)
        if version == "TLSv1.2":  # the session (and its id) stays the same
            assert r.text == first.text.replace(".|", "r|", 1)
        served_by.add(r.header("X-Pid"))
        session = r.session   # TLS 1.3 tickets are single-use: chain them
        if len(served_by) == 2:
            break
    assert len(served_by) == 2, "every connection went to one worker"


def test_session_id_with_the_cache(ptc):
    srv = start(ptc, ssl_server("ssl_session_cache shared:SSL:1m; ssl_session_tickets off;" +
                                SHOW))
    ctx = client_context(version="TLSv1.2")
    first = https_get(srv.port, ctx=ctx)
    reused, sid = first.text.split("|")
    assert reused == "." and re.fullmatch(r"[0-9a-f]{64}", sid), first.text
    assert sid == first.session.id.hex()
    assert resume(srv.port, ctx, first.session).text == "r|" + sid


def test_no_cache_and_no_tickets_means_no_resumption(ptc):
    srv = start(ptc, ssl_server("ssl_session_cache none; ssl_session_tickets off;" + SHOW))
    for version in ("TLSv1.2", "TLSv1.3"):
        ctx = client_context(version=version)
        first = https_get(srv.port, ctx=ctx)
        r = resume(srv.port, ctx, first.session)
        assert (r.reused, r.text[:2]) == (False, ".|"), version


# --- tickets ------------------------------------------------------------------


def test_tickets_on_by_default_and_off(ptc):
    on = start(ptc, ssl_server(SHOW))
    off = start(ptc, ssl_server("ssl_session_tickets off;" + SHOW))
    ctx = client_context(version="TLSv1.2")
    first = https_get(on.port, ctx=ctx)
    assert first.session.has_ticket
    assert resume(on.port, ctx, first.session).text[:2] == "r|"
    first = https_get(off.port, ctx=ctx)
    assert not first.session.has_ticket
    assert resume(off.port, ctx, first.session).text[:2] == ".|"


def ticket_conf(keys, tag):
    lines = "".join("ssl_session_ticket_key %s; " % certs().path(k) for k in keys)
    return tlsutil.PROTOCOLS + ssl_server(
        lines + 'add_header X-Conf %s always; location / { return 200 "$ssl_session_reused"; }'
        % tag)


def reload_to(srv, keys, tag, ctx):
    """Reload to a new key list; return once only new workers are left."""
    old = set(srv.worker_pids())
    srv.reload(ticket_conf(keys, tag))
    assert wait_for(lambda: not old & set(srv.worker_pids())), "old workers still running"
    assert https_get(srv.port, ctx=ctx).header("X-Conf") == tag


@pytest.mark.parametrize("size, version", [(80, "TLSv1.2"), (48, "TLSv1.2"), (80, "TLSv1.3"),
                                           (48, "TLSv1.3")])
def test_ticket_key_rotation_across_reloads(ptc, size, version):
    k1, k2 = ("ticket1.key", "ticket2.key") if size == 80 else ("ticket1_48.key",
                                                                  "ticket2_48.key")
    ctx = client_context(version=version)
    srv = ptc.start(ticket_conf([k1, k2], "A"))
    made_with_k1 = https_get(srv.port, ctx=ctx).session
    assert made_with_k1.has_ticket
    # k2 now encrypts, k1 still decrypts
    reload_to(srv, [k2, k1], "B", ctx)
    r = resume(srv.port, ctx, made_with_k1)
    assert (r.reused, r.text, r.header("X-Conf")) == (True, "r", "B")
    made_with_k2 = https_get(srv.port, ctx=ctx).session
    # k2 is gone: its tickets fall back to a full handshake; k1's still resume
    reload_to(srv, [k1], "C", ctx)
    r = resume(srv.port, ctx, made_with_k2)
    assert (r.status, r.reused, r.text) == (200, False, ".")
    r = resume(srv.port, ctx, made_with_k1)
    assert (r.reused, r.text) == (True, "r")


def test_ticket_keys_shared_by_workers(ptc):
    srv = ptc.start(tlsutil.PROTOCOLS + ssl_server(
        "ssl_session_ticket_key %s; " % certs().path("ticket1.key") + SHOW, listen="reuseport"),
        workers=2)
    ctx = client_context(version="TLSv1.3")
    first = https_get(srv.port, ctx=ctx)
    served_by = {first.header("X-Pid")}
    for _ in range(200):
        r = resume(srv.port, ctx, first.session)
        assert r.text[:2] == "r|"
        served_by.add(r.header("X-Pid"))
        if len(served_by) == 2:
            break
    assert len(served_by) == 2


# --- timeout ------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["cache", "tickets"])
def test_ssl_session_timeout(ptc, mechanism):
    how = ("ssl_session_cache shared:SSL:1m; ssl_session_tickets off;" if mechanism == "cache"
           else "ssl_session_cache none;")
    short = start(ptc, ssl_server(how + "ssl_session_timeout 2s;" + SHOW))
    long = start(ptc, ssl_server(how + SHOW))
    ctx = client_context(version="TLSv1.2")
    made = time.monotonic()
    s_short = https_get(short.port, ctx=ctx).session
    s_long = https_get(long.port, ctx=ctx).session
    assert resume(short.port, ctx, s_short).reused
    time.sleep(max(0.0, made + 3.5 - time.monotonic()))   # the 2 s lifetime is over
    r = resume(short.port, ctx, s_short)
    assert (r.status, r.reused, r.text[:2]) == (200, False, ".|")
    assert resume(long.port, ctx, s_long).reused
