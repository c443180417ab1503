"""The rewrite module: rewrite (every flag, captures, args, redirects, cycles), return,
break, set, if (every operator, the block as an anonymous location, server level),
rewrite_log and uninitialized_variable_warn, and their config errors.

Configs use @A for a backend's address (127.0.0.1:port)."""

import re

import pytest

from backend import Backends


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def start(ptc, body, http="", b=None, **kw):
    """Start with one server on %PORT% whose block is `body` (after `http`)."""
    conf = "%s\nserver {\n    listen 127.0.0.1:%%PORT%%;\n%s\n}\n" % (http, body)
    if b is not None:
        conf = conf.replace("@A", b.addr)
    return ptc.start(conf, **kw)


def text(srv, path, **kw):
    r = srv.get(path, **kw)
    return r.status, r.body.decode()


def log_has(srv, needle):
    return srv.wait_for(lambda: needle in srv.error_log(), timeout=5)


# --- rewrite: flags ---------------------------------------------------------


def test_last_searches_the_location_again(ptc):
    srv = start(ptc, r"""
        location /old/ { rewrite ^/old/(.*)$ /new/$1 last; return 500; }
        location /new/ { return 200 "new $uri"; }
        location /a { rewrite ^ /img/pic.png last; }
        location ~ \.png$ { return 200 "png $uri"; }""")
    assert text(srv, "/old/x/y") == (200, "new /new/x/y")
    assert text(srv, "/a") == (200, "png /img/pic.png")


def test_no_flag_goes_on_with_the_next_directive(ptc):
    srv = start(ptc, """
        location /a { rewrite ^/a(.*)$ /b$1; rewrite ^/b(.*)$ /c$1; }
        location /r { rewrite ^ /changed; return 200 "uri=$uri"; }
        location /c { return 200 "c $uri"; }""")
    assert text(srv, "/a/x") == (200, "c /c/x")
    assert text(srv, "/r") == (200, "uri=/changed")


def test_break_flag_and_directive_stay_in_the_location(ptc):
    srv = start(ptc, """
        location /a { rewrite ^ /file.txt break; return 200 "not reached"; }
        location /d { rewrite ^ /file.txt; break; return 200 "not reached"; }
        location /file.txt { return 200 "wrong location"; }""",
                files={"html/file.txt": "static file\n"})
    assert text(srv, "/a") == (200, "static file\n")
    assert text(srv, "/d") == (200, "static file\n")


@pytest.mark.parametrize("flag, status", [("redirect", 302), ("permanent", 301)])
def test_redirect_flags(ptc, flag, status):
    srv = start(ptc, "location /r { rewrite ^/r/(.*)$ /to/$1 %s; }" % flag)
    r = srv.get("/r/x?k=v")
    assert r.status == status
    assert r.header("Location") == "http://localhost:%d/to/x?k=v" % srv.port


def test_absolute_replacement_redirects(ptc):
    srv = start(ptc, """
        location /a { rewrite ^ http://example.com/x; }
        location /b { rewrite ^ $scheme://example.com/y?a=1 permanent; }
        location /c { rewrite ^ https://example.com/z? last; }""")
    r = srv.get("/a?k=1")
    assert (r.status, r.header("Location")) == (302, "http://example.com/x?k=1")
    r = srv.get("/b?k=2")
    assert (r.status, r.header("Location")) == (301, "http://example.com/y?a=1&k=2")
    r = srv.get("/c?k=3")
    assert (r.status, r.header("Location")) == (302, "https://example.com/z")


def test_named_location_is_not_left_for_an_earlier_rewrite(ptc):
    srv = start(ptc, """
        location /a { error_page 404 = @n; rewrite ^ /b; return 404; }
        location /b { return 200 "b"; }
        location @n { add_header X-Named 1; }""")
    r = srv.get("/a")
    assert (r.status, r.header("X-Named")) == (404, None)
    assert log_has(srv, 'html/b" failed')


def test_alias_refuses_a_uri_rewritten_with_break(ptc):
    srv = start(ptc, """
        location /al/ { alias html/; rewrite ^/al/(.*)$ /al/$1 break; }
        location /ok/ { alias html/; }""", files={"html/f.txt": "file\n"})
    srv.allow_log_errors()  # nginx logs this at [alert]; Portico at [error]
    assert srv.get("/al/f.txt").status == 500
    assert log_has(srv, '"alias" cannot be used in location "/al/" where URI was rewritten')
    assert text(srv, "/ok/f.txt") == (200, "file\n")


