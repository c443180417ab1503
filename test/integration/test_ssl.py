"""TLS termination: listen ... ssl, RSA and ECDSA certificates on one server, SNI,
ALPN, ssl_protocols / ssl_ciphers / ssl_prefer_server_ciphers / ssl_ecdh_curve /
ssl_dhparam / ssl_conf_command / ssl_password_file, renegotiation, robustness
(plain HTTP, garbage, stalled and byte-at-a-time handshakes), the http->https
redirect and HSTS recipes, and the $ssl_* variables.

Certificates come from tlsutil.certs(); clients are Python's ssl module, or
`openssl s_client` where Python cannot say it (sigalgs, groups, renegotiation)."""

import re
import socket
import subprocess

import pytest

import tlsutil
from conftest import parse_response, read_response, wait_for
from tlsutil import (BioClient, certs, prepare, start, client_context, client_hello, closed_within,
                     handshake_fails, https_get, s_client, s_client_field, ssl_server)

pytestmark = tlsutil.needs_tls

SHOW = 'location / { return 200 "$https|$scheme|$ssl_server_name|$server_name"; }'


def test_https_request(ptc):
    srv = start(ptc, ssl_server(SHOW))
    r = https_get(srv.port)
    assert r.status == 200
    assert r.text == "on|https|a.test|a.test"
    assert certs().which(r.peer_der) == "a.test.rsa"


# --- several certificates on one server ---------------------------------------


@pytest.mark.parametrize("order", [("rsa", "ecdsa"), ("ecdsa", "rsa")])
def test_rsa_and_ecdsa_certificates_tls12(ptc, order):
    srv = start(ptc, ssl_server(SHOW, kinds=order))
    ecdsa = client_context(version="TLSv1.2", ciphers="ECDHE-ECDSA-AES128-GCM-SHA256")
    rsa = client_context(version="TLSv1.2", ciphers="ECDHE-RSA-AES128-GCM-SHA256")
    r = https_get(srv.port, ctx=ecdsa)
    assert (r.status, certs().which(r.peer_der)) == (200, "a.test.ecdsa")
    r = https_get(srv.port, ctx=rsa)
    assert (r.status, certs().which(r.peer_der)) == (200, "a.test.rsa")


@pytest.mark.parametrize("order", [("rsa", "ecdsa"), ("ecdsa", "rsa")])
def test_rsa_and_ecdsa_certificates_tls13_by_sigalgs(ptc, order):
    srv = start(ptc, ssl_server(SHOW, kinds=order))
    out = s_client(srv.port, "-tls1_3", "-sigalgs", "ecdsa_secp256r1_sha256")
    assert "OU = ecdsa, CN = a.test" in s_client_field(out, "subject="), out
    out = s_client(srv.port, "-tls1_3", "-sigalgs", "rsa_pss_rsae_sha256")
    assert "OU = rsa, CN = a.test" in s_client_field(out, "subject="), out


# --- SNI ----------------------------------------------------------------------


def sni_servers():
    body = 'location / { return 200 "%s|$ssl_server_name"; }'
    return (ssl_server(body % "a", name="a.test") +
            ssl_server(body % "default", name="default.test", listen="default_server") +
            ssl_server(body % "b", name="b.test"))


@pytest.mark.parametrize("sni, host, cert, text", [
    ("a.test", "a.test", "a.test.rsa", "a|a.test"),
    ("b.test", "b.test", "b.test.rsa", "b|b.test"),
    ("c.test", "c.test", "default.test.rsa", "default|c.test"),
    (None, "localhost", "default.test.rsa", "default|"),
])
def test_sni_selects_certificate_and_server(ptc, sni, host, cert, text):
    srv = start(ptc, sni_servers())
    ctx = client_context() if sni in ("a.test", "b.test") else client_context(verify=False)
    r = https_get(srv.port, sni=sni, host=host, ctx=ctx)
    assert (r.status, certs().which(r.peer_der), r.text) == (200, cert, text)


# --- ALPN ---------------------------------------------------------------------


@pytest.mark.parametrize("offer, chosen", [(["h2", "http/1.1"], "http/1.1"),
                                           (["http/1.1"], "http/1.1"), (None, None)])
