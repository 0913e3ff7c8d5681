#!/usr/bin/env bash
# Installs what test/gpu/webgpu.test.ts needs on a machine without a GPU: the EGL/GLES loaders and Mesa's
# software renderer (llvmpipe), on which Dawn's OpenGL ES backend runs the webgpu code path
# (EGL_PLATFORM=surfaceless; the test sets it). Debian/Ubuntu; run as root (CI: before `npm test`).
# Mesa's lavapipe Vulkan driver is NOT enough: Dawn rejects it (../shared/reference/gpu-webgpu.md).
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "setup-mesa: run as root" >&2; exit 2; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-upgrade --no-install-recommends \
  libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri libglapi-mesa libgbm1
