// The web app's service worker (scope /app/): pages a person opened open again with no
// network (network first, the kept copy when there is none); versioned assets come from the
// cache. Only GETs under /app/ are touched: the API, and every write, always go to the network.
"use strict";
var PAGES = "eldercare-pages", ASSETS = "eldercare-assets";
var OFFLINE = "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>" +
  "<title>无网络 · Offline</title><h1>无网络</h1><p>此页面尚未保存在手机上。请在有网络时先打开它。</p>" +
  "<p lang=en>No network, and this page was not kept on this phone. Open it once while online.</p>" +
  "<p><a href='/app/'>今日工作 · Today</a></p>";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname.indexOf("/app/") !== 0
      || url.pathname === "/app/sw.js") {
    return;
  }
  if (url.pathname.indexOf("/app/static/") === 0) {
    event.respondWith(caches.open(ASSETS).then(function (cache) {
      return cache.match(request).then(function (hit) {
        return hit || fetch(request).then(function (response) {
          if (response.ok) { cache.put(request, response.clone()); }
          return response;
        });
      });
    }));
    return;
  }
  if (request.mode !== "navigate") { return; }
  event.respondWith(fetch(request).then(function (response) {
    // A sign-in redirect or an error page is not worth keeping in place of the page.
    if (response.ok && !response.redirected) {
      var copy = response.clone();
      caches.open(PAGES).then(function (cache) { cache.put(url.pathname, copy); });
    }
    return response;
  }, function () {
    return caches.open(PAGES).then(function (cache) { return cache.match(url.pathname); }).then(function (kept) {
      return kept || new Response(OFFLINE, {status: 503, headers: {"Content-Type": "text/html; charset=utf-8"}});
    });
  }));
});