def test_internal_location_accepts_rewritten_requests(ptc):
    srv = start(ptc, """
        location /i { internal; return 200 "internal"; }
        location /to { rewrite ^ /i last; }""")
    assert text(srv, "/to") == (200, "internal")
    assert srv.get("/i").status == 404


# --- rewrite: cycles ----------------------------------------------------------


def test_ten_uri_changes_are_allowed(ptc):
    srv = start(ptc, """
        location /c { if ($uri = /cxxxxxxxxxx) { return 200 "ten"; } rewrite ^(.*)$ $1x last; }""")
    assert text(srv, "/c") == (200, "ten")


def test_cycle_ends_with_500(ptc):
    srv = start(ptc, """
        location /loop { rewrite ^ /loop2 last; }
        location /loop2 { rewrite ^ /loop last; }
        location ~ ^/rx/ { rewrite ^/rx/(.*)$ /rx/$1 last; }
        location /c { if ($uri = /cxxxxxxxxxxx) { return 200 "eleven"; } rewrite ^(.*)$ $1x; }""")
    assert srv.get("/loop").status == 500
    assert log_has(srv, 'rewrite or internal redirection cycle while processing "/loop2"')
    assert srv.get("/rx/a").status == 500
    assert srv.get("/c").status == 500
    assert log_has(srv, 'while processing "/cxxxxxxxxxxx"')


def test_zero_length_uri_is_an_error(ptc):
    srv = start(ptc, "location / { rewrite ^/(.*)$ $1 last; }")
    assert srv.get("/").status == 500
    assert log_has(srv, "the rewritten URI has a zero length")


# --- rewrite: captures and args ----------------------------------------------


def test_numbered_and_named_captures(ptc):
    srv = start(ptc, r"""
        location /u/ { rewrite ^/u/(?<user>\w+)/(\d+)$ /profile?user=$user&id=$2 last; }
        location /v/ { rewrite ^/v/(\w+)/(\w+)$ /profile/$2$1 last; }
        location /profile { return 200 "$uri?$args"; }""")
    assert text(srv, "/u/bob/42?x=1") == (200, "/profile?user=bob&id=42&x=1")
    assert text(srv, "/v/a/b") == (200, "/profile/ba?")


def test_named_capture_of_the_location_survives_a_later_match(ptc):
    # nginx keeps a named group's value in its variable; $1 belongs to the last match
    srv = start(ptc, r"""
        location ~ ^/n/(?<name>\w+)/(\w+) { rewrite ^ /out/$name/$1 last; }
        location /out/ { return 200 $uri; }""")
    assert text(srv, "/n/foo/bar") == (200, "/out/foo/")


@pytest.mark.parametrize("repl, expected", [
    ("/p", "/p|o=1"),                 # the request's args are kept
    ("/p?", "/p|"),                   # a trailing ? drops them
    ("/p?n=1", "/p|n=1&o=1"),         # new args, then the old ones after &
    ("/p?n=1?", "/p|n=1"),
    ("/p?a?b", "/p|a?b&o=1"),         # only the first ? separates
])
def test_args_handling(ptc, repl, expected):
    srv = start(ptc, """
        location /a { rewrite ^ %s last; }
        location /p { return 200 "$uri|$args"; }""" % repl)
    assert text(srv, "/a?o=1") == (200, expected)


def test_captures_in_args_and_redirects_are_escaped(ptc):
    srv = start(ptc, """
        location /c/ { rewrite ^/c/(.*)$ /p/$1?q=$1 last; }
        location /p/ { return 200 "$uri|$args"; }
        location /red/ { rewrite ^/red/(.*)$ /to/$1?q=$1 redirect; }""")
    # the path keeps the decoded capture; the query gets it escaped
    assert text(srv, "/c/a%20b+c?o=1") == (200, "/p/a b+c|q=a%20b%2Bc&o=1")
    assert text(srv, "/c/ab?o=1") == (200, "/p/ab|q=ab&o=1")
    r = srv.get("/red/a%20b?o=1")
    assert r.header("Location") == "http://localhost:%d/to/a%%20b?q=a%%20b&o=1" % srv.port


