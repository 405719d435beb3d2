/**
 * The inference routes, POST /v1/{encode,decode,reconstruct,score,generate}, as a Fastify plugin. Each calls the
 * public Vae API with the request's timeout and a signal that fires when the client goes away.
 */
import { CallSignal, InvalidInputError } from '@onnx-vae/node';
import type { NodeVae, VaeTensor } from '@onnx-vae/node';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MEDIA, answerOf, inputOf, isImageBody, jsonTensor, latentOf, sendNpy } from './media.js';
import type { Answer } from './media.js';
import { ERROR, TENSOR, bodyOf, tensorAnswers } from './schemas.js';

/** Options of {@link inferenceRoutes}. */
export interface InferenceRoutesOptions {
  readonly vae: NodeVae;
  /** Milliseconds a request may take. */
  readonly requestTimeoutMs: number;
  /** Pixels an input image may have. */
  readonly maxPixels: number;
  /** Items one request may carry (the batch axis), and the most `n` of /v1/generate. */
  readonly maxItems: number;
  /** Most importance samples of /v1/score. */
  readonly maxSamples: number;
  /** The decoder's fingerprint, to refuse .vlat files of other models. */
  readonly latentFingerprint?: string;
}

const DATA_IN = [MEDIA.json, MEDIA.npy, MEDIA.png, MEDIA.jpeg, MEDIA.webp];
const LATENT_IN = [MEDIA.json, MEDIA.npy, MEDIA.vlat];
const SEED = { type: 'integer', minimum: 0, maximum: 4294967295, description: 'seed of the normal-v1 generator' } as const;

/** The request's timeout, and a signal that aborts when the client closes the connection before the answer. */
function callOf(request: FastifyRequest, reply: FastifyReply, timeoutMs: number): { signal: CallSignal; timeoutMs: number } {
  const signal = new CallSignal();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) signal.abort();
  });
  return { signal, timeoutMs };
}

