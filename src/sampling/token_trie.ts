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
    // Inserting the tokens in byte order creates the nodes in preorder, each node's children
    // in ascending byte order and each subtree's ids contiguously.
    const keyed: { k: string; id: number }[] = [];
    let total = 0;
    bytes.forEach((b, id) => {
      if (!b) return;
      keyed.push({ k: String.fromCharCode(...b), id });
      total += b.length;
    });
    keyed.sort((x, y) => (x.k < y.k ? -1 : x.k > y.k ? 1 : x.id - y.id));
    const cap = total + 1;
    const depth = new Int32Array(cap), lo = new Int32Array(cap), mid = new Int32Array(cap), end = new Int32Array(cap);
    const parentOf = new Int32Array(cap), byteOf = new Uint8Array(cap);
    const ids = new Uint32Array(keyed.length);
    let n = 1, k = 0;
    const path = [0];
    let prev = '';
    for (const { k: key, id } of keyed) {
      let lcp = 0;
      while (lcp < key.length && lcp < prev.length && key.charCodeAt(lcp) === prev.charCodeAt(lcp)) lcp++;
      while (path.length - 1 > lcp) end[path.pop()!] = k;
      for (let d = lcp; d < key.length; d++) {
        const node = n++;
        parentOf[node] = path[path.length - 1]!;
        byteOf[node] = key.charCodeAt(d);
        depth[node] = d + 1;
        lo[node] = mid[node] = k;
        path.push(node);
      }
      ids[k++] = id;
      mid[path[path.length - 1]!] = k;
      prev = key;
    }
    while (path.length) end[path.pop()!] = k;
    this.ids = ids;
    this.depth = depth.slice(0, n);
    this.lo = lo.slice(0, n);
    this.mid = mid.slice(0, n);
    this.end = end.slice(0, n);
    // Edges: node i > 0 is the child of parentOf[i] along byteOf[i]; in creation order a parent's children come in byte order.
    this.first = new Int32Array(n + 1);
    for (let i = 1; i < n; i++) this.first[parentOf[i]! + 1]!++;
    for (let i = 0; i < n; i++) this.first[i + 1]! += this.first[i]!;
    this.byte = new Uint8Array(n - 1);
    this.to = new Int32Array(n - 1);
    const fill = this.first.slice(0, n);
    for (let i = 1; i < n; i++) {
      const e = fill[parentOf[i]!]!++;
      this.byte[e] = byteOf[i]!;
      this.to[e] = i;
    }
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

/** Sets the bits (bit id & 31 of word id >>> 5) of the trie's ids[lo] .. ids[hi - 1] in `mask`. */
export function setRange(mask: Uint32Array, ids: Uint32Array, lo: number, hi: number): void {
  for (let j = lo; j < hi; j++) {
    const id = ids[j]!;
    mask[id >>> 5]! |= 1 << (id & 31);
  }
}

/** Sets the bits of `ids` in `mask`. */
export function setBits(mask: Uint32Array, ids: ArrayLike<number>): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    mask[id >>> 5]! |= 1 << (id & 31);
  }
}