def test_alpn(ptc, offer, chosen):
    srv = start(ptc, ssl_server('location / { return 200 "[$ssl_alpn_protocol]"; }'))
    r = https_get(srv.port, ctx=client_context(alpn=offer))
    assert (r.status, r.alpn, r.text) == (200, chosen, "[%s]" % (chosen or ""))


def test_alpn_without_a_common_protocol_is_refused(ptc):
    srv = start(ptc, ssl_server(SHOW))
    assert handshake_fails(srv.port, ctx=client_context(alpn=["h2"]))
    out = s_client(srv.port, "-alpn", "spdy/3")
    assert "no application protocol" in out, out
    assert https_get(srv.port).status == 200


# --- protocols and ciphers ----------------------------------------------------


@pytest.mark.parametrize("directive, accepted, refused", [
    ("ssl_protocols TLSv1.2;", ["TLSv1.2"], ["TLSv1.3", "TLSv1.1"]),
    ("ssl_protocols TLSv1.3;", ["TLSv1.3"], ["TLSv1.2"]),
    ("ssl_protocols TLSv1.2 TLSv1.3;", ["TLSv1.2", "TLSv1.3"], ["TLSv1.1", "TLSv1"]),
])
def test_ssl_protocols(ptc, directive, accepted, refused):
    srv = ptc.start(ssl_server(directive + ' location / { return 200 "$ssl_protocol"; }'))
    check_protocols(srv, accepted, refused)


def check_protocols(srv, accepted, refused):
    for version in accepted:
        r = https_get(srv.port, ctx=client_context(version=version))
        assert (r.status, r.version, r.text) == (200, version, version)
    for version in refused:
        assert handshake_fails(srv.port, ctx=client_context(version=version)), version
    # a client allowing everything gets the highest accepted version
    r = https_get(srv.port, ctx=client_context(version=("TLSv1", "TLSv1.3")))
    assert r.version == accepted[-1]


def test_default_protocols_refuse_tls11(ptc):
    srv = ptc.start(ssl_server('location / { return 200 "$ssl_protocol"; }'))
    # nginx 1.22's default stops at TLSv1.2; Portico's includes TLSv1.3
    accepted = ["TLSv1.2"] if srv.name == "nginx" else ["TLSv1.2", "TLSv1.3"]
    check_protocols(srv, accepted, ["TLSv1", "TLSv1.1"])


@pytest.mark.portico_only  # nginx 1.22 still defaults to TLSv1 TLSv1.1 TLSv1.2 (1.23.4+ does this)
def test_default_protocols_are_tls12_and_tls13(ptc):
    srv = ptc.start(ssl_server('location / { return 200 "$ssl_protocol"; }'))
    check_protocols(srv, ["TLSv1.2", "TLSv1.3"], ["TLSv1", "TLSv1.1"])


def test_ssl_ciphers(ptc):
    srv = start(ptc, ssl_server("ssl_protocols TLSv1.2; ssl_ciphers ECDHE-RSA-AES256-GCM-SHA384;"
                               ' location / { return 200 "$ssl_cipher"; }'))
    both = client_context(ciphers="ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384")
    r = https_get(srv.port, ctx=both)
    assert (r.cipher, r.text) == ("ECDHE-RSA-AES256-GCM-SHA384",) * 2
    assert handshake_fails(srv.port, ctx=client_context(ciphers="ECDHE-RSA-AES128-GCM-SHA256"))


@pytest.mark.parametrize("prefer, expected", [("on", "ECDHE-RSA-AES128-GCM-SHA256"),
                                              ("off", "ECDHE-RSA-AES256-GCM-SHA384")])
