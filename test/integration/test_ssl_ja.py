"""TLS client fingerprints (Portico only; nginx has no such variables): $ssl_ja3,
$ssl_ja3_hash and $ssl_ja4 in the access log, a response header, proxy_set_header and
map, for ClientHellos from Python's ssl module, openssl s_client and curl.

A tlsutil.Relay in front of the server records the exact ClientHello each client sent.
When ja.py (the independent Python JA3/JA4 implementation) is importable, the values
must equal what it computes from that ClientHello; otherwise their formats and the
facts they encode (cipher and extension counts, SNI, version, MD5) are checked."""

import hashlib
import re
import shutil
import subprocess

import pytest

import tlsutil
from backend import Backends
from conftest import parse_response, wait_for
from tlsutil import Relay, client_context, https_get, ssl_server, start

try:
    import ja
except ImportError:  # not merged yet: format checks only
    ja = None

pytestmark = [tlsutil.needs_tls, pytest.mark.portico_only]

VARS = ("ja3", "ja3_hash", "ja4")
HEADERS = "".join('add_header X-%s "$ssl_%s" always; ' % (v, v) for v in VARS)
LOG = "log_format ja '$ssl_ja3|$ssl_ja3_hash|$ssl_ja4'; access_log logs/ja.log ja;\n"
JA3 = re.compile(r"(\d+),((?:\d+-)*\d+)?,((?:\d+-)*\d+)?,((?:\d+-)*\d+)?,((?:\d+-)*\d+)?")
JA4 = re.compile(r"[tqd](13|12|11|10|s3|s2|00)([di])(\d\d)(\d\d)([0-9a-zA-Z]{2})"
                 r"_([0-9a-f]{12})_([0-9a-f]{12})")
REQ = b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"


def server(ptc):
    return start(ptc, LOG + ssl_server(HEADERS + "location / { return 200 ok; }"))


def check(values, hello, *, sni, version):
    """values: {"ja3": ..., "ja3_hash": ..., "ja4": ...} seen for ClientHello `hello`."""
    if ja is not None:
        expected = ja.fingerprints(hello)
        assert values == {v: expected[v] for v in VARS}, expected["ja4_r"]
        return
    m = JA3.fullmatch(values["ja3"])
    assert m, values
    assert values["ja3_hash"] == hashlib.md5(values["ja3"].encode()).hexdigest()
    j = JA4.fullmatch(values["ja4"])
    assert j, values
    ciphers = m.group(2).split("-") if m.group(2) else []
    exts = m.group(3).split("-") if m.group(3) else []
    assert j.group(1) == version
    assert j.group(2) == ("d" if sni else "i")
    assert int(j.group(3)) == min(len(ciphers), 99)
    assert int(j.group(4)) == min(len(exts), 99)
    assert ("0" in exts) == sni
    assert m.group(1) == "771"   # every modern client says TLS 1.2 in the legacy field


def from_headers(resp):
    return {v: resp.header("X-" + v) for v in VARS}


def logged(srv, n):
    assert wait_for(lambda: len(srv.access_log("ja.log").splitlines()) >= n)
    line = srv.access_log("ja.log").splitlines()[n - 1]
    return dict(zip(VARS, line.split("|")))


@pytest.mark.parametrize("version, alpn", [("TLSv1.3", ["h2", "http/1.1"]), ("TLSv1.2", None)])
def test_python_client(ptc, version, alpn):
    srv = server(ptc)
    with Relay(srv.port) as relay:
        r = https_get(relay.port, ctx=client_context(version=version, alpn=alpn))
        hello = relay.hello()
    values = from_headers(r.response)
    check(values, hello, sni=True, version={"TLSv1.3": "13", "TLSv1.2": "12"}[version])
    assert logged(srv, 1) == values
    if alpn:
        assert values["ja4"][8:10] == "h2"


@pytest.mark.parametrize("args, sni, version", [
    (("-tls1_3", "-servername", "a.test", "-alpn", "http/1.1"), True, "13"),
    (("-tls1_2", "-noservername"), False, "12"),
])
def test_openssl_client(ptc, args, sni, version):
    srv = server(ptc)
    with Relay(srv.port) as relay:
        out = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % relay.port,
                              "-ign_eof"] + list(args), input=REQ, capture_output=True,
                             timeout=20).stdout
        hello = relay.hello()
    resp = parse_response(out[out.index(b"HTTP/1.1 "):])
    values = from_headers(resp)
    check(values, hello, sni=sni, version=version)
    assert logged(srv, 1) == values


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_client(ptc):
    srv = server(ptc)
    with Relay(srv.port) as relay:
        out = subprocess.run(["curl", "-k", "-s", "-D", "-", "-o", "/dev/null", "--max-time",
                              "10", "--resolve", "a.test:%d:127.0.0.1" % relay.port,
                              "https://a.test:%d/" % relay.port], capture_output=True,
                             timeout=20).stdout
        hello = relay.hello()
    values = from_headers(parse_response(out, head=True))
    check(values, hello, sni=True, version="13")
    assert logged(srv, 1) == values


def test_same_client_same_fingerprint_different_clients_differ(ptc):
    srv = server(ptc)
    ctx13, ctx12 = client_context(version="TLSv1.3"), client_context(version="TLSv1.2")
    a = from_headers(https_get(srv.port, ctx=ctx13).response)
    b = from_headers(https_get(srv.port, ctx=ctx13).response)
    c = from_headers(https_get(srv.port, ctx=ctx12).response)
    assert a == b
    assert a["ja4"] != c["ja4"] and a["ja3_hash"] != c["ja3_hash"]


def test_fingerprints_in_proxy_set_header_and_map(ptc):
    with Backends() as bs:
        b = bs.new()
        srv = start(ptc, 'map $ssl_ja3_hash $ja_ok { "~^[0-9a-f]{32}$" yes; default no; }\n' +
                    ssl_server(HEADERS + "location / { proxy_set_header X-JA4 $ssl_ja4; "
                               "proxy_set_header X-JA3 $ssl_ja3; proxy_set_header X-OK $ja_ok; "
                               "proxy_pass http://%s; }" % b.addr))
        r = https_get(srv.port)
        assert r.status == 200
    req = b.requests[0]
    assert req.header("X-JA4") == r.header("X-ja4") and JA4.fullmatch(req.header("X-JA4"))
    assert req.header("X-JA3") == r.header("X-ja3")
    assert req.header("X-OK") == "yes"


def test_plain_http_has_no_fingerprint(ptc):
    srv = start(ptc, LOG + "server { listen 127.0.0.1:%PORT%; " + HEADERS +
                "location / { return 200 ok; } }")
    r = srv.get("/")
    # add_header leaves out a header whose value is empty, as nginx does
    assert [r.header("X-" + v) for v in VARS] == [None, None, None]
    assert wait_for(lambda: srv.access_log("ja.log").strip() == "-|-|-")
