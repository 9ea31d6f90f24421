// Conversations kept in IndexedDB (idb-keyval, database "ernie-demo", store "conversations"),
// apart from the model store's own database.
import { createStore, del, get, keys, set } from 'idb-keyval';

export interface Message {
  role: 'user' | 'assistant';
  content: string;
  /** Images the user attached (data: URLs), sent as image_url content parts. */
  images?: string[];
  reasoning?: string;
  /** The user pressed Stop: the content is what had arrived. */
  stopped?: boolean;
  error?: string;
  /** e.g. "24 tokens, 31.2 tok/s" */
  stats?: string;
}

export interface Conversation {
  id: string;
  title: string;
  updated: number;
  messages: Message[];
}

const db = createStore('ernie-demo', 'conversations');

export function newConversation(): Conversation {
  return { id: `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`, title: 'New chat', updated: Date.now(), messages: [] };
}

export async function saveConversation(c: Conversation): Promise<void> {
  c.updated = Date.now();
  const first = c.messages.find((m) => m.role === 'user');
  if (first) c.title = first.content.slice(0, 40);
  await set(c.id, c, db);
}

export async function listConversations(): Promise<Conversation[]> {
  const out: Conversation[] = [];
  for (const k of await keys(db)) {
    const c = await get<Conversation>(k, db);
    if (c) out.push(c);
  }
  return out.sort((a, b) => b.updated - a.updated);
}

export function deleteConversation(id: string): Promise<void> {
  return del(id, db);
}
