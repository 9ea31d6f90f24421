// Registers the service worker (sw.js, written by the build next to index.html). In `vite`
// dev mode there is none, and none is registered.
export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator) || import.meta.env.DEV) return;
  void navigator.serviceWorker.register(new URL('sw.js', location.href), { scope: './' }).catch(() => undefined);
}
