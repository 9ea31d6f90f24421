// The vocabulary's bytes in a trie laid out flat (typed arrays, nodes in preorder): a walk
// iterates a node's edges without allocating, and a node's subtree holds a contiguous range
// of ids (the ids of node n and everything below it: ids[lo[n]] .. ids[end[n] - 1]).

export class TokenTrie {
  /** Node n's edges: byte[e] -> to[e] for e in first[n] .. first[n + 1] - 1, ascending by byte. */
  readonly first: Int32Array;
  readonly byte: Uint8Array;
  readonly to: Int32Array;
  /** Token ids in preorder: those ending at n are ids[lo[n]] .. ids[mid[n] - 1]; its whole subtree ends at end[n]. */
  readonly ids: Uint32Array;
  readonly lo: Int32Array;
  readonly mid: Int32Array;
  readonly end: Int32Array;
  /** Bytes from the root. */
  readonly depth: Int32Array;

  constructor(bytes: readonly (Uint8Array | null)[]) {
    // First as maps, then flattened in preorder.
    const kids: Map<number, number>[] = [new Map()];
    const at: number[][] = [[]];
    let count = 0;
    bytes.forEach((b, id) => {
      if (!b) return;
      let node = 0;
      for (const x of b) {
        let next = kids[node]!.get(x);
        if (next === undefined) {
          next = kids.length;
          kids.push(new Map());
          at.push([]);
          kids[node]!.set(x, next);
        }
        node = next;
      }
      at[node]!.push(id);
      count++;
    });
    const n = kids.length;
    let edges = 0;
    for (const k of kids) edges += k.size;
    this.first = new Int32Array(n + 1);
    this.byte = new Uint8Array(edges);
    this.to = new Int32Array(edges);
    this.ids = new Uint32Array(count);
    this.lo = new Int32Array(n);
    this.mid = new Int32Array(n);
    this.end = new Int32Array(n);
    this.depth = new Int32Array(n);
    let next = 0, e = 0, k = 0;
    // Iterative preorder: [old node, depth, parent's edge slot to fill] entries; a negative node closes one.
    const stack: number[] = [0, 0, -1];
    while (stack.length) {
      const slot = stack.pop()!, d = stack.pop()!, old = stack.pop()!;
      if (old < 0) {
        this.end[~old] = k;
        continue;
      }
      const nn = next++;
      if (slot >= 0) this.to[slot] = nn;
      this.depth[nn] = d;
      this.lo[nn] = k;
      for (const id of at[old]!) this.ids[k++] = id;
      this.mid[nn] = k;
      const sorted = [...kids[old]!].sort((a, b) => a[0] - b[0]);
      this.first[nn] = e;
      const base = e;
      for (const [b] of sorted) this.byte[e++] = b;
      stack.push(~nn, 0, 0);
      // Pushed in reverse so the lowest byte is visited first.
      for (let i = sorted.length - 1; i >= 0; i--) stack.push(sorted[i]![1], d + 1, base + i);
    }
    // first[] was written in preorder, which is the new numbering: every node's edges are contiguous.
    this.first[n] = e;
  }

  /** The child of `node` along byte `b`, or -1. */
  child(node: number, b: number): number {
    let lo = this.first[node]!, hi = this.first[node + 1]! - 1;
    while (lo <= hi) {
      const m = (lo + hi) >> 1;
      const x = this.byte[m]!;
      if (x === b) return this.to[m]!;
      if (x < b) lo = m + 1;
      else hi = m - 1;
    }
    return -1;
  }

  /** Ids strictly below `node`. */
  below(node: number): number {
    return this.end[node]! - this.mid[node]!;
  }
}
