/**
 * The ONNX folder layouts onnx-vae reads without a `vae.json`: one table entry per layout, holding its file patterns,
 * the matcher that finds its files among a folder's (or a file picker's) names, and what it implies when nothing else
 * says. A new layout is one entry here.
 */

/** The files of a layout found among a list of names. */
export interface LayoutMatch {
  /** Which layout. */
  readonly layout: KnownLayout;
  /** The encoder graph's name (a path relative to the model folder); absent for a decoder-only export. */
  readonly encoder?: string;
  /** The decoder graph's name; absent for an encoder-only export. */
  readonly decoder?: string;
  /** The model's name the files suggest (`NAME` of a pair, else `vae`). */
  readonly name: string;
  /** A diffusers `config.json` among the names, when the layout has one. */
  readonly config?: string;
}

/** One folder layout. */
export interface ExportLayout {
  /** What it is and who writes it. */
  readonly description: string;
  /** The encoder file, or its pattern (`*` for the model's name). */
  readonly encoder: string;
  /** The decoder file, or its pattern. */
  readonly decoder: string;
  /** The diffusers `config.json` it usually has, if any (see `configs` for every place looked at). */
  readonly config: string | undefined;
  /** Where a `config.json` may be, first found wins. */
  readonly configs: readonly string[];
  /** The data range when no preset says it, and why. */
  readonly range: readonly [number, number];
  /** Why that range. */
  readonly rangeReason: string;
  /** Finds the layout's files among `names` (paths relative to the folder, `/`-separated), or `null`. */
  match(names: readonly string[]): Omit<LayoutMatch, 'layout'> | null;
}

const DIFFUSERS_RANGE = Object.freeze([-1, 1] as const);
const DIFFUSERS_RANGE_REASON = 'diffusers pipelines feed VAEs images in [-1, 1]';

/**
 * Fixed file names: both graphs, or one alone (a decoder-only or encoder-only export); with `needConfig`, only
 * together with a `config.json` (names too plain to tell a VAE by alone).
 */
function fixedPair(encoder: string, decoder: string, configs: readonly string[], needConfig = false): ExportLayout['match'] {
  return (names) => {
    const graphs = { ...(names.includes(encoder) ? { encoder } : {}), ...(names.includes(decoder) ? { decoder } : {}) };
    if (Object.keys(graphs).length === 0) return null;
    const config = configs.find((c) => names.includes(c));
    if (needConfig && config === undefined) return null;
    return { ...graphs, name: 'vae', ...(config === undefined ? {} : { config }) };
  };
}

