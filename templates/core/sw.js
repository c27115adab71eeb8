// 4pass service worker. Shell version {{ version }}.
const CACHE = "4pass-shell-{{ version }}";
const SHELL = {{ shell_json|safe }}.concat(["{{ offline_url }}"]);
const STATIC_PREFIX = "{{ static_prefix }}";

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("4pass-shell-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith(STATIC_PREFIX)) {
    // Static assets: cache first, fill the cache on the way.
    event.respondWith(
      caches.match(request).then((hit) => hit || fetch(request).then((response) => {
        if (response.ok) { const copy = response.clone(); caches.open(CACHE).then((c) => c.put(request, copy)); }
        return response;
      }))
    );
    return;
  }
  if (request.mode === "navigate") {
    // Pages hold private data: always from the network, never stored; the offline page when it is gone.
    event.respondWith(fetch(request).catch(() => caches.match("{{ offline_url }}")));
  }
  // Everything else (API, HTMX fragments, websockets) goes to the network untouched.
});

self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { title: "4pass", body: event.data && event.data.text() }; }
  const title = data.title || "4pass";
  event.waitUntil(self.registration.showNotification(title, {
    body: data.body || "",
    tag: data.tag || undefined,
    data: { url: data.url || "/" },
    icon: "{{ static_prefix }}icons/icon-192.png",
    badge: "{{ static_prefix }}icons/badge-96.png",
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
    for (const w of windows) { if (new URL(w.url).pathname === target && "focus" in w) return w.focus(); }
    return self.clients.openWindow(target);
  }));
});
