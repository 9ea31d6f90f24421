// The app's service worker (hand-written; the build fills in VERSION and PRECACHE): the app
// shell is precached at install and served cache-first, so after the first visit the app
// opens with the network gone. Models are not cached here: they live in the model store
// (IndexedDB), and requests under models/ go straight to the network (Range requests intact).
const VERSION = '__VERSION__';
const PRECACHE = __PRECACHE__;
const CACHE = `ernie-demo-shell-${VERSION}`;
const scope = new URL(self.registration.scope);
const shell = new Set(PRECACHE.map((p) => new URL(p, scope).href));
const INDEX = new URL('index.html', scope).href;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll([...shell])).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key.startsWith('ernie-demo-shell-') && key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  url.search = '';
  url.hash = '';
  const key = req.mode === 'navigate' && (url.href === scope.href || url.href === INDEX) ? INDEX : url.href;
  if (!shell.has(key)) return;
  event.respondWith(caches.open(CACHE).then(async (c) => (await c.match(key)) ?? fetch(req)));
});