def test_ssl_prefer_server_ciphers(ptc, prefer, expected):
    srv = start(ptc, ssl_server(
        "ssl_protocols TLSv1.2; ssl_prefer_server_ciphers %s; "
        "ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384;" % prefer + SHOW))
    client = client_context(ciphers="ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256")
    assert https_get(srv.port, ctx=client).cipher == expected


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_ssl_ecdh_curve(ptc, version):
    srv = start(ptc, ssl_server('ssl_ecdh_curve secp384r1; location / { return 200 "$ssl_curve"; }'))
    req = b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
    out = s_client(srv.port, version, "-groups", "X25519:secp384r1", data=req)
    assert "Server Temp Key: ECDH, secp384r1" in out, out[-1500:]
    assert "\r\n\r\nsecp384r1" in out, out[-1500:]
    # no shared group: TLS 1.3 fails, TLS 1.2 may fall back to a non-ECDHE suite
    out = s_client(srv.port, version, "-groups", "X25519:prime256v1")
    temp = s_client_field(out, "Server Temp Key:") or ""
    assert "X25519" not in temp and "prime256v1" not in temp, out[-1500:]
    if version == "-tls1_3":
        assert not tlsutil.handshake_ok(out), out[-1500:]


def test_ssl_curve_default_x25519(ptc):
    srv = start(ptc, ssl_server('location / { return 200 "$ssl_curve"; }'))
    assert https_get(srv.port).text == "X25519"


def test_ssl_dhparam(ptc):
    dhe = client_context(version="TLSv1.2", ciphers="DHE-RSA-AES128-GCM-SHA256")
    srv = start(ptc, ssl_server("ssl_dhparam %s; ssl_ciphers DHE-RSA-AES128-GCM-SHA256;"
                               % certs().path("dhparam.pem") + SHOW))
    assert https_get(srv.port, ctx=dhe).cipher == "DHE-RSA-AES128-GCM-SHA256"
    out = s_client(srv.port, "-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256")
    assert "Server Temp Key: DH, 2048 bits" in out, out
    # without ssl_dhparam, DHE suites are not available
    srv2 = start(ptc, ssl_server("ssl_ciphers DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256;"
                                + SHOW))
    assert handshake_fails(srv2.port, ctx=dhe)


def test_ssl_conf_command(ptc):
    srv = start(ptc, ssl_server("ssl_conf_command Ciphersuites TLS_CHACHA20_POLY1305_SHA256;"
                               ' location / { return 200 "$ssl_cipher"; }'))
    r = https_get(srv.port, ctx=client_context(version="TLSv1.3"))
    assert (r.cipher, r.text) == ("TLS_CHACHA20_POLY1305_SHA256",) * 2


def test_early_data_is_off_by_default(ptc):
    srv = start(ptc, ssl_server(SHOW))
    req = b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
    out = s_client(srv.port, "-tls1_3", data=req)
    assert "Post-Handshake New Session Ticket arrived" in out, out[-1500:]
    assert set(re.findall(r"Max Early Data: (\d+)", out)) == {"0"}, out[-1500:]


def test_ssl_password_file(ptc):
    c = certs()
    srv = start(ptc, "server { listen 127.0.0.1:%%PORT%% ssl; server_name a.test; "
                    "ssl_certificate %s; ssl_certificate_key %s; ssl_password_file %s; %s }"
                    % (c.cert("a.test"), c.path("a.test.rsa.enc.key"), c.path("passwords.txt"),
                       SHOW))
    r = https_get(srv.port)
    assert (r.status, certs().which(r.peer_der)) == (200, "a.test.rsa")


def test_ssl_password_file_without_the_password_fails(ptc):
    c = certs()
    srv = prepare(ptc, "server { listen 127.0.0.1:%%PORT%% ssl; ssl_certificate %s; "
                      "ssl_certificate_key %s; ssl_password_file %s; }"
                      % (c.cert("a.test"), c.path("a.test.rsa.enc.key"),
                         c.path("bad-passwords.txt")))
    r = srv.cli("-t")
    assert r.returncode != 0
    assert "a.test.rsa.enc.key" in r.stderr, r.stderr


# --- renegotiation and robustness -------------------------------------------------


def test_client_renegotiation_is_refused(ptc):
    srv = start(ptc, ssl_server(SHOW))
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % srv.port, "-servername",
           "a.test", "-tls1_2", "-CAfile", certs().path("ca.pem")]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        p.stdin.write(b"R\n")
        p.stdin.flush()
        out = p.communicate(timeout=3)[0]
    except subprocess.TimeoutExpired:
        p.kill()
        out = p.communicate()[0]
    text = out.decode(errors="replace")
    assert "RENEGOTIATING" in text, text
    after = text.split("RENEGOTIATING", 1)[1]
    assert "verify return:1" not in after, text      # no second handshake
    assert "no renegotiation" in after or "alert" in after, text
    assert https_get(srv.port).status == 200