def test_new_uri_is_used_as_written_and_escaped_towards_the_origin(ptc, backends):
    b = backends.new()
    srv = start(ptc, """
        location /sp { rewrite ^ "/a b%41" break; proxy_pass http://@A; }
        location /show { rewrite ^ "/x y%41"; return 200 "[$uri]"; }
        location /base/ { rewrite ^/base/(.*)$ /other/$1 break; proxy_pass http://@A/up/; }
        location /keep/ { proxy_pass http://@A/up/; }""", b=b)
    assert srv.get("/sp").status == 200
    assert text(srv, "/show") == (200, "[/x y%41]")
    assert srv.get("/base/z?q=1").status == 200
    assert srv.get("/keep/z").status == 200
    # after "break" the URI part of proxy_pass is not used: the whole new URI goes
    assert b.targets == ["/a%20b%2541", "/other/z?q=1", "/up/z"]


# --- server level --------------------------------------------------------------


def test_server_rewrite_runs_before_the_location_search(ptc):
    srv = start(ptc, """
        rewrite ^/old/(.*)$ /new/$1;
        if ($arg_go) { rewrite ^ /target last; return 500; }
        error_page 404 /old/notfound;
        location /old/ { return 200 "old"; }
        location /new/ { return 200 "new $uri"; }
        location /target { return 200 "target"; }""")
    assert text(srv, "/old/x") == (200, "new /new/x")
    assert text(srv, "/any?go=1") == (200, "target")
    # an internal redirect (error_page) passes the server's rewrites again
    assert text(srv, "/missing") == (404, "new /new/notfound")


def test_server_level_if_and_return(ptc):
    srv = start(ptc, """
        if ($http_x_block = yes) { return 403; }
        set $where server;
        location / { return 200 "ok $where"; }""")
    assert srv.get("/", headers={"X-Block": "yes"}).status == 403
    assert text(srv, "/") == (200, "ok server")


# --- return ordering, set -------------------------------------------------------


def test_program_order_is_file_order(ptc):
    srv = start(ptc, """
        location /first { return 200 "first"; rewrite ^ /x; }
        location /second { rewrite ^ /x; return 200 "$uri"; }
        location /set { set $a 1; return 200 "a=$a"; set $a 2; }
        location /if { set $v a; if ($arg_x) { set $v b; } return 200 "v=$v"; }""")
    assert text(srv, "/first") == (200, "first")
    assert text(srv, "/second") == (200, "/x")
    assert text(srv, "/set") == (200, "a=1")
    assert text(srv, "/if") == (200, "v=a")
    assert text(srv, "/if?x=1") == (200, "v=b")


def test_set_variable_everywhere(ptc, backends):
    b = backends.new()
    srv = start(ptc, """
        set $who srv;
        location / {
            set $who "loc-$arg_n";
            add_header X-Who $who;
            access_log logs/t.log t;
            proxy_set_header X-Who $who;
            proxy_pass http://@A;
        }
        location /m { set $src hello; return 200 "$mapped"; }""",
                http="log_format t '$uri $who';\nmap $src $mapped { hello m-hello; default m-def; }",
                b=b)
    r = srv.get("/x?n=5")
    assert r.status == 200 and r.header("X-Who") == "loc-5"
    assert b.requests[0].header("X-Who") == "loc-5"
    assert srv.wait_for(lambda: "/x loc-5\n" in srv.access_log("t.log"))
    assert text(srv, "/m") == (200, "m-hello")


@pytest.mark.parametrize("map_first", [True, False])
def test_set_assigns_a_map_variable(ptc, map_first):
    srv_block = """server { listen 127.0.0.1:%PORT%;
        location /m { if ($arg_o) { set $mapped "over"; } return 200 "$mapped"; } }"""
    map_block = "map $uri $mapped { default m-def; }"
    srv = ptc.start("\n".join([map_block, srv_block] if map_first else [srv_block, map_block]))
    assert text(srv, "/m") == (200, "m-def")
    assert text(srv, "/m?o=1") == (200, "over")


def test_set_args(ptc, backends):
    b = backends.new()
    srv = start(ptc, """
        location /p { set $args "x=1&y=2"; proxy_pass http://@A; }
        location /v { set $args "x=1"; return 200 "$args|$arg_x|$request_uri"; }""", b=b)
    assert srv.get("/p?o=1").status == 200
    assert b.targets == ["/p?x=1&y=2"]
    assert text(srv, "/v?o=1") == (200, "x=1|1|/v?o=1")


def test_uninitialized_variable_warning(ptc):
    srv = start(ptc, """
        location /u { return 200 "[$foo]"; }
        location /q { uninitialized_variable_warn off; return 200 "[$bar]"; }
        location /s { set $foo x; set $bar y; return 200 "$foo$bar"; }""")
    assert text(srv, "/q") == (200, "[]")
    assert text(srv, "/u") == (200, "[]")
    assert log_has(srv, 'using uninitialized "foo" variable')
    assert 'using uninitialized "bar" variable' not in srv.error_log()
    assert text(srv, "/s") == (200, "xy")


