/**
 * `onnx-vae compress` and `onnx-vae decompress`: an image to a `.vlat` latent file with the model's encoder, and
 * back with its decoder. The file records the decoder's fingerprint, so another model refuses it.
 */
import { extname } from 'node:path';
import { InvalidOptionError, LATENT_DTYPES, decodeLatentFile, describe, encodeLatentFile, itemImageGeometry, spatialSize } from '@onnx-vae/node';
import type { LatentDtype, Posterior, SpatialSize } from '@onnx-vae/node';

type DeflateLevel = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
import { IMAGE_FORMATS, decoderFingerprint, readImageSize, readInputFile } from '@onnx-vae/node';
import type { ImageFormat } from '@onnx-vae/node';
import { limitsOption, openModel, readModelManifest, requiredOutput } from '../context.js';
import type { Command } from '../context.js';
import { checkOutputFolder, writeOutputs } from '../outputs.js';
import { readDataInputs } from '../inputs.js';
import { choiceOption, integerOption } from '../options.js';

const TILE_OPTION = { tile: { type: 'boolean', description: 'run the graph in overlapping tiles (bounded memory for large images)' } } as const;

function imageFormatOf(path: string): ImageFormat {
  const ext = extname(path).toLowerCase().slice(1);
  const format = ext === 'jpg' ? 'jpeg' : ext;
  if (!Object.hasOwn(IMAGE_FORMATS, format)) {
    throw new InvalidOptionError('output', `Expected -o to name a .png, .jpg or .webp file but received ${JSON.stringify(path)}.`);
  }
  return format as ImageFormat;
}

/** `onnx-vae compress <model> <image> -o <out.vlat> [--dtype float16]`. */
export const compressCommand: Command = {
  summary: 'encode an image to a .vlat latent file (the compression stage of latent diffusion)',
  synopsis: 'onnx-vae compress <model> <image> -o <out.vlat> [--dtype float16|float32|uint8-affine] [--tile] [options]',
  details: [
    "Encodes the image (posterior mean), and writes the latent with the model's decoder fingerprint (SHA-256 of the",
    'decoder graph), its dims and the image size, losslessly compressed (DEFLATE) and checksummed (docs/latent-format.md).',
    "Sizes that are not a multiple of the model's spatial factor are padded by reflection and cropped back by",
    '"decompress". --dtype: float32 (exact), float16 (default) or uint8-affine (8 bits, per-channel min/max).',
  ].join('\n'),
  options: {
    output: { type: 'string', short: 'o', value: 'FILE.vlat', description: 'where to write the latent file' },
    dtype: { type: 'string', value: 'DTYPE', description: 'payload type: float16 (default), float32 or uint8-affine' },
    level: { type: 'string', value: '0-9', description: 'DEFLATE level (default 9)' },
    ...TILE_OPTION,
  },
  inputs: { min: 1, max: 1 },
  async run(context) {
    const output = requiredOutput(context, 'out.vlat');
    if (!output.toLowerCase().endsWith('.vlat'))
      throw new InvalidOptionError('output', `Expected -o to name a .vlat file but received ${JSON.stringify(output)}.`);
    await checkOutputFolder(output, '-o');
    const dtype = choiceOption<LatentDtype>(context.values, 'dtype', LATENT_DTYPES, 'float16');
    const level = integerOption(context.values, 'level', 0);
    if (level !== undefined && level > 9) throw new InvalidOptionError('level', `Expected --level to be an integer from 0 to 9 but received ${level}.`);
    const { folder, manifest } = await readModelManifest(context);
    const limits = limitsOption(context);
    const vae = await openModel(context);
    try {
      const image = context.inputs[0]!;
      const layout = manifest.data.layout;
      let posterior: Posterior;
      let original: SpatialSize | null;
      if (context.values.tile === true && layout === 'NCHW' && !image.toLowerCase().endsWith('.npy')) {
        // Tiled: the image is read band by band by the API, never whole.
        original = await readImageSize(image, { limits });
        posterior = await vae.encode(image, { tiling: true });
      } else {
        const { tensor } = await readDataInputs([image], manifest, { limits, untiled: context.values.tile !== true });
        original = layout === 'flat' ? null : spatialSize(tensor, layout);
        posterior = await vae.encode(tensor, { ...(context.values.tile === true ? { tiling: true } : {}) });
      }
      const file = encodeLatentFile(posterior.mean, {
        modelFingerprint: await decoderFingerprint(folder, manifest),
        dtype,
        ...(level === undefined ? {} : { level: level as DeflateLevel }),
        ...(original === null ? {} : { imageSize: original }),
      });
      await writeOutputs([{ path: output, bytes: file }]);
      const pixels = original === null ? null : original.height * original.width;
      context.io.stdout.write(
        `onnx-vae: ${image} -> ${output}: ${file.length} bytes, latent ${describe([...posterior.mean.dims])} ${dtype}${pixels === null ? '' : `, ${((file.length * 8) / pixels).toFixed(4)} bits per pixel`}\n`,
      );
    } finally {
      await vae.dispose();
    }
  },
};

/** `onnx-vae decompress <model> <file.vlat> -o <out.png|.jpg|.webp>`. */
export const decompressCommand: Command = {
  summary: 'decode a .vlat latent file back to an image, with the model that compressed it',
  synopsis: 'onnx-vae decompress <model> <file.vlat> -o <out.png|out.jpg|out.webp> [--quality Q] [--tile] [options]',
  details: [
    "Checks the file (magic, version, length, CRC-32) and that the model's decoder is the one that compressed it,",
    'decodes the latent, crops it to the recorded image size and writes the image. A damaged file fails with',
    'FILE_CORRUPT, a file of another model with MODEL_MISMATCH; nothing is written then.',
  ].join('\n'),
  options: {
    output: { type: 'string', short: 'o', value: 'FILE', description: 'the image to write: .png, .jpg or .webp' },
    quality: { type: 'string', value: 'Q', description: 'JPEG/WebP quality 1-100 (default 90)' },
    ...TILE_OPTION,
  },
  inputs: { min: 1, max: 1 },
  async run(context) {
    const output = requiredOutput(context, 'out.png');
    const format = imageFormatOf(output);
    await checkOutputFolder(output, '-o');
    const quality = integerOption(context.values, 'quality', 1);
    const { folder, manifest } = await readModelManifest(context);
    const limits = limitsOption(context);
    const { latent, header } = decodeLatentFile(await readInputFile(context.inputs[0]!, limits), {
      expectedFingerprint: await decoderFingerprint(folder, manifest),
      limits,
    });
    const vae = await openModel(context);
    try {
      const data = await vae.decode(latent, {
        ...(context.values.tile === true ? { tiling: true } : {}),
        ...(header.imageSize === null ? {} : { size: header.imageSize }),
      });
      const [image] = await vae.toImages(data, { format, ...(quality === undefined ? {} : { quality }) });
      await writeOutputs([{ path: output, bytes: image! }]);
      const size = itemImageGeometry(manifest.data, data.dims.slice(1));
      context.io.stdout.write(
        `onnx-vae: ${context.inputs[0]} -> ${output}: ${image!.length} bytes, ${format}${size === null ? '' : ` ${size.width}x${size.height}`}\n`,
      );
    } finally {
      await vae.dispose();
    }
  },
};
