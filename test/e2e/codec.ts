// JSON with typed arrays: the wire format between the Node side of the e2e harness
// (browser.ts) and the page (harness_client.ts). Plain JSON would turn a Float32Array into an
// object of indices and NaN into null; here typed arrays travel as base64 of their bytes, so
// they arrive bit-exact (NaN and -0 included) and cheaply. Non-finite plain numbers are
// tagged too. Runs unchanged in Node and in the browser (btoa/atob are in both).

const TYPED = {
  Float32Array, Float64Array, Int8Array, Int16Array, Int32Array,
  Uint8Array, Uint8ClampedArray, Uint16Array, Uint32Array, BigInt64Array, BigUint64Array,
} as const;
type TypedName = keyof typeof TYPED;

interface TypedTag { $typed: TypedName; b64: string }
interface NumberTag { $number: 'NaN' | 'Infinity' | '-Infinity' }

function bytesToBase64(bytes: Uint8Array): string {
  let bin = '';
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK) as unknown as number[]);
  }
  return btoa(bin);
}

function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function typedName(v: unknown): TypedName | undefined {
  if (!ArrayBuffer.isView(v) || v instanceof DataView) return undefined;
  // instanceof rather than constructor.name, so a Node Buffer travels as a Uint8Array.
  for (const name of Object.keys(TYPED) as TypedName[]) if (v instanceof TYPED[name]) return name;
  return undefined;
}

/** JSON.stringify that keeps typed arrays, NaN and ±Infinity. */
export function encode(value: unknown): string {
  return JSON.stringify(value, function (this: unknown, key: string, v: unknown) {
    // JSON.stringify has already called toJSON; read the raw value from the holder.
    const raw = (this as Record<string, unknown>)[key];
    const name = typedName(raw);
    if (name) {
      const view = raw as ArrayBufferView;
      const tag: TypedTag = { $typed: name, b64: bytesToBase64(new Uint8Array(view.buffer, view.byteOffset, view.byteLength)) };
      return tag;
    }
    if (raw instanceof ArrayBuffer) return { $typed: 'Uint8Array', b64: bytesToBase64(new Uint8Array(raw)) } satisfies TypedTag;
    if (typeof v === 'number' && !Number.isFinite(v)) return { $number: String(v) as NumberTag['$number'] } satisfies NumberTag;
    if (typeof v === 'bigint') return v.toString();
    return v;
  });
}

/** Inverse of encode(). */
export function decode<T = unknown>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v && typeof v === 'object') {
      const o = v as Partial<TypedTag & NumberTag>;
      if (typeof o.$typed === 'string' && typeof o.b64 === 'string' && o.$typed in TYPED) {
        const bytes = base64ToBytes(o.b64);
        const Ctor = TYPED[o.$typed];
        return new Ctor(bytes.buffer, 0, bytes.byteLength / Ctor.BYTES_PER_ELEMENT);
      }
      if (typeof o.$number === 'string') return Number(o.$number);
    }
    return v;
  }) as T;
}
