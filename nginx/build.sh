#!/usr/bin/env bash
# Builds ngx_http_coldrl_module.so for Debian 12's own nginx 1.22.1 (a dynamic module, --with-compat).
#
#   nginx/build.sh            build (quick no-op when the module is newer than its sources)
#   nginx/build.sh --print    print NGINX=<binary> MODULE=<.so> (after building)
#
# It installs what it needs with `apt-get install --no-upgrade` (compiler and the -dev headers that
# Debian's configure flags ask for; wrk for `coldrl bench nginx`) and takes nginx, nginx-common and
# nginx-dev with `apt-get download` + `dpkg -x` into nginx/build/root, so no service is ever started
# and the system is left as it was. When nginx-dev is installed system-wide (/usr/share/nginx/src) and
# /usr/sbin/nginx exists, those are used instead. Output: nginx/build/ (git-ignored).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/build"
SO="$OUT/modules/ngx_http_coldrl_module.so"
PRINT=0
[[ "${1:-}" == "--print" ]] && PRINT=1

log() { [[ $PRINT == 1 ]] || echo "nginx/build.sh: $*" >&2; }

mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9

# ---- the nginx binary and the module build tree ----
if [[ -x /usr/sbin/nginx && -f /usr/share/nginx/src/conf_flags ]]; then
  NGINX_BIN=/usr/sbin/nginx
  SRC_TREE=/usr/share/nginx/src
else
  NGINX_BIN="$OUT/root/usr/sbin/nginx"
  SRC_TREE="$OUT/root/usr/share/nginx/src"
fi

if [[ -f "$SO" && -x "$NGINX_BIN" && "$SO" -nt "$HERE/ngx_http_coldrl_module.c" && "$SO" -nt "$HERE/config" \
      && "$SO" -nt "$HERE/build.sh" ]]; then
  [[ $PRINT == 1 ]] && echo "NGINX=$NGINX_BIN" && echo "MODULE=$SO"
  log "up to date: $SO"
  exit 0
fi

need_pkgs=()
command -v gcc >/dev/null || need_pkgs+=(gcc)
command -v make >/dev/null || need_pkgs+=(make)
for p in libpcre2-dev zlib1g-dev libssl-dev libcrypt-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
# wrk drives `coldrl bench nginx`; not needed to build, so a failure here is only reported
dpkg -s wrk >/dev/null 2>&1 || need_pkgs+=(wrk)

apt_ready() {
  if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
    log "apt-get update (package lists missing)"
    apt-get update -qq
  fi
}

if (( ${#need_pkgs[@]} )); then
  apt_ready
  log "apt-get install --no-upgrade ${need_pkgs[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-upgrade "${need_pkgs[@]}" >/dev/null
fi

if [[ ! -x "$NGINX_BIN" || ! -f "$SRC_TREE/conf_flags" ]]; then
  apt_ready
  log "apt-get download nginx nginx-common nginx-dev (extracted into $OUT/root, no service started)"
  rm -rf "$OUT/debs" "$OUT/root"
  mkdir -p "$OUT/debs" "$OUT/root"
  (cd "$OUT/debs" && apt-get download -qq nginx nginx-common nginx-dev 2>/dev/null)
  for deb in "$OUT"/debs/*.deb; do dpkg -x "$deb" "$OUT/root"; done
fi

version="$("$NGINX_BIN" -v 2>&1 | sed -n 's|.*nginx/\([0-9.]*\).*|\1|p')"
log "building against nginx $version ($NGINX_BIN)"

# ---- configure (once) and make modules ----
BUILD_TREE="$OUT/src"
if [[ ! -f "$BUILD_TREE/objs/Makefile" || "$HERE/config" -nt "$BUILD_TREE/objs/Makefile" || "$HERE/build.sh" -nt "$BUILD_TREE/objs/Makefile" ]]; then
  rm -rf "$BUILD_TREE"
  cp -r "$SRC_TREE" "$BUILD_TREE"
  # shellcheck disable=SC1091
  source "$BUILD_TREE/conf_flags"   # NGX_CONF_FLAGS=( ... ): Debian's own flags, so the signatures match
  (cd "$BUILD_TREE" && ./configure "${NGX_CONF_FLAGS[@]}" --add-dynamic-module="$HERE" >"$OUT/configure.log" 2>&1) || {
    tail -20 "$OUT/configure.log" >&2
    echo "nginx/build.sh: configure failed (full log: $OUT/configure.log)" >&2
    exit 1
  }
fi

(cd "$BUILD_TREE" && make -j"$(nproc)" -f objs/Makefile modules >"$OUT/make.log" 2>&1) || {
  grep -E 'error|warning' "$OUT/make.log" | head -30 >&2
  echo "nginx/build.sh: make failed (full log: $OUT/make.log)" >&2
  exit 1
}

mkdir -p "$OUT/modules"
cp "$BUILD_TREE/objs/ngx_http_coldrl_module.so" "$SO.tmp"
mv "$SO.tmp" "$SO"

# load check: the stock binary accepts the module (signature and symbols)
check="$OUT/check"
rm -rf "$check" && mkdir -p "$check/logs"
cat >"$check/nginx.conf" <<EOF
load_module $SO;
pid $check/nginx.pid;
error_log stderr;
events { worker_connections 16; }
http {
  client_body_temp_path $check/body; proxy_temp_path $check/proxy; fastcgi_temp_path $check/fastcgi;
  uwsgi_temp_path $check/uwsgi; scgi_temp_path $check/scgi;
  access_log off;
  coldrl on;
  proxy_cache_path $check/cache keys_zone=check:1m max_size=1m;
  server { listen 127.0.0.1:1; location /coldrl_status { coldrl_status; } }
}
EOF
if ! "$NGINX_BIN" -t -q -p "$check" -c "$check/nginx.conf" -e stderr 2>"$OUT/check.log"; then
  cat "$OUT/check.log" >&2
  echo "nginx/build.sh: $NGINX_BIN refuses the module" >&2
  exit 1
fi

log "built $SO"
[[ $PRINT == 1 ]] && echo "NGINX=$NGINX_BIN" && echo "MODULE=$SO"
exit 0
