// The conversation as the request's messages: the system prompt first; a failed turn (the
// answer that failed and the user message it answered, e.g. images a text model refused) left
// out; a user message with images as OpenAI content parts (text, then one image_url per image).
import type { ChatMessageParam } from '../src/api/types.js';
import type { Message } from './conversations.js';

export function requestMessages(messages: Message[], systemPrompt: string): ChatMessageParam[] {
  const out: ChatMessageParam[] = systemPrompt.trim() ? [{ role: 'system', content: systemPrompt }] : [];
  for (const [i, m] of messages.entries()) {
    if (m.error || (m.role === 'user' && messages[i + 1]?.error)) continue;
    if (m.role === 'user' && m.images?.length) {
      out.push({ role: 'user', content: [{ type: 'text', text: m.content }, ...m.images.map((url) => ({ type: 'image_url' as const, image_url: { url } }))] });
    } else out.push({ role: m.role, content: m.content });
  }
  return out;
}