# --- if -------------------------------------------------------------------


IF_CASES = [
    ("$arg_v", "1", True), ("$arg_v", "0", False), ("$arg_v", "", False),
    ("$arg_v = abc", "abc", True), ("$arg_v = abc", "abcd", False),
    ('$arg_v = "a b"', "a%20b", False),      # $arg_ is not decoded
    ("$arg_v != abc", "abd", True), ("$arg_v != abc", "abc", False),
    ("$arg_v ~ ^a", "ab", True), ("$arg_v ~ ^a", "Ab", False),
    ("$arg_v ~* ^a", "Ab", True), ("$arg_v !~ ^a", "Ab", True),
    ("$arg_v !~ ^a", "ab", False), ("$arg_v !~* ^a", "Ab", False),
    ('$arg_v ~ "^x{2}$"', "xx", True),       # a regex with { must be quoted
    ("$arg_v = $arg_w", "same&w=same", True),
]


@pytest.mark.parametrize("cond, value, expected", IF_CASES)
def test_if_operators(ptc, cond, value, expected):
    srv = start(ptc, 'location / { if (%s) { return 200 "yes"; } return 200 "no"; }' % cond)
    assert text(srv, "/?v=" + value) == (200, "yes" if expected else "no")


def test_if_regex_captures_are_available_in_the_block(ptc):
    srv = start(ptc, r"""location / {
        if ($http_x ~* "^ab-(?<n>\d+)-(\w+)$") { return 200 "n=$n 2=$2"; }
        return 200 "none"; }""")
    assert text(srv, "/", headers={"X": "AB-42-zz"}) == (200, "n=42 2=zz")
    assert text(srv, "/", headers={"X": "nope"}) == (200, "none")


@pytest.mark.parametrize("cond, expected", [
    ("-f $document_root/f.txt", True), ("-f $document_root/d", False),
    ("!-f $document_root/none", True), ("-d $document_root/d", True),
    ("!-d $document_root/f.txt", True), ("-e $document_root/d", True),
    ("-e $document_root/none", False), ("!-e $document_root/f.txt", False),
    ("-x $document_root/d", True), ("-x $document_root/f.txt", False),
    ("!-x $document_root/f.txt", True),
])
def test_if_file_tests(ptc, cond, expected):
    srv = start(ptc, 'location / { if (%s) { return 200 "yes"; } return 200 "no"; }' % cond,
                files={"html/f.txt": "f", "html/d/g.txt": "g"})
    assert text(srv, "/") == (200, "yes" if expected else "no")


def test_if_block_settings_apply_and_inherit(ptc, backends):
    b = backends.new()
    srv = start(ptc, """
        location / {
            add_header X-Parent 1;
            proxy_set_header X-Mode parent;
            proxy_pass http://@A;
            if ($arg_h) { add_header X-If 1; }
        }
        location /s {
            root html/a;
            if ($arg_b) { root html/b; }
        }""", b=b, files={"html/a/s/f.txt": "from a\n", "html/b/s/f.txt": "from b\n"})
    r = srv.get("/x?h=1")
    assert (r.status, r.header("X-If"), r.header("X-Parent")) == (200, "1", None)
    r = srv.get("/x")
    assert (r.status, r.header("X-If"), r.header("X-Parent")) == (200, None, "1")
    # the block proxies as its location does, with the location's proxy settings
    assert [q.target for q in b.requests] == ["/x?h=1", "/x"]
    assert [q.header("X-Mode") for q in b.requests] == ["parent", "parent"]
    assert text(srv, "/s/f.txt") == (200, "from a\n")
    assert text(srv, "/s/f.txt?b=1") == (200, "from b\n")


def test_if_with_proxy_pass_and_return_inside(ptc, backends):
    b = backends.new()
    srv = start(ptc, """
        location / {
            if ($arg_p) { proxy_pass http://@A; }
            if ($arg_r) { return 201 "returned"; }
        }""", b=b, files={"html/index.html": "local\n"})
    assert text(srv, "/?r=1") == (201, "returned")
    assert text(srv, "/") == (200, "local\n")
    assert srv.get("/?p=1").header("X-Backend") == b.name
    assert b.targets == ["/?p=1"]


