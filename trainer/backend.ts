/**
 * Picks and initialises the tfjs backend the trainer fits its network on.
 *
 * API (for trainer/commands/train.ts and anything else that trains):
 *
 *   import { resolveBackend, BACKEND_NAMES, type BackendName } from '../trainer/backend.js';
 *   const r = await resolveBackend('auto');   // 'auto' | 'webgpu' | 'wasm' | 'cpu' | 'tensorflow'
 *   r.backend   // 'webgpu' | 'wasm' | 'cpu' | 'tensorflow': the tfjs backend now active (tf.getBackend())
 *   r.adapter   // webgpu only: { vendor, architecture, device, description, isFallbackAdapter, dawnBackend }
 *   r.tf        // the @tensorflow/tfjs module, already switched to r.backend (use it, or your own import:
 *               // it is the same module instance)
 *   describeBackend(r)  // one line for the log, e.g. "webgpu (nvidia NVIDIA H200, vulkan)"
 * Store `r.backend` and `r.adapter` with the run. Call it once per process, before building any tensor.
 *
 * 'auto': webgpu when Dawn finds a real GPU adapter (not a fallback, not a software renderer such as
 * llvmpipe/lavapipe/SwiftShader), else @tensorflow/tfjs-node when it is installed, else wasm (cpu when
 * even wasm cannot load). An explicit name that cannot be set up throws ColdrlError COLDRL_ERR_BACKEND.
 * Every optional package (webgpu, @tensorflow/tfjs-backend-webgpu, @tensorflow/tfjs-node, wasm) is imported
 * inside try/catch, so a machine where it does not load only loses that backend.
 *
 * WebGPU set-up (../shared/reference/gpu-webgpu.md): the `webgpu` package (Dawn for Node) provides the
 * WebGPU globals and navigator.gpu; tfjs-backend-webgpu 4.22 registers itself with a feature list shaped
 * wrongly for Dawn, so the backend is registered again with a factory that asks only for the limits tfjs
 * uses. An explicit 'webgpu' also accepts Dawn's OpenGL ES backend in compatibility mode, which runs on
 * Mesa's software renderer (EGL_PLATFORM=surfaceless) so CI can exercise the webgpu code path; 'auto' never
 * picks that. Dawn toggles can be passed in COLDRL_DAWN_FLAGS (comma-separated create() options).
 */
import { createRequire } from 'node:module';
import type * as tfNs from '@tensorflow/tfjs';
import { ColdrlError } from '../replay/errors.js';

export type Tf = typeof tfNs;
export type BackendName = 'auto' | 'webgpu' | 'wasm' | 'cpu' | 'tensorflow';
export type ActiveBackend = Exclude<BackendName, 'auto'>;
export const BACKEND_NAMES: readonly BackendName[] = ['auto', 'webgpu', 'wasm', 'cpu', 'tensorflow'];

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  /** Dawn's backend for this adapter: 'vulkan', 'opengles', ... ('' when unknown). */
  dawnBackend: string;
}

export interface ResolvedBackend {
  backend: ActiveBackend;
  adapter?: AdapterInfo;
  tf: Tf;
}

export interface ResolveOptions {
  /** Dawn create() options tried in order for 'webgpu' (default: native first, then OpenGL ES). */
  dawnFlagSets?: string[][];
}

const require = createRequire(import.meta.url);
// The tfjs packages' "main" builds are CommonJS; requiring them shares one tfjs-core instance with
// `import '@tensorflow/tfjs'` elsewhere (also resolved to the CommonJS build under Node).
const tf = require('@tensorflow/tfjs') as Tf;

/** Minimal shapes of the WebGPU objects used here (the `webgpu` package's types are optional). */
interface GpuLimits { [k: string]: number }
interface GpuAdapter {
  readonly features: { has(f: string): boolean };
  readonly limits: GpuLimits;
  readonly info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
  requestDevice(d: { requiredFeatures: string[]; requiredLimits: Record<string, number> }): Promise<unknown>;
}
interface Gpu { requestAdapter(o?: Record<string, unknown>): Promise<GpuAdapter | null> }

const SOFTWARE_RENDERERS = /llvmpipe|lavapipe|softpipe|swiftshader|software/i;

/** Limits tfjs-backend-webgpu asks for (base.ts of 4.22), requested at the adapter's maximum. */
const TFJS_LIMITS = [
  'maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'maxStorageBufferBindingSize',
  'maxBufferSize', 'maxComputeWorkgroupSizeX', 'maxComputeInvocationsPerWorkgroup',
];

function tryRequire(spec: string): unknown {
  try {
    return require(spec);
  } catch {
    return undefined;
  }
}

