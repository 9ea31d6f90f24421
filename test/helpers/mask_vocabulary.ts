// A token table over a synthetic vocabulary (one stop id past its tokens) and the plain
// definition the mask tests compare with: a token is allowed when the recognizer reads all its
// bytes, a stop when the document may end.
import { TokenTable, type GrammarState } from '../../src/sampling/json_grammar';

export function maskVocabulary(bytes: Uint8Array[]) {
  const stops = [bytes.length];
  const table = new TokenTable([...bytes, null]);
  function bruteForce(s: GrammarState): number[] {
    const out: number[] = [];
    bytes.forEach((b, id) => {
      if (s.grammar.feedBytes(s, b)) out.push(id);
    });
    if (s.grammar.canEnd(s)) out.push(...stops);
    return out;
  }
  return { stops, table, bruteForce };
}
