#!/bin/sh
# `make run`: runs Portico in the foreground on conf/portico.conf, with a
# prefix under objs/demo/ that holds a copy of conf/ and the demo html/
# (logs go to objs/demo/logs/). Ctrl-C stops it.
set -eu
cd "$(dirname "$0")/.."
demo=objs/demo
mkdir -p "$demo/conf" "$demo/logs" "$demo/html"
cp conf/portico.conf conf/mime.types "$demo/conf/"
cp conf/html/index.html "$demo/html/"
echo "Portico demo: http://127.0.0.1:8080/ (origins on :8081 and :8082)"
echo "Ctrl-C stops it; logs are in $demo/logs/"
# As root, workers would run as "nobody" and could not read a checkout in a
# private home directory: the demo keeps them as the invoking user.
global="daemon off;"
[ "$(id -u)" = 0 ] && global="$global user root;"
exec ./objs/portico -p "$(pwd)/$demo/" -c conf/portico.conf -g "$global"
