"""TLS client fingerprints ($ssl_ja3, $ssl_ja3_hash, $ssl_ja4), end to end:
the values Portico computes from the ClientHello it received equal those an
independent implementation (ja.py) computes from the same client's
ClientHello captured on a plain socket."""
import socket
import ssl
import subprocess

import pytest

import ja
from conftest import parse_response

pytestmark = pytest.mark.portico_only

SHOW = 'return 200 "$ssl_ja3|$ssl_ja3_hash|$ssl_ja4";'


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("fpcert")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(d / "k.pem"),
                    "-out", str(d / "c.pem"), "-days", "2", "-subj", "/CN=fp.test"],
                   check=True, capture_output=True)
    return (d / "c.pem").read_text(), (d / "k.pem").read_text()


def start(ptc, cert):
    return ptc.start("server { listen 127.0.0.1:%PORT% ssl; "
                     "ssl_certificate fp.crt; ssl_certificate_key fp.key; "
                     "location / { " + SHOW + " } }",
                     files={"conf/fp.crt": cert[0], "conf/fp.key": cert[1]})


def python_context(alpn=None, tls12=False):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def fetch(port, ctx, server_hostname=None):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname=server_hostname) as t:
            t.sendall(b"GET / HTTP/1.1\r\nHost: fp.test\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = t.recv(65536)
                if not chunk:
                    break
                data += chunk
    return parse_response(data).body.decode().split("|")


@pytest.mark.parametrize("alpn,tls12,sni", [
    (None, False, None),
    (["http/1.1"], False, "fp.test"),
    (["http/1.1"], True, "fp.test"),
])
def test_python_client_fingerprints_match_reference(ptc, cert, alpn, tls12, sni):
    srv = start(ptc, cert)
    expected = ja.fingerprints(ja.capture_python(python_context(alpn, tls12), sni))
    got = fetch(srv.port, python_context(alpn, tls12), sni)
    assert got == [expected["ja3"], expected["ja3_hash"], expected["ja4"]]
    assert got[2].startswith("t13" if not tls12 else "t12")
    assert got[2][3] == ("d" if sni else "i")


def test_openssl_and_curl_fingerprints_match_reference(ptc, cert):
    srv = start(ptc, cert)
    expected = ja.fingerprints(ja.capture_openssl("-servername", "fp.test", "-alpn",
                                                  "http/1.1"))
    out = subprocess.run(
        ["openssl", "s_client", "-connect", "127.0.0.1:%d" % srv.port, "-servername",
         "fp.test", "-alpn", "http/1.1", "-quiet", "-ign_eof"],
        input=b"GET / HTTP/1.1\r\nHost: fp.test\r\nConnection: close\r\n\r\n",
        capture_output=True, timeout=10).stdout
    assert out.split(b"\r\n\r\n", 1)[1].decode().split("|") == [
        expected["ja3"], expected["ja3_hash"], expected["ja4"]]
    expected = ja.fingerprints(ja.capture_curl(host="fp.test"))
    out = subprocess.run(
        ["curl", "-k", "-s", "--max-time", "10", "--resolve",
         "fp.test:%d:127.0.0.1" % srv.port, "https://fp.test:%d/" % srv.port],
        capture_output=True, timeout=15).stdout
    assert out.decode().split("|") == [expected["ja3"], expected["ja3_hash"], expected["ja4"]]


def test_fingerprints_are_empty_on_plain_connections(ptc):
    srv = ptc.start("server { listen 127.0.0.1:%PORT%; location / { " + SHOW + " } }")
    assert srv.get("/").body == b"||"


def test_fingerprints_in_filter_rules_and_limit_req_keys(ptc, cert):
    """$ssl_ja4 drives a filter rule and keys limit_req: a blocked client
    fingerprint gets 403; a limited one gets 503 on its second request."""
    expected = ja.fingerprints(ja.capture_python(python_context(), None))["ja4"]
    srv = ptc.start(
        "limit_req_zone $ssl_ja4 zone=ja:1m rate=1r/m;\n"
        "server { listen 127.0.0.1:%PORT% ssl; "
        "ssl_certificate fp.crt; ssl_certificate_key fp.key; "
        # static files: `return` answers before the access phases run
        'location /block { filter_rule ja4 $ssl_ja4 ~ "^' + expected + '$" deny; } '
        'location /limit { limit_req zone=ja; } }',
        files={"conf/fp.crt": cert[0], "conf/fp.key": cert[1], "html/block": "b",
               "html/limit": "l", "html/index.html": "i"})

    def status(path):
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            with python_context().wrap_socket(s) as t:
                t.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: fp.test\r\n"
                          b"Connection: close\r\n\r\n")
                data = b""
                while True:
                    chunk = t.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        return parse_response(data).status

    assert status(b"/block") == 403
    assert status(b"/") == 200
    assert status(b"/limit") == 200
    assert status(b"/limit") == 503