export async function inferenceRoutes(app: FastifyInstance, options: InferenceRoutesOptions): Promise<void> {
  const { vae, requestTimeoutMs, maxPixels, maxItems } = options;
  const imageModel = vae.manifest.data.image !== undefined || vae.manifest.data.layout === 'NCHW';
  const imageAnswers: readonly Answer[] = imageModel ? ['json', 'npy', 'png'] : ['json', 'npy'];

  function checkItems(input: VaeTensor | Uint8Array): VaeTensor | Uint8Array {
    const items = input instanceof Uint8Array ? 1 : input.dims[0]!;
    if (items > maxItems)
      throw new InvalidInputError(
        'INPUT_TOO_LARGE',
        'body',
        `The body holds ${items} items but a request may hold at most ${maxItems}; split it into several requests.`,
      );
    return input;
  }

  async function sendData(request: FastifyRequest, reply: FastifyReply, answer: Answer, data: VaeTensor): Promise<unknown> {
    if (answer === 'npy') return sendNpy(reply, data);
    if (answer === 'json') return reply.send(jsonTensor(data));
    if (data.dims[0] !== 1) {
      throw new InvalidInputError(
        'INVALID_INPUT',
        'Accept',
        `An image/png answer holds one image but this result has ${data.dims[0]} items; send one item, or accept application/json or application/x-npy.`,
      );
    }
    const [png] = await vae.toImages(data, { format: 'png' });
    return reply.type(MEDIA.png).send(png);
  }

  app.post(
    '/v1/encode',
    {
      schema: {
        summary: 'Encode data or an image to the posterior q(z|x)',
        description: 'Answers JSON { mean, logvar } (logvar null for a deterministic encoder), or the mean as .npy.',
        tags: ['inference'],
        body: bodyOf(DATA_IN),
        response: {
          200: { type: 'object', required: ['mean', 'logvar'], properties: { mean: TENSOR, logvar: { anyOf: [TENSOR, { type: 'null' }] } } },
          '4xx': ERROR,
          '5xx': ERROR,
        },
      },
    },
    async (request, reply) => {
      const answer = answerOf(request, ['json', 'npy']);
      const input = checkItems(inputOf(request, DATA_IN));
      const q = await vae.encode(input, { ...callOf(request, reply, requestTimeoutMs), ...(isImageBody(request) ? { maxPixels } : {}) });
      if (answer === 'npy') return sendNpy(reply, q.mean);
      return { mean: jsonTensor(q.mean), logvar: q.deterministic ? null : jsonTensor(q.logvar) };
    },
  );

  app.post(
    '/v1/decode',
    {
      schema: {
        summary: 'Decode latents to the data space',
        description:
          'Takes latents as JSON, .npy, or a .vlat file of this model (cropped to its recorded image size); answers JSON, .npy, or PNG (one image, image models).',
        tags: ['inference'],
        body: bodyOf(LATENT_IN),
        response: tensorAnswers([MEDIA.json, MEDIA.npy, MEDIA.png], 'the decoded data'),
      },
    },
    async (request, reply) => {
      const answer = answerOf(request, imageAnswers);
      const { latent, size } = latentOf(request, LATENT_IN, options.latentFingerprint);
      checkItems(latent);
      return sendData(request, reply, answer, await vae.decode(latent, { ...callOf(request, reply, requestTimeoutMs), ...(size ? { size } : {}) }));
    },
  );

  app.post(
    '/v1/reconstruct',
    {
      schema: {
        summary: 'decode(encode(x)): the posterior mean, or a sample with ?sample=true&seed=N',
        tags: ['inference'],
        body: bodyOf(DATA_IN),
        querystring: { type: 'object', additionalProperties: false, properties: { sample: { type: 'boolean', default: false }, seed: SEED } },
        response: tensorAnswers([MEDIA.json, MEDIA.npy, MEDIA.png], 'the reconstruction, cropped to the input size'),
      },
    },
    async (request, reply) => {
      const answer = answerOf(request, imageAnswers);
      const query = request.query as { sample: boolean; seed?: number };
      const input = checkItems(inputOf(request, DATA_IN));
      const data = await vae.reconstruct(input, {
        ...callOf(request, reply, requestTimeoutMs),
        sample: query.sample,
        ...(query.seed === undefined ? {} : { seed: query.seed }),
        ...(isImageBody(request) ? { maxPixels } : {}),
      });
      return sendData(request, reply, answer, data);
    },
  );

  const perItem = { anyOf: [{ type: 'array', items: { type: 'number' } }, { type: 'null' }] };
  app.post(
    '/v1/score',
    {
      schema: {
        summary: 'Per-item ELBO, IWAE log-likelihood, bits per dimension, KL and reconstruction error',
        tags: ['inference'],
        body: bodyOf(DATA_IN),
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { samples: { type: 'integer', minimum: 1, maximum: options.maxSamples, default: 1 }, seed: SEED },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              samples: { type: 'integer' },
              seed: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
              elbo: perItem,
              logLikelihood: perItem,
              reconstruction: perItem,
              kl: perItem,
              bitsPerDim: perItem,
              reconstructionError: { type: 'array', items: { type: 'number' } },
              activeUnits: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
              notes: { type: 'array', items: { type: 'string' } },
            },
          },
          '4xx': ERROR,
          '5xx': ERROR,
        },
      },
    },
    async (request, reply) => {
      answerOf(request, ['json']);
      const query = request.query as { samples: number; seed?: number };
      const input = checkItems(inputOf(request, DATA_IN));
      const s = await vae.score(input, {
        ...callOf(request, reply, requestTimeoutMs),
        samples: query.samples,
        ...(query.seed === undefined ? {} : { seed: query.seed }),
        ...(isImageBody(request) ? { maxPixels } : {}),
      });
      const list = (values: Float64Array | null): number[] | null => (values === null ? null : Array.from(values));
      return {
        samples: s.samples,
        seed: s.seed,
        elbo: list(s.elbo),
        logLikelihood: list(s.logLikelihood),
        reconstruction: list(s.reconstruction),
        kl: list(s.kl),
        bitsPerDim: list(s.bitsPerDim),
        reconstructionError: Array.from(s.reconstructionError),
        activeUnits: s.activeUnits,
        notes: s.notes,
      };
    },
  );

  app.post(
    '/v1/generate',
    {
      schema: {
        summary: 'Decode n draws from the prior N(0, I)',
        tags: ['inference'],
        body: bodyOf([MEDIA.json], {
          type: 'object',
          additionalProperties: false,
          properties: {
            n: { type: 'integer', minimum: 1, maximum: maxItems, default: 1 },
            seed: SEED,
            latentShape: { type: 'array', items: { type: 'integer', minimum: 1 }, description: 'latent item shape, for models whose latent sizes are open' },
          },
        }),
        response: tensorAnswers([MEDIA.json, MEDIA.npy, MEDIA.png], 'the decoded draws'),
      },
    },
    async (request, reply) => {
      const answer = answerOf(request, imageAnswers);
      const body = (request.body ?? {}) as { n?: number; seed?: number; latentShape?: number[] };
      const data = await vae.generate({
        ...callOf(request, reply, requestTimeoutMs),
        n: body.n ?? 1,
        ...(body.seed === undefined ? {} : { seed: body.seed }),
        ...(body.latentShape ? { latentShape: body.latentShape } : {}),
      });
      return sendData(request, reply, answer, data);
    },
  );
}
