import type { GraphInfo } from './manifest.js';
import type { VaeTensor } from './tensor.js';

/**
 * Where a backend reads a graph from: a file path (Node) or the graph's bytes (anywhere).
 */
export type ModelSource = { readonly path: string } | { readonly bytes: Uint8Array };

/**
 * One loaded graph. The seam between core and a runtime binding: create, run with named float32 tensors, release.
 */
export interface BackendSession extends GraphInfo {
  /**
   * Runs the graph.
   *
   * @param feeds - inputs by name
   * @param outputs - names of the outputs to fetch
   * @returns the fetched outputs, as float32 tensors in CPU memory
   */
  run(feeds: Readonly<Record<string, VaeTensor>>, outputs: readonly string[]): Promise<Record<string, VaeTensor>>;
  /** Releases the graph's native resources. Safe to call twice. */
  release(): Promise<void>;
}

/**
 * A runtime binding (onnxruntime-node, onnxruntime-web, ...). Adding a backend touches no core code.
 */
export interface Backend {
  /** Version of this interface. */
  readonly specificationVersion: 'v1';
  /** Human-readable name, e.g. `onnxruntime-node (cpu)`. */
  readonly name: string;
  /**
   * Loads one graph.
   *
   * @param source - the graph's path or bytes
   * @param role - which graph of the pair, for messages
   */
  createSession(source: ModelSource, role: 'encoder' | 'decoder'): Promise<BackendSession>;
}
