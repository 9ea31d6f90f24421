// The saved chats in the side panel: one button per conversation, newest first, the open one
// marked aria-current.
import type { Conversation } from './conversations.js';

export function renderChatList(list: HTMLElement, chats: Conversation[], currentId: string, onOpen: (c: Conversation) => void): void {
  list.replaceChildren(...chats.map((c) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'chat';
    b.textContent = c.title;
    if (c.id === currentId) b.setAttribute('aria-current', 'true');
    b.addEventListener('click', () => onOpen(c));
    li.append(b);
    return li;
  }));
}
