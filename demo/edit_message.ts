// Edit-and-resend: turns a user bubble into a small form (the text in a textarea, "Send" and
// "Cancel"). Enter sends, Shift+Enter is a new line, Escape cancels; focus goes to the text and
// back to the bubble's Edit button on cancel.
export function editInPlace(bubble: HTMLElement, text: string, done: (text: string | null) => void): void {
  const form = document.createElement('form');
  form.className = 'edit';
  const label = document.createElement('label');
  label.className = 'sr-only';
  label.textContent = 'Edit your message';
  const box = document.createElement('textarea');
  box.value = text;
  box.rows = Math.min(8, Math.max(2, text.split('\n').length));
  box.id = `edit-${Math.random().toString(36).slice(2, 8)}`;
  label.htmlFor = box.id;
  const send = document.createElement('button');
  send.type = 'submit';
  send.textContent = 'Send';
  send.setAttribute('aria-label', 'Send the edited message (the answers after it are replaced)');
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.textContent = 'Cancel';
  const actions = document.createElement('div');
  actions.className = 'actions';
  actions.append(send, cancel);
  form.append(label, box, actions);
  const before = [...bubble.childNodes];
  bubble.replaceChildren(form);
  bubble.classList.add('editing');
  const finish = (value: string | null) => {
    bubble.classList.remove('editing');
    if (value === null) {
      bubble.replaceChildren(...before);
      bubble.querySelector<HTMLButtonElement>('.edit-btn')?.focus();
    }
    done(value);
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = box.value.trim();
    if (v) finish(v);
  });
  cancel.addEventListener('click', () => finish(null));
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') finish(null);
    else if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
}
