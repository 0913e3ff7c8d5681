#!/usr/bin/env bash
# Packs what an offline GPU machine (no Node.js, no network; x86-64 Linux with an NVIDIA driver) needs to
# run `coldrl bench gpu`, into the git-ignored folder .gpu-bundle/ (docs/gpu.md):
#   node.xz            this machine's node binary, xz-compressed
#   node_modules.tar.xz  node_modules pruned to what the trainer and the bench load, linux-x64 binaries only
#   dist.tar.xz        the compiled project (dist/ is git-ignored, so it does not travel with the checkout)
#   debs/*.deb         Debian's Vulkan/EGL/GL loader packages (the driver's ICDs need a loader)
#   run.sh             unpacks all that there and runs the benchmark (copy of bench/gpu/run-device.sh)
# Usage: bench/gpu-pack.sh            (run from the repository root after `npx tsc -p tsconfig.json`)
set -euo pipefail
cd "$(dirname "$0")/.."
B=.gpu-bundle
mkdir -p "$B/debs"
[ -f dist/trainer/cli.js ] || { echo "gpu-pack: build first (npx tsc -p tsconfig.json)" >&2; exit 2; }

if [ ! -f "$B/node.xz" ] || [ "$(command -v node)" -nt "$B/node.xz" ]; then
  xz -T2 -9e -c "$(command -v node)" > "$B/node.xz"
fi

# tfjs (full package: tfjs-core alone registers no gradients in Node), its backends, webgpu (Dawn) and the
# small packages they require; the other platforms' Dawn builds, browser bundles and source maps left out.
# onnx-proto/protobufjs write the trap models and onnxruntime-node (linux-x64 only) evaluates them (coldrl:FILE).
MODS=(@tensorflow webgpu seedrandom long node-fetch whatwg-url tr46 webidl-conversions argparse sprintf-js
      core-js regenerator-runtime @types/seedrandom @types/offscreencanvas @webgpu
      onnx-proto protobufjs @protobufjs onnxruntime-node onnxruntime-common)
have=()
for m in "${MODS[@]}"; do [ -e "node_modules/$m" ] && have+=("node_modules/$m"); done
tar -cf - --exclude='webgpu/dist/darwin-*' --exclude='webgpu/dist/win32-*' --exclude='webgpu/dist/linux-arm64' \
  --exclude='*.map' --exclude='*.min.js' --exclude='*.esm.js' --exclude='*.es2017.js' --exclude='*.fesm.js' \
  --exclude='miniprogram' --exclude='webgpu/build' --exclude='webgpu/third_party' \
  --exclude='@tensorflow/*/src' --exclude='onnxruntime-node/bin/napi-v*/darwin' --exclude='onnxruntime-node/bin/napi-v*/win32' \
  --exclude='onnxruntime-node/bin/napi-v*/linux/arm64' --exclude='*.d.ts' --exclude='protobufjs/cli' "${have[@]}" | xz -T2 -6 > "$B/node_modules.tar.xz"
tar -cf - dist | xz -T2 -6 > "$B/dist.tar.xz"

if ! ls "$B"/debs/libvulkan1_*.deb >/dev/null 2>&1; then
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/coldrl-apt-amd64)
  mkdir -p /tmp/coldrl-apt-amd64/partial
  apt-get "${o[@]}" update -qq
  (cd "$B/debs" && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
cp bench/gpu/run-device.sh "$B/run.sh"
chmod +x "$B/run.sh"
du -sh "$B" "$B"/*