def test_plain_http_to_tls_port(ptc):
    srv = start(ptc, ssl_server(SHOW))
    out = srv.raw(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
    r = parse_response(out)
    assert r.status == 400
    assert b"The plain HTTP request was sent to HTTPS port" in r.body


GARBAGE = {
    "not a hello": b"\x16\x03\x01\x00\x05hello",
    "oversized record": b"\x16\x03\x03\xff\xff" + b"A" * 2000,
    "truncated hello": b"\x16\x03\x01\x00\x30\x01\x00\x00\x2c\x03\x03" + b"\xee" * 42,
    "sslv2 hello": b"\x80\x2e\x01\x00\x02" + b"\x00" * 60,
    "high bytes": b"\xff\xfe garbage \r\n\r\n" * 40,
}


@pytest.mark.parametrize("junk", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_instead_of_client_hello(ptc, junk):
    srv = start(ptc, ssl_server('add_header X-Pid $pid; location / { return 200 "ok"; }'))
    if srv.name == "nginx":
        srv.allow_log_errors()  # nginx logs some client-caused TLS errors at [crit]
    pid = https_get(srv.port).header("X-Pid")
    s = srv.connect()
    try:
        s.sendall(junk)
        assert closed_within(s, 5) is not None
    finally:
        s.close()
    r = https_get(srv.port)
    assert (r.status, r.header("X-Pid")) == (200, pid)
    assert srv.worker_pids() == [int(pid)]


def test_non_tls_bytes_are_answered_as_plain_http(ptc):
    srv = start(ptc, ssl_server(SHOW))
    for junk in (b"\x00" * 300, b"garbage garbage\r\n\r\n" * 40):
        r = parse_response(srv.raw(junk, timeout=5))
        assert r.status == 400
    assert https_get(srv.port).status == 200


@pytest.mark.parametrize("sent", ["nothing", "half a ClientHello"])
def test_stalled_handshake_is_closed_after_the_timeout(ptc, sent):
    srv = start(ptc, ssl_server("client_header_timeout 1s;" + SHOW))
    s = srv.connect()
    try:
        if sent != "nothing":
            hello = client_hello()
            s.sendall(hello[:len(hello) // 2])
        took = closed_within(s, 6)
    finally:
        s.close()
    assert took is not None and 0.7 <= took <= 4, took
    assert https_get(srv.port).status == 200


@pytest.mark.parametrize("piece", [1, 7])
def test_handshake_and_request_in_small_pieces(ptc, piece):
    srv = start(ptc, ssl_server(SHOW))
    s = srv.connect()
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c = BioClient(s, ctx=client_context(), piece=piece, pause=0.0005)
        c.handshake()
        out = c.request(b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
    finally:
        s.close()
    r = parse_response(out)
    assert (r.status, r.text) == (200, "on|https|a.test|a.test")


def test_keepalive_requests_on_one_tls_connection(ptc):
    srv = start(ptc, ssl_server('location / { return 200 "$uri $connection_requests"; }'))
    s = tlsutil.connect(srv.port)
    try:
        for i in range(1, 4):
            s.sendall(b"GET /r%d HTTP/1.1\r\nHost: a.test\r\n\r\n" % i)
            r = read_response(s)
            assert (r.status, r.text) == (200, "/r%d %d" % (i, i))
    finally:
        s.close()


# --- OCSP stapling ------------------------------------------------------------


def stapling(extra=""):
    return ssl_server("ssl_stapling on; ssl_stapling_file %s; %s"
                      % (certs().path("ocsp-a.test.der"), extra) + SHOW)


def check_staple(out):
    """out (s_client -status) shows our OCSP response for a.test."""
    ours = subprocess.run(["openssl", "ocsp", "-respin", certs().path("ocsp-a.test.der"),
                           "-resp_text", "-noverify"], capture_output=True, text=True).stdout
    produced = s_client_field(ours, "Produced At:")
    assert produced and s_client_field(out, "Produced At:") == produced, out[:2500]
    assert "OCSP Response Status: successful" in out
    assert "Cert Status: good" in out and "Serial Number: 2001" in out, out[:2500]


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_ssl_stapling_file(ptc, version):
    srv = start(ptc, stapling())
    check_staple(s_client(srv.port, version, "-status"))


def test_no_staple_without_ssl_stapling(ptc):
    srv = start(ptc, ssl_server("ssl_stapling_file %s;" % certs().path("ocsp-a.test.der") + SHOW))
    out = s_client(srv.port, "-status")
    assert "OCSP response: no response sent" in out, out[-2500:]
    assert tlsutil.handshake_ok(out)


def test_ssl_stapling_verify_with_trusted_certificate(ptc):
    srv = start(ptc, stapling("ssl_stapling_verify on; ssl_trusted_certificate %s;"
                              % certs().path("ca.pem")))
    check_staple(s_client(srv.port, "-status"))
    assert https_get(srv.port).status == 200


# --- recipes ------------------------------------------------------------------


def test_http_to_https_redirect(ptc):
    srv = start(ptc, "server { listen 127.0.0.1:%PORT2%; server_name a.test; "
                    "return 301 https://$host$request_uri; }" + ssl_server(SHOW), ports=2)
    r = srv.get("/p/q?x=1&y=2", host="a.test", port=srv.ports[1])
    assert r.status == 301
    assert r.header("Location") == "https://a.test/p/q?x=1&y=2"
    assert https_get(srv.port, "/p/q?x=1&y=2").status == 200


def test_hsts_always_on_error_responses(ptc):
    hsts = '"max-age=31536000; includeSubDomains"'
    srv = start(ptc, ssl_server(
        "add_header Strict-Transport-Security %s always; location / { return 200 ok; } "
        "location /missing { return 404; }" % hsts) +
        ssl_server("add_header Strict-Transport-Security %s; location / { return 404; } "
                   "location /ok { return 200 ok; }" % hsts, name="b.test", port="%PORT2%"),
        ports=2)
    for path in ("/", "/missing"):
        r = https_get(srv.port, path)
        assert r.header("Strict-Transport-Security") == hsts.strip('"'), path
    assert https_get(srv.ports[1], "/ok", sni="b.test").header("Strict-Transport-Security")
    r = https_get(srv.ports[1], "/", sni="b.test")
    assert (r.status, r.header("Strict-Transport-Security")) == (404, None)


# --- variables ----------------------------------------------------------------

LOG_VARS = ("$https|$scheme|$ssl_protocol|$ssl_cipher|$ssl_curve|$ssl_server_name|"
            "$ssl_session_id|$ssl_session_reused|$ssl_alpn_protocol")


def test_ssl_variables_in_access_log(ptc):
    srv = start(ptc, "log_format t '%s'; access_log logs/t.log t; " % LOG_VARS +
                    ssl_server("location / { return 200 ok; }") +
                    "server { listen 127.0.0.1:%PORT2%; location / { return 200 ok; } }",
                    ports=2)
    https_get(srv.port, ctx=client_context(version="TLSv1.3", alpn=["http/1.1"]))
    https_get(srv.port, ctx=client_context(version="TLSv1.2",
                                           ciphers="ECDHE-RSA-AES128-GCM-SHA256"))
    srv.get("/", port=srv.ports[1])
    assert wait_for(lambda: len(srv.access_log("t.log").splitlines()) == 3)
    lines = [ln.split("|") for ln in srv.access_log("t.log").splitlines()]
    tls13, tls12, plain = lines
    assert tls13[:3] == ["on", "https", "TLSv1.3"]
    assert tls13[3].startswith("TLS_AES_") or tls13[3] == "TLS_CHACHA20_POLY1305_SHA256"
    assert tls13[4:6] == ["X25519", "a.test"]
    assert re.fullmatch(r"[0-9a-f]{64}|-", tls13[6]), tls13
    assert tls13[7:] == [".", "http/1.1"]
    assert tls12[:6] == ["on", "https", "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", "X25519",
                         "a.test"]
    assert re.fullmatch(r"[0-9a-f]{64}|-", tls12[6]), tls12
    assert tls12[7:] == [".", "-"]
    assert plain == ["", "http", "-", "-", "-", "-", "-", "-", "-"]
