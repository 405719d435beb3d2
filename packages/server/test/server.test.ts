// The HTTP server on real onnxruntime-node sessions: every route and media type through fastify.inject and through
// a real socket on 127.0.0.1 (undici), every error status, metrics, OpenAPI, readiness, graceful shutdown (SIGTERM
// through the CLI: packages/cli/test/serve.test.ts).
import { Agent, request } from 'undici';
import { decoderFingerprint, encodeLatentFile, encodeNpy, loadVae, readNpy } from '@onnx-vae/node';
import type { NodeVae, VaeTensor } from '@onnx-vae/node';
import type { FastifyInstance } from 'fastify';
import { STATUS_OF_CODE, createServer, httpError, serve } from '../src/index';
import { KL_F8, MNIST, digits, images, latents } from '../../node/test/synthetic';

const THREADS = { intraOpNumThreads: 1 };
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];

/** One request, sent through inject or through a socket; the answer's status, headers and bytes. */
interface Exchange {
  readonly method?: 'GET' | 'POST';
  readonly url: string;
  readonly type?: string;
  readonly accept?: string;
  readonly body?: Buffer | object;
}
interface Answer {
  readonly status: number;
  readonly type: string;
  readonly bytes: Buffer;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers of many shapes, checked by each test
  json(): any;
}

async function viaInject(app: FastifyInstance, exchange: Exchange): Promise<Answer> {
  const body = exchange.body === undefined ? undefined : Buffer.isBuffer(exchange.body) ? exchange.body : JSON.stringify(exchange.body);
  const headers: Record<string, string> = {};
  if (exchange.type ?? (body !== undefined && !Buffer.isBuffer(exchange.body))) headers['content-type'] = exchange.type ?? 'application/json';
  if (exchange.accept) headers.accept = exchange.accept;
  const r = await app.inject({ method: exchange.method ?? 'POST', url: exchange.url, headers, ...(body === undefined ? {} : { payload: body }) });
  return { status: r.statusCode, type: String(r.headers['content-type'] ?? ''), bytes: r.rawPayload, json: () => JSON.parse(r.body) };
}

const agent = new Agent({ connections: 16 });
async function viaSocket(base: string, exchange: Exchange): Promise<Answer> {
  const body = exchange.body === undefined ? undefined : Buffer.isBuffer(exchange.body) ? exchange.body : JSON.stringify(exchange.body);
  const headers: Record<string, string> = {};
  if (exchange.type ?? (body !== undefined && !Buffer.isBuffer(exchange.body))) headers['content-type'] = exchange.type ?? 'application/json';
  if (exchange.accept) headers.accept = exchange.accept;
  const r = await request(`${base}${exchange.url}`, {
    method: exchange.method ?? 'POST',
    headers,
    body,
    dispatcher: agent,
    headersTimeout: 20_000,
    bodyTimeout: 20_000,
  });
  const bytes = Buffer.from(await r.body.arrayBuffer());
  return { status: r.statusCode, type: String(r.headers['content-type'] ?? ''), bytes, json: () => JSON.parse(bytes.toString()) };
}

function tensorJson(tensor: VaeTensor): { data: number[]; dims: number[] } {
  return { data: Array.from(tensor.data), dims: [...tensor.dims] };
}

function npy(tensor: VaeTensor): Buffer {
  // The .npy writer of @onnx-vae/node, as a client would use numpy.save.
  return Buffer.from(encodeNpy(tensor));
}

