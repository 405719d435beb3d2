/**
 * What the routes read and write: tensors as JSON `{ data, dims }` or `.npy`, images (PNG, JPEG, WebP) for image
 * models, `.vlat` latent files; answers chosen by the Accept header.
 */
import { VaeTensor, decodeLatentFile, encodeNpy, readNpy } from '@onnx-vae/node';
import type { SpatialSize } from '@onnx-vae/node';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { NotAcceptableError, UnsupportedMediaTypeError } from './http-errors.js';

/** Media types of request bodies. */
export const MEDIA = Object.freeze({
  json: 'application/json',
  npy: 'application/x-npy',
  vlat: 'application/x-vlat',
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
} as const);

/** Body types read as bytes (everything but JSON). */
export const BINARY_MEDIA = [MEDIA.npy, MEDIA.vlat, MEDIA.png, MEDIA.jpeg, MEDIA.webp] as const;
const IMAGE_MEDIA: readonly string[] = [MEDIA.png, MEDIA.jpeg, MEDIA.webp];

/** A JSON tensor body. */
export interface JsonTensor {
  readonly data: number[];
  readonly dims: number[];
}

function mediaType(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * The request body as model input: a tensor (JSON, `.npy`), or the image bytes (the Vae reads them with sharp).
 * A `.vlat` body is read by {@link latentOf}.
 *
 * @param accept - which media types this route takes
 */
export function inputOf(request: FastifyRequest, accept: readonly string[]): VaeTensor | Uint8Array {
  const type = mediaType(request);
  if (!accept.includes(type)) throw new UnsupportedMediaTypeError(accept.join(', '), type || 'no Content-Type');
  if (type === MEDIA.json) {
    const body = request.body as JsonTensor;
    return new VaeTensor(Float32Array.from(body.data), body.dims);
  }
  const bytes = request.body as Buffer;
  if (type === MEDIA.npy) return readNpy(bytes, 'body');
  return bytes;
}

/**
 * The request body as latents: JSON, `.npy`, or a `.vlat` file (checked against the model's fingerprint when
 * given), with the image size the file recorded.
 */
export function latentOf(request: FastifyRequest, accept: readonly string[], expectedFingerprint?: string): { latent: VaeTensor; size?: SpatialSize } {
  if (mediaType(request) !== MEDIA.vlat) return { latent: inputOf(request, accept) as VaeTensor };
  const { latent, header } = decodeLatentFile(request.body as Buffer, expectedFingerprint === undefined ? {} : { expectedFingerprint });
  return header.imageSize === null ? { latent } : { latent, size: header.imageSize };
}

/** Whether an input is image bytes. */
export function isImageBody(request: FastifyRequest): boolean {
  return IMAGE_MEDIA.includes(mediaType(request));
}

/** A tensor as JSON. */
export function jsonTensor(tensor: VaeTensor): JsonTensor {
  return { data: Array.from(tensor.data), dims: [...tensor.dims] };
}

/** Answer types of tensor results, in order of preference when the client accepts any. */
export type Answer = 'json' | 'npy' | 'png';
const ANSWER_MEDIA: Readonly<Record<Answer, string>> = Object.freeze({ json: MEDIA.json, npy: MEDIA.npy, png: MEDIA.png });

/**
 * The answer type the client's Accept header asks for, among `offered`; JSON when it asks for nothing in
 * particular.
 *
 * @throws a 406 error (`NOT_ACCEPTABLE`) when it accepts none of them
 */
export function answerOf(request: FastifyRequest, offered: readonly Answer[]): Answer {
  const chosen = request.accepts().type(offered.map((a) => ANSWER_MEDIA[a]));
  const answer = offered.find((a) => ANSWER_MEDIA[a] === chosen);
  if (answer === undefined) throw new NotAcceptableError(offered.map((a) => ANSWER_MEDIA[a]).join(', '), String(request.headers.accept));
  return answer;
}

/** Sends a tensor as `.npy`. */
export function sendNpy(reply: FastifyReply, tensor: VaeTensor): FastifyReply {
  return reply.type(MEDIA.npy).send(Buffer.from(encodeNpy(tensor)));
}
