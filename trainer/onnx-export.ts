/**
 * Builds the model file (proto/README.md, "The model file") from plain weights with onnx-proto: opset 13,
 * inputs `features` [batch, K, F] and `mask` [batch, K], output `scores` [batch, K]; the graph is the one of
 * trainer/network.ts, op for op (MatMul, Add, Relu, Mul, ReduceSum, Max, Div, Sub, Squeeze, Unsqueeze,
 * Greater, Where; with the 'hit-logit' head also Neg, Softplus, Gather). Batch and K are symbolic: one file
 * serves any K up to 64.
 */
import { writeFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import type { onnx as O } from 'onnx-proto';
import { PADDED_SCORE, Q_SCORING, SIZE_FEATURE, weightShapes, WEIGHT_NAMES, type NetworkWeights, type Scoring } from './network.js';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
export const OPSET = 13;

function floatTensor(name: string, dims: number[], data: Float32Array): O.ITensorProto {
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
}

function int64Tensor(name: string, values: number[]): O.ITensorProto {
  const b = new BigInt64Array(values.map((v) => BigInt(v)));
  return { name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(b.buffer) };
}

function valueInfo(name: string, dims: (number | string)[]): O.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

function node(op: string, inputs: string[], outputs: string[], attrs: O.IAttributeProto[] = []): O.INodeProto {
  return { opType: op, input: inputs, output: outputs, name: outputs[0], attribute: attrs };
}

const keepdims = (v: number): O.IAttributeProto => ({ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: v });

/**
 * The ONNX model as bytes. metadata: string key/values (proto/README.md lists the keys). scoring: how the
 * network's output becomes the score (trainer/network.ts Scoring); the graph ends with the same score function as Forward.
 */
export function buildOnnx(w: NetworkWeights, metadata: Record<string, string>, scoring: Scoring = Q_SCORING): Uint8Array {
  const shapes = weightShapes(w.f, w.h);
  const init: O.ITensorProto[] = WEIGHT_NAMES.map((k) => floatTensor(k, shapes[k], w[k]));
  init.push(
    floatTensor('one', [1], new Float32Array([1])),
    floatTensor('half', [], new Float32Array([0.5])),
    floatTensor('padded', [], new Float32Array([PADDED_SCORE])),
    int64Tensor('axis1', [1]),
    int64Tensor('axis2', [2]),
  );
  const nodes: O.INodeProto[] = [
    node('MatMul', ['features', 'w1'], ['x_w1']),
    node('Add', ['x_w1', 'b1'], ['z1']),
    node('Relu', ['z1'], ['h1']),
    node('MatMul', ['h1', 'w2'], ['h1_w2']),
    node('Add', ['h1_w2', 'b2'], ['z2']),
    node('Relu', ['z2'], ['h2']), // [B, K, H]
    node('MatMul', ['h2', 'wa'], ['h2_wa']),
    node('Add', ['h2_wa', 'ba'], ['adv3']), // [B, K, 1]
    node('Squeeze', ['adv3', 'axis2'], ['adv']), // [B, K]
    node('ReduceSum', ['mask', 'axis1'], ['count'], [keepdims(1)]), // [B, 1]
    node('Max', ['count', 'one'], ['count1']),
    node('Unsqueeze', ['mask', 'axis2'], ['mask3']), // [B, K, 1]
    node('Mul', ['h2', 'mask3'], ['h2_masked']),
    node('ReduceSum', ['h2_masked', 'axis1'], ['h_sum'], [keepdims(0)]), // [B, H]
    node('Div', ['h_sum', 'count1'], ['h_mean']),
    node('MatMul', ['h_mean', 'wv'], ['hm_wv']),
    node('Add', ['hm_wv', 'bv'], ['value']), // [B, 1]
    node('Mul', ['adv', 'mask'], ['adv_masked']),
    node('ReduceSum', ['adv_masked', 'axis1'], ['adv_sum'], [keepdims(1)]),
    node('Div', ['adv_sum', 'count1'], ['adv_mean']), // [B, 1]
    node('Add', ['adv', 'value'], ['q_plus']),
    node('Sub', ['q_plus', 'adv_mean'], ['q']),
    node('Greater', ['mask', 'half'], ['present']),
  ];
  if (scoring.head === 'hit-logit') {
    // score = softplus(-q) + features[:, :, size] x sizeWeight (log1p(SIZE_CAP) for goal hits, 0 for bytes)
    init.push(int64Tensor('size_index', [SIZE_FEATURE]), floatTensor('log_size_cap', [], new Float32Array([scoring.sizeWeight])));
    nodes.push(
      node('Neg', ['q'], ['neg_q']),
      node('Softplus', ['neg_q'], ['neg_log_p']),
      node('Gather', ['features', 'size_index'], ['size3'], [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 2 }]), // [B, K, 1]
      node('Squeeze', ['size3', 'axis2'], ['size_f']),
      node('Mul', ['size_f', 'log_size_cap'], ['log_size']),
      node('Add', ['neg_log_p', 'log_size'], ['per_byte']),
      node('Where', ['present', 'per_byte', 'padded'], ['scores']),
    );
  } else {
    nodes.push(node('Where', ['present', 'q', 'padded'], ['scores']));
  }
  const model: O.IModelProto = {
    irVersion: 7,
    producerName: 'coldrl',
    producerVersion: '0.1.0',
    opsetImport: [{ domain: '', version: OPSET }],
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: 'coldrl_dueling_q',
      node: nodes,
      initializer: init,
      input: [valueInfo('features', ['batch', 'k', w.f]), valueInfo('mask', ['batch', 'k'])],
      output: [valueInfo('scores', ['batch', 'k'])],
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

export function writeOnnx(path: string, w: NetworkWeights, metadata: Record<string, string>, scoring: Scoring = Q_SCORING): Uint8Array {
  const bytes = buildOnnx(w, metadata, scoring);
  writeFileSync(path, bytes);
  return bytes;
}