describe('@onnx-vae/server', () => {
  let mnist: NodeVae;
  let klf8: NodeVae;
  let mnistApp: FastifyInstance;
  let klf8App: FastifyInstance;
  let klf8Base: string;
  let mnistBase: string;
  let fingerprint: string;

  beforeAll(async () => {
    [mnist, klf8] = await Promise.all([
      loadVae(MNIST, { ...THREADS, batching: { maxBatchSize: 16 } }),
      loadVae(KL_F8, { ...THREADS, batching: { maxBatchSize: 8 } }),
    ]);
    fingerprint = await decoderFingerprint(KL_F8, klf8.manifest);
    mnistApp = await createServer(mnist, { maxItems: 64, maxSamples: 100 });
    klf8App = await createServer(klf8, { latentFingerprint: fingerprint, maxPixels: 128 * 128, bodyLimit: 1024 * 1024 });
    mnistBase = await mnistApp.listen({ host: '127.0.0.1', port: 0 });
    klf8Base = await klf8App.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await mnistApp?.close();
    await klf8App?.close();
    await mnist?.dispose();
    await klf8?.dispose();
    await agent.close();
  });

  const transports: [string, (app: () => FastifyInstance, base: () => string, e: Exchange) => Promise<Answer>][] = [
    ['inject', (app, _base, e) => viaInject(app(), e)],
    ['a socket on 127.0.0.1', (_app, base, e) => viaSocket(base(), e)],
  ];

  describe.each(transports)('through %s', (_name, send) => {
    const toMnist = (e: Exchange): Promise<Answer> =>
      send(
        () => mnistApp,
        () => mnistBase,
        e,
      );
    const toKlf8 = (e: Exchange): Promise<Answer> =>
      send(
        () => klf8App,
        () => klf8Base,
        e,
      );

    it('encodes JSON and .npy bodies; answers JSON { mean, logvar } or the mean as .npy', async () => {
      const x = digits(2, 1);
      const q = await mnist.encode(x);
      const json = await toMnist({ url: '/v1/encode', body: tensorJson(x) });
      expect(json.status).toBe(200);
      expect(json.json().mean).toEqual({ data: Array.from(q.mean.data), dims: [2, 50] });
      expect(json.json().logvar.data).toEqual(Array.from(q.logvar.data));
      const viaNpy = await toMnist({ url: '/v1/encode', type: 'application/x-npy', body: npy(x), accept: 'application/x-npy' });
      expect([viaNpy.status, viaNpy.type]).toEqual([200, 'application/x-npy']);
      expect(readNpy(viaNpy.bytes).data).toEqual(q.mean.data);
    });

    it('encodes PNG, JPEG and WebP images for an image model', async () => {
      const picture = images(1, 32, 2);
      for (const format of ['png', 'jpeg', 'webp'] as const) {
        const [bytes] = await klf8.toImages(picture, { format });
        const answer = await toKlf8({ url: '/v1/encode', type: `image/${format}`, body: bytes! });
        expect(answer.status).toBe(200);
        expect(answer.json().mean.data).toEqual(Array.from((await klf8.encode(bytes!)).mean.data));
        expect(answer.json().mean.dims).toEqual([1, 4, 4, 4]);
      }
    });

    it('decodes JSON, .npy and .vlat latents; answers JSON, .npy or PNG', async () => {
      const z = latents(1, 4);
      const expected = await klf8.decode(z);
      const json = await toKlf8({ url: '/v1/decode', body: tensorJson(z) });
      expect(json.json()).toEqual({ data: Array.from(expected.data), dims: [1, 3, 32, 32] });
      const fromNpy = await toKlf8({ url: '/v1/decode', type: 'application/x-npy', body: npy(z), accept: 'application/x-npy' });
      expect(readNpy(fromNpy.bytes).data).toEqual(expected.data);
      const png = await toKlf8({ url: '/v1/decode', body: tensorJson(z), accept: 'image/png' });
      expect([png.status, png.type, [...png.bytes.subarray(0, 4)]]).toEqual([200, 'image/png', PNG_MAGIC]);
      const vlat = encodeLatentFile(z, { modelFingerprint: fingerprint, dtype: 'float32', imageSize: { width: 30, height: 27 } });
      const fromVlat = await toKlf8({ url: '/v1/decode', type: 'application/x-vlat', body: Buffer.from(vlat) });
      expect(fromVlat.json().dims).toEqual([1, 3, 27, 30]);
      const other = encodeLatentFile(z, { modelFingerprint: '0'.repeat(64), dtype: 'float32' });
      const refused = await toKlf8({ url: '/v1/decode', type: 'application/x-vlat', body: Buffer.from(other) });
      expect([refused.status, refused.json().code]).toEqual([400, 'MODEL_MISMATCH']);
    });

    it('reconstructs with the mean or a seeded sample, as the API does', async () => {
      const x = digits(3, 4);
      const mean = await toMnist({ url: '/v1/reconstruct', body: tensorJson(x) });
      expect(mean.json().data).toEqual(Array.from((await mnist.reconstruct(x)).data));
      const sampled = await toMnist({ url: '/v1/reconstruct?sample=true&seed=3', body: tensorJson(x), accept: 'application/x-npy' });
      expect(readNpy(sampled.bytes).data).toEqual((await mnist.reconstruct(x, { sample: true, seed: 3 })).data);
      const [png] = await klf8.toImages(images(1, 24, 0), { format: 'png' });
      const image = await toKlf8({ url: '/v1/reconstruct', type: 'image/png', body: png!, accept: 'image/png' });
      expect([image.status, image.type]).toEqual([200, 'image/png']);
    });

    it('scores with samples and a seed, as the API does', async () => {
      const x = digits(2, 5);
      const answer = await toMnist({ url: '/v1/score?samples=8&seed=1', body: tensorJson(x) });
      const expected = await mnist.score(x, { samples: 8, seed: 1 });
      expect(answer.json()).toMatchObject({
        samples: 8,
        seed: 1,
        logLikelihood: Array.from(expected.logLikelihood!),
        elbo: Array.from(expected.elbo!),
        activeUnits: expected.activeUnits,
      });
    });

    it('generates n seeded draws as JSON, .npy or PNG', async () => {
      const answer = await toMnist({ url: '/v1/generate', body: { n: 2, seed: 7 } });
      expect(answer.json().data).toEqual(Array.from((await mnist.generate({ n: 2, seed: 7 })).data));
      const png = await toMnist({ url: '/v1/generate', body: { n: 1, seed: 7 }, accept: 'image/png' });
      expect([png.status, [...png.bytes.subarray(0, 4)]]).toEqual([200, PNG_MAGIC]);
      const big = await toKlf8({ url: '/v1/generate', body: { n: 1, seed: 1, latentShape: [4, 2, 2] }, accept: 'application/x-npy' });
      expect(readNpy(big.bytes).dims).toEqual([1, 3, 16, 16]);
    });

    const bad = digits(1, 0);
    it.each<[string, Exchange, number, string]>([
      ['a wrong shape', { url: '/v1/encode', body: { data: [1, 2, 3], dims: [1, 3] } }, 400, 'SHAPE_MISMATCH'],
      ['data and dims that disagree', { url: '/v1/encode', body: { data: [1, 2, 3], dims: [1, 784] } }, 400, 'SHAPE_MISMATCH'],
      ['a body against the schema', { url: '/v1/encode', body: { data: [1] } }, 400, 'INVALID_INPUT'],
      ['values outside [0, 1] for a Bernoulli score', { url: '/v1/score', body: { data: Array(784).fill(2), dims: [1, 784] } }, 400, 'INVALID_INPUT'],
      ['too many samples', { url: '/v1/score?samples=101', body: tensorJson(bad) }, 400, 'INVALID_INPUT'],
      ['a damaged .npy', { url: '/v1/encode', type: 'application/x-npy', body: Buffer.from('not an npy') }, 400, 'FILE_CORRUPT'],
      ['too many items', { url: '/v1/encode', body: tensorJson(digits(65, 0)) }, 413, 'INPUT_TOO_LARGE'],
      ['a media type the route does not take', { url: '/v1/encode', type: 'text/plain', body: Buffer.from('hello') }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['.vlat to encode', { url: '/v1/encode', type: 'application/x-vlat', body: Buffer.from('x') }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['an Accept it cannot answer', { url: '/v1/encode', body: tensorJson(bad), accept: 'text/html' }, 406, 'NOT_ACCEPTABLE'],
      ['a PNG answer of 2 images', { url: '/v1/generate', body: { n: 2 }, accept: 'image/png' }, 400, 'INVALID_INPUT'],
      ['an unknown route', { method: 'GET', url: '/v1/nothing' }, 404, 'NOT_FOUND'],
    ])('answers %s with %d %s (mnist-vae)', async (_what, exchange, status, code) => {
      const answer = await toMnist(exchange);
      expect([answer.status, answer.json().code]).toEqual([status, code]);
      expect(typeof answer.json().message).toBe('string');
    });

    it('refuses a body over bodyLimit (413) and an image over maxPixels (413)', async () => {
      const tooLong = await toKlf8({ url: '/v1/decode', type: 'application/x-npy', body: Buffer.alloc(1024 * 1024 + 1) });
      expect([tooLong.status, tooLong.json().code]).toEqual([413, 'BODY_TOO_LARGE']);
      const [png] = await klf8.toImages(images(1, 136, 0), { format: 'png' });
      const tooWide = await toKlf8({ url: '/v1/encode', type: 'image/png', body: png! });
      expect([tooWide.status, tooWide.json()]).toEqual([
        413,
        { code: 'INPUT_TOO_LARGE', message: 'image 0 is 136x136, 18496 pixels, more than the limit of 16384; send a smaller image.' },
      ]);
    });

    it('serves /healthz, /readyz and /openapi.json', async () => {
      expect((await toMnist({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
      expect((await toMnist({ method: 'GET', url: '/readyz' })).json()).toMatchObject({ status: 'ready', model: 'mnist-vae', queued: 0 });
      const doc = (await toMnist({ method: 'GET', url: '/openapi.json' })).json();
      expect(doc.openapi).toBe('3.0.3');
      for (const route of ['encode', 'decode', 'reconstruct', 'score', 'generate']) expect(doc.paths[`/v1/${route}`].post).toBeDefined();
      expect(Object.keys(doc.paths['/v1/decode'].post.requestBody.content)).toEqual(['application/json', 'application/x-npy', 'application/x-vlat']);
      expect(doc.paths['/v1/decode'].post.requestBody.content['application/x-vlat'].schema).toMatchObject({ type: 'string', format: 'binary' });
      expect(Object.keys(doc.paths['/v1/reconstruct'].post.responses['200'].content)).toEqual(['application/json', 'application/x-npy', 'image/png']);
    });
  });

  it('maps every VaeError code to a status: 4xx for requests, 503/504 for load, 500 only for faults', () => {
    expect(
      Object.entries(STATUS_OF_CODE)
        .filter(([, status]) => status === 500)
        .map(([code]) => code)
        .sort(),
    ).toEqual([
      'BACKEND_UNAVAILABLE',
      'INFERENCE_FAILED',
      'MANIFEST_INVALID',
      'MANIFEST_VERSION',
      'MODEL_FILE_CORRUPT',
      'MODEL_FILE_NOT_FOUND',
      'MODEL_FILE_REFUSED',
    ]);
    expect(httpError(new Error('a bug'))).toEqual({
      status: 500,
      body: { code: 'INTERNAL', message: 'An internal error occurred; the server log has the details.' },
    });
  });

  it('exports Prometheus metrics: requests by route and status, latency, batch sizes, queue length, event-loop lag', async () => {
    await Promise.all(Array.from({ length: 8 }, (_, i) => mnistApp.inject({ method: 'POST', url: '/v1/encode', payload: tensorJson(digits(1, i)) })));
    const text = (await mnistApp.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/^onnx_vae_http_requests_total\{route="\/v1\/encode",method="POST",status="200"\} \d+$/m);
    expect(text).toMatch(/^onnx_vae_http_request_duration_seconds_bucket\{le="0.1",route="\/v1\/encode"\} \d+$/m);
    expect(text).toMatch(/^onnx_vae_batch_size_bucket\{le="8",graph="encoder"\} \d+$/m);
    expect(text).toMatch(/^onnx_vae_queue_length 0$/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
  });

  it('answers 503 QUEUE_FULL with Retry-After, and 504 TIMEOUT for a request that waits too long', async () => {
    const vae = await loadVae(KL_F8, { ...THREADS, batching: { maxBatchSize: 1, maxQueue: 2 } });
    const app = await createServer(vae, { requestTimeoutMs: 300 });
    try {
      const slow = tensorJson(latents(1, 64));
      // The first starts at once and runs a 512x512 decode, well over 300 ms (its own timer cannot fire while
      // onnxruntime holds the thread, and is cleared when it answers); those that find room in the queue (2) wait
      // behind it and time out; the others find it full.
      const answers = await Promise.all(Array.from({ length: 5 }, () => app.inject({ method: 'POST', url: '/v1/decode', payload: slow })));
      const outcomes = answers.map((a) => `${a.statusCode} ${a.statusCode === 200 ? 'data' : a.json().code}`);
      expect(outcomes.filter((o) => o === '200 data')).toHaveLength(1);
      expect(outcomes.filter((o) => o === '504 TIMEOUT').length).toBeGreaterThanOrEqual(1);
      expect(outcomes.filter((o) => o === '503 QUEUE_FULL').length).toBeGreaterThanOrEqual(2);
      expect(outcomes.filter((o) => !['200 data', '504 TIMEOUT', '503 QUEUE_FULL'].includes(o))).toEqual([]);
      for (const full of answers.filter((a) => a.statusCode === 503)) expect(full.headers['retry-after']).toBe('1');
    } finally {
      await app.close();
      await vae.dispose();
    }
  });

  it('is not ready (503) while its queue is full', async () => {
    const vae = await loadVae(MNIST, { ...THREADS, batching: { maxQueue: 0 } });
    const app = await createServer(vae);
    try {
      const answer = await app.inject({ method: 'GET', url: '/readyz' });
      expect([answer.statusCode, answer.json().status]).toEqual([503, 'queue full']);
    } finally {
      await app.close();
      await vae.dispose();
    }
  });

  /** Polls `probe` every 10 ms until it holds, for at most 10 s. */
  async function until(probe: () => boolean | Promise<boolean>): Promise<void> {
    for (let waited = 0; !(await probe()); waited += 10) {
      if (waited > 10_000) throw new Error('condition not met within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('closes gracefully: requests in flight finish, new ones are refused, the VAE is disposed', async () => {
    // A worker thread keeps the event loop free, so every request is read and queued before the close.
    const server = await serve(KL_F8, { port: 0, handleSignals: false, logger: false, workers: 1, ...THREADS, batching: { maxBatchSize: 1 } });
    const body = tensorJson(latents(1, 16));
    const inFlight = Array.from({ length: 4 }, () => viaSocket(server.url, { url: '/v1/decode', body }));
    await until(() => {
      const stats = server.vae.batching!.stats();
      return stats.queued + stats.running + stats.requests >= 4;
    });
    const closing = server.app.close();
    expect((await Promise.all(inFlight)).map((a) => a.status)).toEqual([200, 200, 200, 200]);
    await closing;
    await server.closed;
    await expect(viaSocket(server.url, { url: '/v1/decode', body })).rejects.toThrow(/ECONNREFUSED/);
    expect(await server.vae.decode(latents(1, 2)).catch((e: { code: string }) => e.code)).toBe('DISPOSED');
  });
});
