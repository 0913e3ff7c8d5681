#!/usr/bin/env bash
# Runs on the offline GPU machine, from the repository root, after bench/gpu-pack.sh packed .gpu-bundle/:
#   .gpu-bundle/run.sh [bench gpu options]
# Unpacks node, node_modules, dist and the loader packages, then runs `coldrl bench gpu`, writing the log
# and the JSON figures to $OUT (or ./out). On a machine without a GPU the same script runs the Mesa path
# (set EGL_PLATFORM=surfaceless) and webgpu is measured on the CPU renderer.
set -uo pipefail
B=.gpu-bundle
OUTDIR=${OUT:-out}
mkdir -p "$OUTDIR" /tmp/coldrl-node
t0=$(date +%s)
if ! command -v node >/dev/null; then
  xz -dc "$B/node.xz" > /tmp/coldrl-node/node && chmod +x /tmp/coldrl-node/node
  export PATH=/tmp/coldrl-node:$PATH
fi
[ -d node_modules/@tensorflow/tfjs ] || xz -dc "$B/node_modules.tar.xz" | tar -xf -
[ -f dist/trainer/cli.js ] || xz -dc "$B/dist.tar.xz" | tar -xf -
if [ "$(id -u)" = 0 ] && ! ldconfig -p | grep -q libvulkan.so.1; then
  for f in "$B"/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json; do
  [ -f "$f" ] && { export VK_DRIVER_FILES=$f; break; }
done
for f in /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json; do
  [ -f "$f" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$f
done
echo "unpacked in $(( $(date +%s) - t0 )) s; node $(node --version)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
node dist/trainer/cli.js bench gpu --out "$OUTDIR/gpu.json" "$@" 2>&1 | grep -v '^Warning: max\|^ *at operator' | tee "$OUTDIR/gpu.log"
exit "${PIPESTATUS[0]}"
