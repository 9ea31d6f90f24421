import { describe, expect, it } from 'vitest';
import { splitOutput, type OutputOptions } from '../../src/api/output';
import { parseAssistantOutput } from '../../src/text/assistant_output';
import { Rng } from '../../src/sampling/rng';

const FRAGMENTS = ['<think>', '</think>', '<response>', '</response>', '<tool_call>', '</tool_call>', '<', '</', '<th', '</resp',
  '<tool_', ' ', '\n', '\n\n', 'a', 'Hi', '中文', '{"name": "f", "arguments": {}}', '🙂', 'x y'];

function randomText(r: Rng): string {
  const n = r.nextU32() % 12;
  let s = '';
  for (let i = 0; i < n; i++) s += FRAGMENTS[r.nextU32() % FRAGMENTS.length];
  return s;
}

const MODES: OutputOptions[] = [
  { thinking: 'no', tools: false },
  { thinking: 'no', tools: true },
  { thinking: 'yes', tools: true },
  { thinking: 'auto', tools: false },
  { thinking: 'auto', tools: true },
];

describe('splitOutput', () => {
  it('every partial view is a prefix of the final one (streamed deltas add up)', () => {
    const r = new Rng(9);
    for (let trial = 0; trial < 1200; trial++) {
      const text = randomText(r);
      const mode = MODES[trial % MODES.length]!;
      const final = splitOutput(text, mode, true);
      let prevR = '';
      let prevC = '';
      const chars = [...text];
      for (let i = 0; i <= chars.length; i++) {
        const v = splitOutput(chars.slice(0, i).join(''), mode, false);
        const rr = v.reasoning ?? '';
        // (a plain check per prefix, expect only on failure: ~75k views, and vitest's expect with
        // a formatted message per call was most of this test's time)
        if (!rr.startsWith(prevR) || !v.content.startsWith(prevC)) {
          expect.fail(`a view is not a prefix of the next one: ${JSON.stringify({ text, i, mode, before: [prevR, prevC], after: [rr, v.content] })}`);
        }
        [prevR, prevC] = [rr, v.content];
      }
      expect((final.reasoning ?? '').startsWith(prevR), JSON.stringify({ text, mode })).toBe(true);
      expect(final.content.startsWith(prevC), JSON.stringify({ text, mode })).toBe(true);
    }
  });

  it('agrees with parseAssistantOutput on the trained formats', () => {
    const cases: [string, OutputOptions][] = [
      ['reasoning here\n</think>\n\n\n<response>\nThe answer.\n</response>\n', { thinking: 'yes', tools: true }],
      ['<think>plan</think>\n\n<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>\n', { thinking: 'auto', tools: true }],
      ['Sure.\n<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>\n<tool_call>\n{"name": "g", "arguments": {"b": "x"}}\n</tool_call>\n', { thinking: 'no', tools: true }],
      ['  plain answer  ', { thinking: 'no', tools: false }],
      ['still thinking, no close', { thinking: 'yes', tools: false }],
    ];
    for (const [text, mode] of cases) {
      const v = splitOutput(text, mode, true);
      const thinking = v.thinking;
      const p = parseAssistantOutput(text, { thinking, makeId: (i) => `c${i}` });
      expect(v.content).toBe(p.content);
      expect(v.reasoning).toBe(p.reasoning_content);
      if (mode.tools) {
        const calls = parseAssistantOutput(v.toolText, { thinking: false, makeId: (i) => `c${i}` }).tool_calls;
        expect(calls).toEqual(p.tool_calls);
      }
    }
  });

  it('keeps tool-call text as content when tools are off', () => {
    const v = splitOutput('See <tool_call>{}</tool_call>', { thinking: 'no', tools: false }, true);
    expect(v.content).toBe('See <tool_call>{}</tool_call>');
    expect(v.toolText).toBe('');
  });

  it('holds back a tail that may become a tag', () => {
    expect(splitOutput('Hello <tool_', { thinking: 'no', tools: true }, false).content).toBe('Hello');
    expect(splitOutput('Hello <tool_', { thinking: 'no', tools: true }, true).content).toBe('Hello <tool_');
    expect(splitOutput('<thi', { thinking: 'auto', tools: false }, false)).toMatchObject({ content: '', reasoning: null });
  });
});
