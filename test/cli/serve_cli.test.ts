// `ernie-webgpu serve` as a user runs it: the tiny model on WebGPU (Dawn), the official openai
// client against the printed base URL, then SIGTERM.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import OpenAI from 'openai';

describe('ernie-webgpu serve', () => {
  it('serves the tiny model on loopback with an API key until SIGTERM', async () => {
    const child = spawn(process.execPath, [
      'bin/ernie-webgpu.mjs', 'serve', 'test/fixtures/ernie45-moe-tiny', '--tokenizer', 'test/fixtures/ernie-tokenizer-tiny', '--port', '0', '--api-key', 'k1',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      const baseURL = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          out += d;
          const m = /at (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
      });
      const client = new OpenAI({ baseURL, apiKey: 'k1', maxRetries: 0 });
      const [model] = (await client.models.list()).data;
      const r = await client.chat.completions.create({ model: model!.id, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3, temperature: 0 });
      expect(r.usage?.completion_tokens).toBe(3);
      expect(r.choices[0]!.finish_reason).toBe('length');
      await expect(new OpenAI({ baseURL, apiKey: 'bad', maxRetries: 0 }).models.list()).rejects.toMatchObject({ status: 401 });
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }, 120_000);
});
