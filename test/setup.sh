#!/usr/bin/env bash
# Installs the system packages the test suite needs, once (npm's pretest runs it before `npm test`):
#  - Mesa's EGL/GLES software renderer, for the webgpu code path on machines without a GPU
#    (test/gpu/setup-mesa.sh);
#  - zstd, xz and bzip2, which test/logs/ compresses with (the readers decompress through them);
#  - NGINX and its module build are installed by nginx/build.sh, which test/nginx/e2e.test.ts calls itself.
# Already installed: returns at once. Not root and something missing: says so and goes on (the tests that
# need it then fail with their own reason).
set -uo pipefail
cd "$(dirname "$0")/.."
need=()
for p in libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri libgbm1; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test/setup.sh: installing ${need[*]} (Mesa, for the webgpu tests)" >&2
    bash test/gpu/setup-mesa.sh || { echo "test/setup.sh: Mesa install failed" >&2; exit 1; }
  else
    echo "test/setup.sh: missing ${need[*]}; run 'sudo bash test/gpu/setup-mesa.sh' for the webgpu tests" >&2
  fi
fi
# the compressors the readers decompress through (test/logs/oracle.test.ts, archive.test.ts): program package
tools=()
for pair in zstd:zstd xz:xz-utils bzip2:bzip2; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || tools+=("${pair#*:}")
done
if [ ${#tools[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test/setup.sh: installing ${tools[*]}" >&2
    { apt-get update -qq && apt-get install -y -qq --no-upgrade --no-install-recommends "${tools[@]}"; } >/dev/null || { echo "test/setup.sh: ${tools[*]} install failed" >&2; exit 1; }
  else
    echo "test/setup.sh: missing ${tools[*]}; run 'sudo apt-get install ${tools[*]}' for the compressed-trace tests" >&2
  fi
fi
exit 0