def test_server_name_capture_survives_a_location_match(ptc):
    srv = start(ptc, r"""
        server_name ~^(?<sub>\w+)\.example\.com$;
        location ~ ^/(?<first>\w+) { return 200 "$sub $first"; }""")
    assert text(srv, "/top", host="api.example.com") == (200, "api top")


# --- rewrite_log --------------------------------------------------------------


def test_rewrite_log(ptc):
    srv = start(ptc, r"""
        rewrite_log on;
        location /a/ { rewrite ^/b/ /never; rewrite ^/a/(.*)$ /c/$1?q=1; return 200 $uri; }
        location /r { if ($arg_v ~ ^z) { return 200 "z"; } rewrite ^ /x redirect; }
        location /quiet { rewrite_log off; rewrite ^ /q; return 200 $uri; }""")
    assert text(srv, "/a/b?o=1") == (200, "/c/b")
    assert srv.get("/r?v=k").status == 302
    assert text(srv, "/quiet") == (200, "/q")
    assert log_has(srv, '[notice]')
    log = srv.error_log()
    for line in ['"^/b/" does not match "/a/b"', '"^/a/(.*)$" matches "/a/b"',
                 'rewritten data: "/c/b", args: "q=1&o=1"', '"^z" does not match "k"',
                 '"^" matches "/r"', 'rewritten redirect: "/x?v=k"']:
        assert re.search(r"\[notice\] .*" + re.escape(line), log), line
    assert '"/quiet"' not in log


# --- config errors ---------------------------------------------------------------


def emerg(ptc, body, message):
    """`-t` fails with `[emerg] message in FILE:5` (the line of `body`)."""
    srv = ptc.prepare("server {\n    listen 127.0.0.1:%%PORT%%;\n%s\n}\n" % body)
    conf = srv.conf_path.read_text()
    line = conf.splitlines().index(body) + 1
    r = srv.cli("-t")
    assert r.returncode == 1, r.stderr
    where = " in %s:%d" % (srv.conf_path, line)
    # Portico adds the offset to PCRE2 errors
    assert re.search(r"\[emerg\] (\d+#\d+: )?%s( \(offset \d+\))?%s\n"
                     % (re.escape(message), re.escape(where)),
                     r.stderr), "want [emerg] %s%s\ngot: %s" % (message, where, r.stderr)


@pytest.mark.parametrize("body, message", [
    ("rewrite ^/(a /x;", 'pcre2_compile() failed: missing closing parenthesis in "^/(a"'),
    ("rewrite ^ /x foo;", 'invalid parameter "foo"'),
    ("rewrite ^;", 'invalid number of arguments in "rewrite" directive'),
    ('rewrite ^ "";', "empty replacement"),
    ("location / { if ($uri) { if ($args) { } } }", '"if" directive is not allowed here'),
    ("if ($uri = ) { }", 'invalid condition "$uri"'),
    ("if ($uri == a) { }", 'unexpected "==" in condition'),
    ("if (uri) { }", 'invalid condition "uri"'),
    ("if ($uri { }", 'invalid condition "$uri"'),
    ("if (($uri) { }", 'invalid condition "($uri"'),
    ("if (-f) { }", 'invalid condition "-f"'),
    ("if (-z /x) { }", 'invalid condition "-z"'),
    ('if ($uri ~ "(") { }', 'pcre2_compile() failed: missing closing parenthesis in "("'),
    ("if ($uri) ;", 'directive "if" has no opening "{"'),
    ("set x 1;", 'invalid variable name "x"'),
    ("set $uri 1;", 'the duplicate "uri" variable'),
    ("break 1;", 'invalid number of arguments in "break" directive'),
    ("rewrite_log maybe;",
     'invalid value "maybe" in "rewrite_log" directive, it must be "on" or "off"'),
    ("if ($uri) { root /x; }", '"root" directive is not allowed here'),
    ("location / { if ($uri) { proxy_pass http://127.0.0.1:1/u; } }",
     '"proxy_pass" cannot have URI part in location given by regular expression, or inside '
     'named location, or inside "if" statement, or inside "limit_except" block'),
])
def test_config_errors(ptc, body, message):
    emerg(ptc, body, message)


def test_unknown_variable_in_condition(ptc):
    srv = ptc.prepare("server { listen 127.0.0.1:%PORT%; if ($nosuchvar) { } }")
    r = srv.cli("-t")
    assert r.returncode == 1 and 'unknown "nosuchvar" variable' in r.stderr
