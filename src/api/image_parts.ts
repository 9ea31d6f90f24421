// Image content parts of chat requests: their shapes (checked with the rest of the request) and
// the list of them in prompt order, which is the order the chat template numbers them in.
//   {type: 'image_url', image_url: {url}}   data:, http(s): and blob: URLs
//   {type: 'image', image}                  a Blob, ImageBitmap or ImageData (browser); Uint8Array bytes too
import type { ChatMessage } from '../text/chat_template';
import { BadRequestError } from './errors';

export type ImageValue = Blob | ImageBitmap | ImageData | Uint8Array;

/** One image of a request: `param` is its path ("messages[1].content[0]"). */
export type ImageRef = { param: string; url: string } | { param: string; image: ImageValue };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isImageValue(v: unknown): v is ImageValue {
  return (
    v instanceof Uint8Array ||
    (typeof Blob !== 'undefined' && v instanceof Blob) ||
    (typeof ImageBitmap !== 'undefined' && v instanceof ImageBitmap) ||
    (typeof ImageData !== 'undefined' && v instanceof ImageData)
  );
}

/** Refuses an image part of the wrong shape; `p` is its param path. */
export function checkImagePart(part: Record<string, unknown>, p: string): void {
  const t = part.type;
  if (t === 'image_url') {
    const iu = part.image_url;
    if (!isObject(iu) || typeof iu.url !== 'string') throw new BadRequestError(`${p}.image_url`, 'must be {"url": "data:image/png;base64,..." | "https://..." | "blob:..."}');
    if (!/^(data|https?|blob):/i.test(iu.url)) throw new BadRequestError(`${p}.image_url.url`, `must be a data:, http(s): or blob: URL, got ${JSON.stringify(iu.url.slice(0, 40))}`);
    const d = iu.detail;
    if (d !== undefined && d !== null && d !== 'auto' && d !== 'low' && d !== 'high') throw new BadRequestError(`${p}.image_url.detail`, `must be "auto", "low" or "high", got ${JSON.stringify(d)}`);
  } else if (t === 'image') {
    if (!isImageValue(part.image)) throw new BadRequestError(`${p}.image`, 'must be a Blob, ImageBitmap, ImageData or Uint8Array of PNG/JPEG bytes');
  } else {
    throw new BadRequestError(`${p}.type`, `"${String(t)}" parts are not supported; images are {"type": "image_url", "image_url": {"url": ...}} or {"type": "image", "image": Blob}`);
  }
}

/** Every image part of the messages, in order. */
export function imageRefs(messages: readonly ChatMessage[]): ImageRef[] {
  const out: ImageRef[] = [];
  messages.forEach((m, i) => {
    if (!Array.isArray(m.content)) return;
    m.content.forEach((part, j) => {
      const p = part as unknown as Record<string, unknown>;
      const param = `messages[${i}].content[${j}]`;
      if (p.type === 'image_url') out.push({ param, url: (p.image_url as { url: string }).url });
      else if (p.type === 'image') out.push({ param, image: p.image as ImageValue });
    });
  });
  return out;
}

/** The messages as the chat template sees them: an image part is just {type: 'image'} (no bytes, no URL). */
export function templateMessages(messages: readonly ChatMessage[]): ChatMessage[] {
  return messages.map((m) => {
    if (!Array.isArray(m.content) || !m.content.some((c) => (c as { type?: string }).type === 'image' || (c as { type?: string }).type === 'image_url')) return m;
    return { ...m, content: m.content.map((c) => ((c as { type?: string }).type === 'image_url' || (c as { type?: string }).type === 'image' ? ({ type: 'image' } as never) : c)) };
  });
}
