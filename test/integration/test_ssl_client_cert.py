"""Client certificates: ssl_verify_client on | optional | optional_no_ca,
ssl_client_certificate, ssl_trusted_certificate, ssl_verify_depth, ssl_crl, nginx's
400 pages for a missing or bad certificate, and the $ssl_client_* variables passed to
an origin with proxy_set_header."""

import hashlib
import re
import urllib.parse

import pytest

import tlsutil
from backend import Backends
from tlsutil import SERIALS, certs, client_context, https_get, s_client, ssl_server, start

pytestmark = tlsutil.needs_tls

SHOW = 'location / { return 200 "$ssl_client_verify"; }'
NO_CERT = "No required SSL certificate was sent"
BAD_CERT = "The SSL certificate error"


def mtls(verify, extra="", ca="ca"):
    return ssl_server("ssl_client_certificate %s; ssl_verify_client %s; %s"
                      % (certs().path(ca + ".pem"), verify, extra) + SHOW)


def ask(srv, client=None, version=None):
    """(status, body text) of GET / presenting client certificate `client`."""
    r = https_get(srv.port, ctx=client_context(client=client, version=version))
    return r.status, r.text


@pytest.mark.parametrize("version", ["TLSv1.2", "TLSv1.3"])
def test_verify_client_on(ptc, version):
    srv = start(ptc, mtls("on"))
    assert ask(srv, "client", version) == (200, "SUCCESS")
    status, text = ask(srv, None, version)
    assert status == 400 and NO_CERT in text
    for bad in ("client_ca2", "client_expired"):
        status, text = ask(srv, bad, version)
        assert status == 400 and BAD_CERT in text, bad


def test_verify_client_optional(ptc):
    srv = start(ptc, mtls("optional"))
    assert ask(srv, "client") == (200, "SUCCESS")
    assert ask(srv, None) == (200, "NONE")
    for bad in ("client_ca2", "client_expired"):
        status, text = ask(srv, bad)
        assert status == 400 and BAD_CERT in text, bad


def test_verify_client_optional_no_ca(ptc):
    srv = start(ptc, mtls("optional_no_ca"))
    assert ask(srv, "client") == (200, "SUCCESS")
    assert ask(srv, None) == (200, "NONE")
    status, text = ask(srv, "client_ca2")
    assert status == 200 and re.fullmatch(r"FAILED:unable to (get local issuer certificate|"
                                          r"verify the first certificate)", text), text
    # only an unknown issuer is let through: other errors still get the 400
    for bad in ("client_expired",):
        status, text = ask(srv, bad)
        assert status == 400 and BAD_CERT in text, bad


@pytest.mark.parametrize("depth, deep, deeper", [
    ("", 200, 400), ("ssl_verify_depth 0;", 400, 400), ("ssl_verify_depth 1;", 200, 400),
    ("ssl_verify_depth 2;", 200, 200)])
def test_ssl_verify_depth(ptc, depth, deep, deeper):
    """The depth counts intermediates: client_deep has one, client_deeper two (the client
    sends them); the default is 1."""
    srv = start(ptc, mtls("on", depth))
    assert ask(srv, "client")[0] == 200
    assert ask(srv, "client_deep")[0] == deep
    status, text = ask(srv, "client_deeper")
    assert status == deeper
    if status == 400:
        assert BAD_CERT in text


def test_ssl_verify_depth_reason(ptc):
    srv = start(ptc, mtls("optional_no_ca", "ssl_verify_depth 0;"))
    status, text = ask(srv, "client_deep")
    assert status == 200 and text.startswith("FAILED:"), text


def test_ssl_crl(ptc):
    srv = start(ptc, mtls("on", "ssl_crl %s;" % certs().path("crl.pem")))
    assert ask(srv, "client") == (200, "SUCCESS")
    status, text = ask(srv, "client_revoked")
    assert status == 400 and BAD_CERT in text
    # without the CRL the same certificate is fine
    srv2 = start(ptc, mtls("on"))
    assert ask(srv2, "client_revoked") == (200, "SUCCESS")


def test_ssl_trusted_certificate_verifies_without_advertising(ptc):
    """ssl_client_certificate's CAs are sent in the CertificateRequest and trusted;
    ssl_trusted_certificate's are trusted but not sent."""
    srv = start(ptc, mtls("on", "ssl_trusted_certificate %s;" % certs().path("ca.pem"),
                          ca="ca2"))
    assert ask(srv, "client") == (200, "SUCCESS")
    assert ask(srv, "client_ca2") == (200, "SUCCESS")
    out = s_client(srv.port)
    names = out.split("Acceptable client certificate CA names", 1)[1].split("---")[0]
    assert "Other Test CA" in names and "Portico Test CA" not in names, out[-2000:]


def test_client_certificate_variables_to_the_origin(ptc):
    with Backends() as bs:
        b = bs.new()
        names = ("verify", "s_dn", "i_dn", "serial", "fingerprint", "escaped_cert")
        sets = "".join("proxy_set_header X-SSL-%s $ssl_client_%s; " % (n, n) for n in names)
        srv = start(ptc, ssl_server(
            "ssl_client_certificate %s; ssl_verify_client optional; "
            "location / { %s proxy_pass http://%s; }" % (certs().path("ca.pem"), sets, b.addr)))
        assert https_get(srv.port, ctx=client_context(client="client")).status == 200
        assert https_get(srv.port).status == 200
    with_cert, without = b.requests
    pem = certs().pem("client")
    der = certs().der("client.pem")
    assert with_cert.header("X-SSL-verify") == "SUCCESS"
    assert with_cert.header("X-SSL-s_dn") == "CN=client,OU=clients,O=Portico Test"
    assert with_cert.header("X-SSL-i_dn") == "CN=Portico Test CA,O=Portico Test"
    assert with_cert.header("X-SSL-serial") == SERIALS["client"]
    assert with_cert.header("X-SSL-fingerprint") == hashlib.sha1(der).hexdigest()
    escaped = with_cert.header("X-SSL-escaped_cert")
    assert "\n" not in escaped and " " not in escaped
    assert urllib.parse.unquote(escaped).strip() == pem.strip()
    # without a certificate: NONE, and the other headers are empty (so not sent)
    assert without.header("X-SSL-verify") == "NONE"
    assert [without.header("X-SSL-" + n) for n in names[1:]] == [None] * 5
