// Offline use after the first visit: registers the service worker (sw.js caches this build's
// files). The page registers it once it is ready, so that its downloads do not compete with
// the start-up.

// app: the page's state (window.pynet); app.offlineReady once the service worker is active.
export function registerServiceWorker(app) {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  navigator.serviceWorker.register(new URL('./sw.js', import.meta.url), { scope: './' })
    .then(() => navigator.serviceWorker.ready)
    .then(() => { app.offlineReady = true; })
    .catch((e) => console.warn(`Offline use is not available: ${e.message}`));
}
