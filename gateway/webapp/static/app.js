// The web app's one piece of client logic: visits recorded without signal (issue 19).
// Loaded from this origin only (the CSP allows no inline script). Without this script every
// page still works online: forms post to the server as usual.
//
// - A service worker (/app/sw.js) keeps the pages a village worker opened, so their elder list
//   and the visit forms open with no network.
// - A visit form sent while offline is queued in IndexedDB with its own Idempotency-Key (the
//   visit id); the page shows how many wait. When the network returns, each is posted to the
//   API (/api/elders/<id>/visits, the session cookie signs it). The gateway derives the command
//   id from the key, so sending the queue twice, or a visit the server already has, applies
//   nothing twice. A refused visit stays in the queue, shown with the service's reason.
"use strict";

(function () {
  var DB = "eldercare-offline", STORE = "visits";
  var lang = document.documentElement.lang === "en" ? "en" : "zh";
  var TEXT = {
    zh: {waiting: "条巡访记录待发送（无网络时保存在手机上，联网后自动发送）", refused: "未被受理：",
         queued: "无网络：巡访已保存在手机上，联网后自动发送。", discard: "删除"},
    en: {waiting: "visits waiting to be sent (kept on this phone; sent when the network returns)",
         refused: "Not accepted: ", queued: "No network: the visit is kept on this phone and sent when the network returns.",
         discard: "Discard"}
  }[lang];

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(STORE, {keyPath: "visit_id"}); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode), result;
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = function () { reject(tx.error); };
        result = work(tx.objectStore(STORE));
      });
    });
  }

  function all() {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var request = db.transaction(STORE, "readonly").objectStore(STORE).getAll();
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    });
  }

  function put(item) { return withStore("readwrite", function (store) { store.put(item); }); }
  function remove(id) { return withStore("readwrite", function (store) { store["delete"](id); }); }

  function newId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return "v-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  // The form's fields as the API's record_visit body (the same mapping the server's form uses).
  function visitBody(form, visitId) {
    var data = new FormData(form), value = function (name) { return (data.get(name) || "").trim(); };
    var body = {visit_id: visitId, visitor_id: value("visitor_id"), mode: value("mode"),
                visited_on: value("visited_on"), services: data.getAll("services"), findings: {}, risks: []};
    ["living_conditions", "health", "care_by_children", "home_safety", "needs"].forEach(function (topic) {
      if (value("finding_" + topic)) { body.findings[topic] = value("finding_" + topic); }
    });
    if (value("risk_kind")) {
      body.risks.push({kind: value("risk_kind"), severity: value("risk_severity"),
                       description: value("risk_description")});
    }
    return body;
  }

  function csrfToken() {
    var field = document.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  function show() {
    var box = document.getElementById("offline-status");
    if (!box || !window.indexedDB) { return Promise.resolve(); }
    return all().then(function (items) {
      box.textContent = "";
      var waiting = items.filter(function (i) { return !i.refused; });
      if (waiting.length) {
        var line = document.createElement("p");
        var count = document.createElement("b");
        count.id = "offline-waiting";
        count.textContent = String(waiting.length);
        line.appendChild(count);
        line.appendChild(document.createTextNode(" " + TEXT.waiting));
        box.appendChild(line);
      }
      items.filter(function (i) { return i.refused; }).forEach(function (item) {
        var line = document.createElement("p");
        line.className = "error offline-refused";
        line.setAttribute("data-visit-id", item.visit_id);
        line.textContent = (item.elder_name || item.elder_id) + " " + item.body.visited_on + " · " + TEXT.refused + item.refused;
        var discard = document.createElement("button");
        discard.type = "button";
        discard.className = "small";
        discard.textContent = TEXT.discard;
        discard.addEventListener("click", function () { remove(item.visit_id).then(show); });
        line.appendChild(document.createTextNode(" "));
        line.appendChild(discard);
        box.appendChild(line);
      });
      box.hidden = items.length === 0;
      var note = document.getElementById("offline-note");
      if (note && !waiting.length) { note.hidden = true; }
      document.body.setAttribute("data-offline-queue", String(waiting.length));
    });
  }

  function reasonOf(answer) {
    if (answer.errors) {
      return Object.keys(answer.errors).map(function (field) {
        var messages = answer.errors[field];
        return field + ": " + (Array.isArray(messages) ? messages.join(" ") : JSON.stringify(messages));
      }).join("; ");
    }
    return answer.message || answer.error || "refused";
  }

  var sending = false;
  function flush() {
    if (sending || !navigator.onLine || !window.indexedDB) { return Promise.resolve(); }
    sending = true;
    return all().then(function (items) {
      var chain = Promise.resolve();
      items.filter(function (i) { return !i.refused; }).forEach(function (item) {
        chain = chain.then(function () {
          return fetch("/api/elders/" + encodeURIComponent(item.elder_id) + "/visits", {
            method: "POST", credentials: "same-origin",
            headers: {"Content-Type": "application/json", "Idempotency-Key": item.visit_id,
                      "X-CSRF-Token": item.csrf || csrfToken()},
            body: JSON.stringify(item.body)
          }).then(function (response) {
            if (response.ok) { return remove(item.visit_id); }
            if (response.status >= 400 && response.status < 500 && response.status !== 401 && response.status !== 408
                && response.status !== 429) {
              return response.json().then(function (answer) {
                item.refused = reasonOf(answer);
                return put(item);
              }, function () { item.refused = "HTTP " + response.status; return put(item); });
            }
            // Signed out, throttled or the service is down: kept, tried again later.
          }, function () { /* still no network: kept */ });
        });
      });
      return chain;
    }).then(function () { sending = false; return show(); }, function () { sending = false; });
  }

  function queue(form) {
    var visitId = newId();
    var title = document.querySelector(".muted");
    var item = {visit_id: visitId, elder_id: form.getAttribute("data-elder-id"), body: visitBody(form, visitId),
                elder_name: title ? title.textContent.split(" · ")[0] : "", queued_at: new Date().toISOString(),
                csrf: csrfToken(), refused: null};
    return put(item).then(function () {
      var note = document.getElementById("offline-note");
      if (note) { note.textContent = TEXT.queued; note.hidden = false; }
      return show();
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.getAttribute("data-offline-queue") === "visits" && !navigator.onLine && window.indexedDB) {
      event.preventDefault();
      queue(form);
    }
    if (form.getAttribute("action") === "/app/sign-out" && window.caches) {
      caches.keys().then(function (names) { names.forEach(function (name) { caches["delete"](name); }); });
    }
  });

  // Keep the pages a visit needs for when there is no signal: the elder list and each form.
  function keepForOffline() {
    if (!window.caches || !navigator.onLine) { return Promise.resolve(); }
    var urls = [location.pathname];
    document.querySelectorAll("a[data-offline-keep]").forEach(function (a) { urls.push(a.getAttribute("href")); });
    return caches.open("eldercare-pages").then(function (cache) {
      return Promise.all(urls.map(function (url) {
        return cache.match(url).then(function (kept) {
          // Each form is a logged read of the elder's record: fetched once, not on every visit.
          if (kept && url !== location.pathname) { return; }
          return fetch(url + (url === location.pathname ? "" : "?offline=1"), {credentials: "same-origin"})
            .then(function (response) {
              if (response.ok && !response.redirected) { return cache.put(url, response); }
            }, function () {});
        });
      }));
    });
  }

  // A password-reset link carries its one-time code after "#", which the browser never sends
  // to the server: put it into the form, and take it out of the address bar and history.
  function takeResetCode() {
    var field = document.querySelector("input[name=reset_token]");
    if (field && location.hash.length > 1) {
      field.value = decodeURIComponent(location.hash.slice(1));
      history.replaceState(null, "", location.pathname + location.search);
    }
  }

  window.addEventListener("online", flush);
  document.addEventListener("DOMContentLoaded", function () {
    takeResetCode();
    // A form kept from an earlier day opens offline with that day's date: today is meant.
    var day = document.querySelector("#visit-form input[name=visited_on]");
    if (day && !navigator.onLine) {
      var now = new Date();
      day.value = new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
    }
    var ready = Promise.resolve();
    if ("serviceWorker" in navigator) {
      ready = navigator.serviceWorker.register("/app/sw.js", {scope: "/app/"}).then(function () {
        return navigator.serviceWorker.ready;
      }).then(keepForOffline, function () {});
    }
    Promise.all([ready, show().then(flush)]).then(function () {
      document.body.setAttribute("data-offline-ready", "yes");
    });
  });
})();
