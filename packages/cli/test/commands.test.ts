// The command table as other packages extend it (a command without a model folder, run through runCli with a table
// of its own), and `info` opening each graph of an export without vae.json once.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OrtNodeBackend } from '@onnx-vae/node';
import { MODEL_FIXTURES, testFixtures } from '@onnx-vae/core/testing';
import { COMMANDS, runCli } from '../src/index';
import type { Command, CommandTable } from '../src/index';

const CONV = testFixtures(__dirname).model(MODEL_FIXTURES.convMoments);

async function run(args: readonly string[], commands?: CommandTable): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t), isTTY: false } };
  const status = await runCli(args, io, '0.0.0', commands);
  return { status, stdout, stderr };
}

describe('the command table', () => {
  const status: Command = {
    summary: 'say how a job is doing',
    synopsis: 'onnx-vae status <job-id>',
    details: 'A command without a model folder: every positional goes to inputs.',
    options: {},
    model: 'none',
    inputs: { min: 1, max: 1 },
    async run(context) {
      context.io.stdout.write(`${JSON.stringify({ model: context.model, inputs: context.inputs })}\n`);
    },
  };
  const commands = { ...COMMANDS, status };

  it('runs a command registered by one line, without a model folder', async () => {
    expect(await run(['status', 'job-7'], commands)).toEqual({ status: 0, stdout: '{"model":"","inputs":["job-7"]}\n', stderr: '' });
    expect((await run(['--help'], commands)).stdout).toContain('  status          say how a job is doing\n');
    expect((await run(['help', 'status'], commands)).stdout).toMatch(/^Usage: onnx-vae status <job-id>\n/);
  });

  it('checks its arguments as it declares them', async () => {
    const missing = await run(['status'], commands);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^onnx-vae status: missing arguments; see the usage\.\n\nUsage: onnx-vae status <job-id>\n/);
    const extra = await run(['status', 'a', 'b'], commands);
    expect(extra.stderr).toMatch(/^onnx-vae status: too many inputs\.\n/);
    expect((await run(['status', 'a'])).stderr).toMatch(/^onnx-vae: unknown command "status"; the commands are info, encode, /);
  });
});

describe('onnx-vae info on an export without vae.json', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onnx-vae-info-'));
    await mkdir(join(dir, 'vae_encoder'));
    await mkdir(join(dir, 'vae_decoder'));
    await copyFile(join(CONV, 'encoder.onnx'), join(dir, 'vae_encoder', 'model.onnx'));
    await copyFile(join(CONV, 'decoder.onnx'), join(dir, 'vae_decoder', 'model.onnx'));
    await writeFile(join(dir, 'vae_decoder', 'config.json'), JSON.stringify({ latent_channels: 4, scaling_factor: 0.5 }));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('opens each graph once and reports what it detected', async () => {
    const opened = jest.spyOn(OrtNodeBackend.prototype, 'createSession');
    try {
      const result = await run(['info', dir, '--json', '--threads', '1']);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(opened.mock.calls.map(([source, role]) => [role, source])).toEqual([
        ['encoder', { path: join(dir, 'vae_encoder', 'model.onnx') }],
        ['decoder', { path: join(dir, 'vae_decoder', 'model.onnx') }],
      ]);
      const info = JSON.parse(result.stdout);
      expect(info.detection.layout).toBe('optimum');
      expect(info.manifest.latent.scalingFactor).toBe(0.5);
      expect(info.files.map((f: { role: string; file: string }) => `${f.role} ${f.file}`)).toEqual([
        'encoder vae_encoder/model.onnx',
        'decoder vae_decoder/model.onnx',
      ]);
      expect(info.check).toEqual({ ok: true });
    } finally {
      opened.mockRestore();
    }
  });
});
