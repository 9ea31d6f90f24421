// The conversation view: one bubble per message (markdown through marked, sanitized by
// DOMPurify), reasoning in a collapsible <details>, and auto-scroll that follows the stream
// only while the reader is at the bottom (scrolling up stops it, scrolling back resumes it).
import { marked } from 'marked';
import DOMPurify from 'dompurify';
import type { Message } from './conversations.js';

const NEAR_BOTTOM_PX = 40;

export function renderMarkdown(text: string): string {
  return DOMPurify.sanitize(marked.parse(text, { async: false, gfm: true, breaks: true }));
}

export class ChatView {
  private follow = true;

  constructor(private readonly list: HTMLElement) {
    list.addEventListener('scroll', () => {
      this.follow = list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
    });
  }

  /** Whether the view keeps scrolling to the newest text. */
  get following(): boolean {
    return this.follow;
  }

  render(messages: Message[]): void {
    this.list.replaceChildren(...messages.map((m) => this.bubble(m)));
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

  private bubble(m: Message): HTMLElement {
    const b = document.createElement('article');
    return this.fill(b, m);
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
