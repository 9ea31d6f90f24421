// The conversation view: one bubble per message (markdown through marked, sanitized by
// DOMPurify), reasoning in a collapsible <details>, and auto-scroll that follows the stream
// only while the reader is at the bottom (scrolling up stops it, scrolling back resumes it).
// A user bubble shows its attached images as thumbnails and has an Edit button (edit-and-resend).
import { marked } from 'marked';
import DOMPurify from 'dompurify';
import type { Message } from './conversations.js';
import { editInPlace } from './edit_message.js';

const NEAR_BOTTOM_PX = 40;

export function renderMarkdown(text: string): string {
  return DOMPurify.sanitize(marked.parse(text, { async: false, gfm: true, breaks: true }));
}

export class ChatView {
  private follow = true;
  /** Whether Edit buttons work now (not while an answer streams). */
  editable = true;

  /** `onEdit(index, text)`: the user edited message `index`; the conversation after it is to be replaced. */
  constructor(private readonly list: HTMLElement, private readonly onEdit: (index: number, text: string) => void = () => undefined) {
    list.addEventListener('scroll', () => {
      this.follow = list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
    });
  }

  /** Whether the view keeps scrolling to the newest text. */
  get following(): boolean {
    return this.follow;
  }

  render(messages: Message[]): void {
    this.list.replaceChildren(...messages.map((m, i) => this.bubble(m, i)));
    this.follow = true;
    this.scroll();
  }

  /** Adds an empty assistant bubble for a streaming answer; returns the element to update. */
  startAnswer(): HTMLElement {
    const b = this.bubble({ role: 'assistant', content: '' });
    b.setAttribute('aria-busy', 'true');
    this.list.append(b);
    this.scroll();
    return b;
  }

  /** Redraws a bubble with the text so far. */
  update(bubble: HTMLElement, m: Message): void {
    this.fill(bubble, m);
    this.scroll();
  }

  private bubble(m: Message, index?: number): HTMLElement {
    const b = document.createElement('article');
    this.fill(b, m);
    if (m.role === 'user' && index !== undefined) {
      const edit = document.createElement('button');
      edit.type = 'button';
      edit.className = 'edit-btn';
      edit.textContent = 'Edit';
      edit.setAttribute('aria-label', 'Edit this message and send it again');
      edit.addEventListener('click', () => {
        if (this.editable) editInPlace(b, m.content, (text) => text !== null && this.onEdit(index, text));
      });
      b.append(edit);
    }
    return b;
  }

  private fill(b: HTMLElement, m: Message): HTMLElement {
    b.className = `bubble ${m.role}${m.stopped ? ' stopped' : ''}${m.error ? ' failed' : ''}`;
    b.setAttribute('aria-label', m.role === 'user' ? 'You said' : 'Assistant said');
    const parts: Node[] = [];
    if (m.reasoning) {
      const d = document.createElement('details');
      d.className = 'reasoning';
      const s = document.createElement('summary');
      s.textContent = 'Reasoning';
      const p = document.createElement('div');
      p.textContent = m.reasoning;
      d.append(s, p);
      parts.push(d);
    }
    if (m.images?.length) {
      const row = document.createElement('div');
      row.className = 'thumbs';
      for (const [i, url] of m.images.entries()) {
        const img = document.createElement('img');
        img.src = url;
        img.alt = `Attached image ${i + 1} of ${m.images.length}`;
        row.append(img);
      }
      parts.push(row);
    }
    const body = document.createElement('div');
    body.className = 'content';
    if (m.role === 'assistant') body.innerHTML = renderMarkdown(m.content);
    else body.textContent = m.content;
    parts.push(body);
    const meta: string[] = [];
    if (m.stopped) meta.push('stopped');
    if (m.stats) meta.push(m.stats);
    if (meta.length) {
      const f = document.createElement('p');
      f.className = 'meta';
      f.textContent = meta.join(' · ');
      parts.push(f);
    }
    if (m.error) {
      const e = document.createElement('p');
      e.className = 'error';
      e.setAttribute('role', 'alert');
      e.textContent = m.error;
      parts.push(e);
    }
    b.replaceChildren(...parts);
    return b;
  }

  private scroll(): void {
    if (this.follow) this.list.scrollTop = this.list.scrollHeight;
  }
}
