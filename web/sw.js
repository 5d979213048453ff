// Service worker: keeps the site usable offline after the first visit.
//
// The build writes the site's version into BUILD_VERSION below, so every deploy changes this
// file's bytes; the browser then installs the new worker, which fills a new cache named after
// the version and, once active, deletes the caches of older versions.
const BUILD_VERSION = '__BUILD_VERSION__';
const CACHE = `pynet-${BUILD_VERSION}`;
// Large optional files are cached when first used, not up front.
const ON_DEMAND = ['data/mnist-full.npz'];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const response = await fetch('build.json', { cache: 'no-store' });
    const build = await response.json();
    const files = Object.keys(build.files).filter((f) => !ON_DEMAND.includes(f) && f !== 'sw.js');
    const cache = await caches.open(CACHE);
    await cache.addAll(['./', 'build.json', ...files]);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('pynet-') && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    // Pages and build.json: the network first, so a new deploy is seen; the cache when offline.
    if (request.mode === 'navigate' || request.url.endsWith('/build.json')) {
      try {
        const fresh = await fetch(request);
        if (fresh.ok) cache.put(request, fresh.clone());
        return fresh;
      } catch (err) {
        const cached = await cache.match(request, { ignoreSearch: true });
        if (cached) return cached;
        throw err;
      }
    }
    // Everything else belongs to this version: the cache first (worker.js?role=helper, the
    // data-parallel helper, is the cached worker.js).
    const cached = await cache.match(request, { ignoreSearch: new URL(request.url).pathname.endsWith('/worker.js') });
    if (cached) return cached;
    const fresh = await fetch(request);
    if (fresh.ok) cache.put(request, fresh.clone());
    return fresh;
  })());
});
