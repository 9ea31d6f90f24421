// Shared fixture loading and a seeded generator of awkward strings for the text tests.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../fixtures/ernie-tokenizer-tiny/', import.meta.url));

export const fixture = {
  model: (): Uint8Array => new Uint8Array(readFileSync(dir + 'tokenizer.model')),
  config: (): Record<string, unknown> => JSON.parse(readFileSync(dir + 'tokenizer_config.json', 'utf8')),
  hfJson: (): Record<string, unknown> => JSON.parse(readFileSync(dir + 'hf/tokenizer.json', 'utf8')),
  reference: (): { cases: { text: string; ids: number[]; ids_with_special: number[]; tokens: string[]; decoded: string }[] } =>
    JSON.parse(readFileSync(dir + 'reference.json', 'utf8')),
};

export { rng } from '../helpers/random';
import { rng } from '../helpers/random';

const WORDS = ['Large', 'language', 'model', 'is', 'the', 'quick', 'brown', 'fox', 'experts', 'WebGPU', 'JSON',
  'Beijing', 'celsius', 'hello', 'Hello', 'world', 'tokens', 'lazy', 'dog', 'café', 'naïve', 'Zebra', 'QUIZ',
  '文心', '大模型', '今天', '北京', '的', '天气', '怎么样', '请用中文回答', '混合专家', '模型', '参数', '百度', '龘', '𠀀',
  '🙂', '😀', '👍🏽', '🇨🇳', '☃', 'ß', 'Ω', 'ñ', 'é', '\u0301', 'ﬁ', '①', 'Ａ', '½'];
const PUNCT = ['.', ',', '!', '?', ':', ';', '"', "'", '{', '}', '(', ')', '-', '+', '=', '/', '\\', '@', '#', '$', '%', '^', '&', '*', '~', '`', '|', '<', '>', '[', ']', '。', '？', '，'];
const SPACE = [' ', ' ', ' ', '  ', '   ', '    ', '\t', '\n', '\r\n', '\n\n', ' \n ', '\u00a0', '\u3000', '▁'];
export const SPECIALS = ['<|begin_of_sentence|>', '<|end_of_sentence|>', '<think>', '</think>', '<tool_call>', '</tool_call>',
  '<|IMAGE_START|>', '<|IMAGE_PLACEHOLDER|>', '<|IMAGE_END|>', '<s>', '</s>', '<unk>', '<pad>'];

export interface GenOptions {
  specials?: boolean;
  /** Characters NFKC would change (full-width, ligatures, combining marks...). */
  unnormalized?: boolean;
}

/** One string mixing words, digits, punctuation, emoji, whitespace runs, raw code points and specials. */
export function randomText(r: () => number, opts: GenOptions = {}): string {
  const n = 1 + Math.floor(r() * 14);
  let s = '';
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)]!;
  for (let i = 0; i < n; i++) {
    const k = r();
    if (k < 0.35) s += pick(WORDS);
    else if (k < 0.5) s += String(Math.floor(r() * 100000));
    else if (k < 0.62) s += pick(PUNCT);
    else if (k < 0.8) s += pick(SPACE);
    else if (k < 0.88) s += String.fromCodePoint(0x20 + Math.floor(r() * 0x5f)); // printable ASCII
    else if (k < 0.93) s += String.fromCodePoint(0xa0 + Math.floor(r() * 0x3000)); // Latin..CJK symbols
    else if (k < 0.96) s += String.fromCodePoint(0x1f300 + Math.floor(r() * 0x300)); // emoji planes
    else if (opts.specials) s += pick(SPECIALS);
    else s += pick(WORDS);
  }
  if (!opts.unnormalized) s = s.normalize('NFKC') === s ? s : s.normalize('NFC');
  return s;
}
