// comlink's throw handler as installErrorTransfer() replaces it, over a real MessageChannel with no
// GPU: what survives of each kind of thrown value.
import * as Comlink from 'comlink';
import { afterAll, describe, expect, it } from 'vitest';
import { installErrorTransfer, registerErrorClass } from '../../src/worker/error_transfer.js';
import { ErnieError, FileFormatError, HttpError, ImageError, IntegrityError } from '../../src/errors.js';
import { BadRequestError } from '../../src/api/errors.js';

class PluginError extends FileFormatError {
  readonly detail = [1, 2, 3];
  constructor() {
    super('weights/model-00002.safetensors', 'header length beyond the file');
    this.name = 'PluginError';
  }
}

class RegisteredError extends ErnieError {
  constructor(readonly url: string) {
    super('FETCH_FAILED', `${url}: 503`);
    this.name = 'RegisteredError';
  }
}
registerErrorClass(RegisteredError);

const thrower = {
  throw(kind: string): never {
    if (kind === 'cause') throw new BadRequestError('messages[0].content', 'not a string', { cause: new FileFormatError('x.json', 'bad', { cause: 'root cause' }) });
    if (kind === 'subclass') throw new PluginError();
    if (kind === 'registered') throw new RegisteredError('https://example.test/m/config.json');
    if (kind === 'http') throw new HttpError({ url: 'https://cdn.test/m/core-000.bin', file: 'core-000.bin', failure: 'status', status: 503, retryable: true }, 'HTTP 503 (gave up after 5 tries)');
    if (kind === 'integrity') throw new IntegrityError('experts/layer-1/expert-20.bin', 'SHA-256 is 00, but manifest.json says 11');
    if (kind === 'image') throw new ImageError('photo.jpg', 'not a PNG or JPEG image');
    if (kind === 'type') throw new TypeError('not a function');
    throw 'a string';
  },
};

installErrorTransfer();
const channel = new MessageChannel();
Comlink.expose(thrower, channel.port1 as never);
const remote = Comlink.wrap<typeof thrower>(channel.port2 as never);
afterAll(() => {
  channel.port1.close();
  channel.port2.close();
});

async function thrown(kind: string): Promise<unknown> {
  try {
    await remote.throw(kind);
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('errors through comlink', () => {
  it('an IntegrityError (a package shard failing its SHA-256) arrives as itself, naming the file', async () => {
    const e = (await thrown('integrity')) as IntegrityError;
    expect(e).toBeInstanceOf(IntegrityError);
    expect(e).toMatchObject({ name: 'IntegrityError', code: 'INTEGRITY', file: 'experts/layer-1/expert-20.bin' });
  });

  it('an HttpError arrives as itself, with its url, file, failure and status', async () => {
    const e = (await thrown('http')) as HttpError;
    expect(e).toBeInstanceOf(HttpError);
    expect(e).toMatchObject({ code: 'FETCH_FAILED', url: 'https://cdn.test/m/core-000.bin', file: 'core-000.bin', failure: 'status', status: 503, retryable: true });
    expect(e.message).toBe('core-000.bin: HTTP 503 (gave up after 5 tries)');
  });

  it('keeps the cause chain, typed where the cause is an ErnieError', async () => {
    const e = (await thrown('cause')) as BadRequestError;
    expect(e).toBeInstanceOf(BadRequestError);
    expect(e.param).toBe('messages[0].content');
    const cause = e.cause as FileFormatError;
    expect(cause).toBeInstanceOf(FileFormatError);
    expect(cause.file).toBe('x.json');
    expect(cause.cause).toBe('root cause');
  });

  it('an unregistered subclass arrives as its nearest registered ancestor, with its own name and fields', async () => {
    const e = (await thrown('subclass')) as FileFormatError & { detail: number[] };
    expect(e).toBeInstanceOf(FileFormatError);
    expect(e.name).toBe('PluginError');
    expect(e.file).toBe('weights/model-00002.safetensors');
    expect(e.detail).toEqual([1, 2, 3]);
    expect(e.message).toBe('weights/model-00002.safetensors: header length beyond the file');
  });

  it('a registered class arrives as itself', async () => {
    const e = await thrown('registered');
    expect(e).toBeInstanceOf(RegisteredError);
    expect(e).toMatchObject({ code: 'FETCH_FAILED', url: 'https://example.test/m/config.json' });
  });

  it('an ImageError arrives as itself, with its source', async () => {
    const e = await thrown('image');
    expect(e).toBeInstanceOf(ImageError);
    expect(e).toMatchObject({ code: 'BAD_IMAGE', source: 'photo.jpg', message: 'photo.jpg: not a PNG or JPEG image' });
  });

  it('other errors keep name and message; thrown non-errors pass as they are', async () => {
    const e = (await thrown('type')) as Error;
    expect(e).toBeInstanceOf(Error);
    expect(e).not.toBeInstanceOf(ErnieError);
    expect([e.name, e.message]).toEqual(['TypeError', 'not a function']);
    expect(await thrown('string')).toBe('a string');
  });
});
