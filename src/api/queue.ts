// One request at a time: the model has one KV cache. acquire() resolves with a release
// function when the model is free; requests are served in arrival order. A request whose
// signal aborts while it waits leaves the queue and rejects with AbortError.

import { AbortError, throwIfAborted } from '../errors';

interface Waiter {
  grant: (release: () => void) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class RequestQueue {
  private busy = false;
  private readonly waiters: Waiter[] = [];

  /** Requests waiting for the model (not counting the one running). */
  get waiting(): number {
    return this.waiters.length;
  }

  get running(): boolean {
    return this.busy;
  }

  acquire(signal?: AbortSignal): Promise<() => void> {
    throwIfAborted(signal);
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const w: Waiter = { grant: resolve, signal };
      if (signal) {
        w.onAbort = () => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new AbortError('The request was aborted while waiting for the model'));
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiters.push(w);
    });
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiters.shift();
      if (!next) {
        this.busy = false;
        return;
      }
      if (next.onAbort) next.signal!.removeEventListener('abort', next.onAbort);
      next.grant(this.releaser());
    };
  }
}
