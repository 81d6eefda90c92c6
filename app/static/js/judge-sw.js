// Service worker of the judging pages (served as /judging/sw.js, scope /judging/): pages and static assets are
// fetched from the network first and a copy is kept, so a judge's scoring page opens again — with its queue of
// unsent marks from localStorage — when the venue's network is down. The API is never cached or intercepted.

const CACHE = "jx-judge-v1";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/") || url.pathname.endsWith("/sw.js")) return;
  if (!url.pathname.startsWith("/judging/") && !url.pathname.startsWith("/static/")) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok && response.type === "basic" && !response.redirected) {
          const copy = response.clone();
          return caches.open(CACHE).then((cache) => cache.put(request, copy)).then(() => response, () => response);
        }
        return response;
      })
      .catch(() => caches.match(request, { ignoreVary: true, ignoreSearch: false })
        .then((hit) => hit || Response.error())),
  );
});