/** Folder layouts onnx-vae recognises without a `vae.json`, tried in this order. */
export const KNOWN_LAYOUTS = Object.freeze({
  /** Hugging Face optimum export: `vae_encoder/model.onnx` (`sample` -> `latent_parameters` or `latent_sample`), `vae_decoder/model.onnx` (`latent_sample` -> `sample`). */
  optimum: Object.freeze({
    description: 'Hugging Face optimum export: vae_encoder/model.onnx + vae_decoder/model.onnx, with their config.json',
    encoder: 'vae_encoder/model.onnx',
    decoder: 'vae_decoder/model.onnx',
    config: 'vae_decoder/config.json',
    configs: Object.freeze(['vae_decoder/config.json', 'vae_encoder/config.json', 'config.json']),
    range: DIFFUSERS_RANGE,
    rangeReason: DIFFUSERS_RANGE_REASON,
    match: fixedPair('vae_encoder/model.onnx', 'vae_decoder/model.onnx', ['vae_decoder/config.json', 'vae_encoder/config.json', 'config.json']),
  }),
  /** onnxruntime's Stable Diffusion demo: `images` -> `latent`, `latent` -> `images`, in the same folders or as two files. */
  'ort-sd-demo': Object.freeze({
    description: "onnxruntime's Stable Diffusion demo: vae_encoder.onnx + vae_decoder.onnx (images -> latent -> images)",
    encoder: 'vae_encoder.onnx',
    decoder: 'vae_decoder.onnx',
    config: undefined,
    configs: Object.freeze([]),
    range: DIFFUSERS_RANGE,
    rangeReason: DIFFUSERS_RANGE_REASON,
    match: fixedPair('vae_encoder.onnx', 'vae_decoder.onnx', []),
  }),
  /** A pair `NAME_encoder.onnx` / `NAME_decoder.onnx`, as madebyollin/taesd ships its tiny autoencoders (`image` -> `latents`). */
  'encoder-decoder-pair': Object.freeze({
    description: 'one NAME_encoder.onnx + NAME_decoder.onnx pair, as madebyollin/taesd ships its tiny autoencoders',
    encoder: '*_encoder.onnx',
    decoder: '*_decoder.onnx',
    config: undefined,
    configs: Object.freeze([]),
    range: Object.freeze([0, 1] as const),
    rangeReason: 'tiny autoencoders (TAESD family) take images in [0, 1]',
    match(names: readonly string[]) {
      const prefixes = (suffix: string) => names.filter((f) => !f.includes('/') && f.endsWith(suffix)).map((f) => f.slice(0, -suffix.length));
      const [encoders, decoders] = [prefixes('_encoder.onnx'), prefixes('_decoder.onnx')];
      const pairs = encoders.filter((prefix) => decoders.includes(prefix));
      if (pairs.length === 1) return { encoder: `${pairs[0]}_encoder.onnx`, decoder: `${pairs[0]}_decoder.onnx`, name: pairs[0]! };
      // One graph alone: a lone NAME_decoder.onnx (decoder-only) or NAME_encoder.onnx (encoder-only).
      if (pairs.length === 0 && encoders.length + decoders.length === 1) {
        return encoders.length === 1
          ? { encoder: `${encoders[0]}_encoder.onnx`, name: encoders[0]! }
          : { decoder: `${decoders[0]}_decoder.onnx`, name: decoders[0]! };
      }
      return null;
    },
  }),
  /** Plain `encoder.onnx` and/or `decoder.onnx` beside a diffusers `config.json` (e.g. a latent explorer's lone decoder). */
  plain: Object.freeze({
    description: 'encoder.onnx and/or decoder.onnx beside a diffusers config.json (e.g. a lone decoder.onnx)',
    encoder: 'encoder.onnx',
    decoder: 'decoder.onnx',
    config: 'config.json',
    configs: Object.freeze(['config.json']),
    range: DIFFUSERS_RANGE,
    rangeReason: 'a diffusers config.json: diffusers pipelines feed VAEs images in [-1, 1]',
    match: fixedPair('encoder.onnx', 'decoder.onnx', ['config.json'], true),
  }),
} as const satisfies Record<string, ExportLayout>);
/** One of {@link KNOWN_LAYOUTS}. */
export type KnownLayout = keyof typeof KNOWN_LAYOUTS;

/**
 * The first layout of {@link KNOWN_LAYOUTS} whose files are among `names`: the paths in a model folder (two levels
 * deep, `/`-separated, e.g. `vae_encoder/model.onnx`) or a file picker's names.
 *
 * @example
 * matchLayout(['taef2_encoder.onnx', 'taef2_decoder.onnx']); // { layout: 'encoder-decoder-pair', name: 'taef2', ... }
 */
export function matchLayout(names: readonly string[]): LayoutMatch | null {
  for (const [layout, entry] of Object.entries(KNOWN_LAYOUTS) as [KnownLayout, ExportLayout][]) {
    const found = entry.match(names);
    if (found !== null) return { layout, ...found };
  }
  return null;
}

/**
 * The flat layouts that a folder's (or a file picker's) file names show: `vae_encoder.onnx` / `vae_decoder.onnx`
 * (`'ort-sd-demo'`), or exactly one `NAME_encoder.onnx` / `NAME_decoder.onnx` pair (`'encoder-decoder-pair'`).
 * `name` is the model's name the files suggest (`NAME`, or `vae`). Names with folders (`vae_encoder/model.onnx`) also
 * find the `optimum` layout; {@link matchLayout} is the same search.
 */
export function layoutOfFiles(names: readonly string[]): LayoutMatch | null {
  return matchLayout(names);
}
