// Keys of recognizer states: two states with the same key allow the same continuations (the
// token table caches masks by them; the recognizer merges readings by them).

import type { Stack } from './json_frames';
import type { GrammarState } from './json_grammar';

/** Stable ids for schema nodes, property lists and literals, to key states by. */
const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;
function oid(o: object): number {
  let id = objectIds.get(o);
  if (id === undefined) objectIds.set(o, (id = nextObjectId++));
  return id;
}

/** Two stacks with the same key accept the same continuations. */
export function stackKey(stack: Stack): string {
  let k = '';
  for (const f of stack) {
    k += f.root ? ';R' : ';';
    switch (f.k) {
      case 'V': k += 'V' + oid(f.s); break;
      case 'O': k += `O${oid(f.o)},${f.ph},${f.idx},${f.n},${oid(f.cur)},${f.seen}`; break;
      case 'A': k += `A${oid(f.a)},${f.ph},${f.n}${f.a.unique ? JSON.stringify(f.seen) : ''}`; break;
      case 'S': k += `S${f.esc},${f.need},${f.lo},${f.hi},${f.cp},${f.r ? oid(f.r) : 0},${f.len},${f.rs ? f.rs.join('.') : ''},${f.key ? oid(f.key) + JSON.stringify(f.txt) : ''}${f.keep ? 'K' + JSON.stringify(f.txt) : ''}`; break;
      case 'N': k += `N${f.ph},${f.int ? 1 : 0},${f.r ? oid(f.r) + f.txt : ''}`; break;
      case 'L': k += `L${f.i},${f.next ? oid(f.next) : 0}:` + f.alts.map((a, j) => oid(a) + '=' + f.ids[j]).join(','); break;
    }
  }
  return k;
}

/** Two states with the same key allow the same tokens. */
export function stateKey(state: GrammarState): string {
  return state.ws + '|' + state.stacks.map(stackKey).join('||');
}