function dawnFlagSets(opts: ResolveOptions, nativeOnly: boolean): string[][] {
  if (opts.dawnFlagSets) return opts.dawnFlagSets;
  const extra = (process.env.COLDRL_DAWN_FLAGS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (nativeOnly) return [extra];
  return [extra, [...extra, 'backend=opengles']];
}

interface Found { gpu: Gpu; adapter: GpuAdapter; compat: boolean; dawnBackend: string }

/** Finds a Dawn adapter; null when the package does not load or no adapter is found. */
async function findAdapter(flagSets: string[][], acceptSoftware: boolean): Promise<Found | null> {
  let webgpu: { create(flags: string[]): Gpu; globals: Record<string, unknown> };
  try {
    webgpu = (await import('webgpu' as string)) as typeof webgpu;
  } catch {
    return null;
  }
  Object.assign(globalThis, webgpu.globals);
  for (const flags of flagSets) {
    let gpu: Gpu;
    try {
      gpu = webgpu.create(flags);
    } catch {
      continue;
    }
    const gles = flags.includes('backend=opengles');
    const tries: Record<string, unknown>[] = gles
      ? [{ featureLevel: 'compatibility', powerPreference: 'high-performance' }]
      : [{ powerPreference: 'high-performance' }];
    for (const t of tries) {
      let adapter: GpuAdapter | null = null;
      try {
        adapter = await gpu.requestAdapter(t);
      } catch {
        adapter = null;
      }
      if (!adapter) continue;
      const info = adapter.info;
      const software = Boolean(info.isFallbackAdapter) || SOFTWARE_RENDERERS.test(`${info.device} ${info.description}`);
      if (software && !acceptSoftware) continue;
      const dawnBackend = gles ? 'opengles' : (/vulkan/i.test(info.description) ? 'vulkan' : (process.platform === 'darwin' ? 'metal' : 'vulkan'));
      return { gpu, adapter, compat: gles, dawnBackend };
    }
  }
  return null;
}

async function setUpWebgpu(found: Found): Promise<boolean> {
  (globalThis as { navigator?: unknown }).navigator = { gpu: found.gpu };
  const wg = tryRequire('@tensorflow/tfjs-backend-webgpu') as
    | { WebGPUBackend: new (device: unknown, info: unknown) => tfNs.KernelBackend }
    | undefined;
  if (!wg) return false;
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  const adapter = found.adapter;
  tf.registerBackend('webgpu', async () => {
    const requiredLimits: Record<string, number> = {};
    for (const k of TFJS_LIMITS) if (typeof adapter.limits[k] === 'number') requiredLimits[k] = adapter.limits[k]!;
    const requiredFeatures = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
    const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
    return new wg.WebGPUBackend(device, adapter.info);
  }, 3);
  try {
    return await tf.setBackend('webgpu');
  } catch {
    return false;
  }
}

async function setSimple(name: 'wasm' | 'cpu' | 'tensorflow'): Promise<boolean> {
  if (name === 'wasm' && !tryRequire('@tensorflow/tfjs-backend-wasm')) return false;
  if (name === 'tensorflow' && !tryRequire('@tensorflow/tfjs-node')) return false;
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

function adapterInfo(found: Found): AdapterInfo {
  const i = found.adapter.info;
  return {
    vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description,
    isFallbackAdapter: Boolean(i.isFallbackAdapter), dawnBackend: found.dawnBackend,
  };
}

/** Sets up and activates a tfjs backend; see the file comment for the rules of 'auto'. */
export async function resolveBackend(name: BackendName, opts: ResolveOptions = {}): Promise<ResolvedBackend> {
  if (!BACKEND_NAMES.includes(name)) {
    throw new ColdrlError('COLDRL_ERR_USAGE', `unknown backend "${name}" (known: ${BACKEND_NAMES.join(', ')})`);
  }
  if (name === 'webgpu' || name === 'auto') {
    const found = await findAdapter(dawnFlagSets(opts, name === 'auto'), name === 'webgpu');
    if (found && (await setUpWebgpu(found))) {
      await tf.ready();
      return { backend: 'webgpu', adapter: adapterInfo(found), tf };
    }
    if (name === 'webgpu') {
      throw new ColdrlError('COLDRL_ERR_BACKEND', found
        ? `webgpu: adapter "${found.adapter.info.device || found.adapter.info.description}" found but the tfjs webgpu backend did not initialise`
        : 'webgpu: no WebGPU adapter (the "webgpu" package did not load, or Dawn found no Vulkan/OpenGL ES device; '
          + 'on a machine without a GPU install Mesa and set EGL_PLATFORM=surfaceless, see docs/gpu.md)');
    }
    for (const n of ['tensorflow', 'wasm', 'cpu'] as const) {
      if (await setSimple(n)) {
        await tf.ready();
        return { backend: n, tf };
      }
    }
    throw new ColdrlError('COLDRL_ERR_BACKEND', 'no tfjs backend could be initialised');
  }
  if (!(await setSimple(name))) {
    throw new ColdrlError('COLDRL_ERR_BACKEND', name === 'tensorflow'
      ? 'tensorflow: @tensorflow/tfjs-node is not installed or does not load here'
      : `${name}: the tfjs backend did not initialise`);
  }
  await tf.ready();
  return { backend: name, tf };
}

/** One line naming the backend and, for webgpu, the adapter. */
export function describeBackend(r: ResolvedBackend): string {
  if (!r.adapter) return r.backend;
  const a = r.adapter;
  const what = [a.vendor, a.device || a.description].filter(Boolean).join(' ');
  return `webgpu (${what || 'unknown adapter'}, ${a.dawnBackend}${a.isFallbackAdapter ? ', fallback' : ''})`;
}
