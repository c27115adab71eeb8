// Service worker registration, the install prompt, and Web Push subscription for this device.
(function () {
  "use strict";
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function (registration) {
      window.fourpassSW = registration;
      document.dispatchEvent(new CustomEvent("fourpass:sw-ready", { detail: registration }));
    }).catch(function (error) { console.warn("service worker registration failed", error); });
  }

  var deferredPrompt = null;
  window.addEventListener("beforeinstallprompt", function (event) {
    event.preventDefault();
    deferredPrompt = event;
    document.querySelectorAll("[data-install-app]").forEach(function (b) { b.hidden = false; });
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-install-app]");
    if (!button || !deferredPrompt) return;
    deferredPrompt.prompt();
    deferredPrompt.userChoice.finally(function () { deferredPrompt = null; button.hidden = true; });
  });

  function urlBase64ToUint8Array(base64) {
    var padding = "=".repeat((4 - (base64.length % 4)) % 4);
    var raw = atob((base64 + padding).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); });
  }

  function csrfToken() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  async function enablePush(button) {
    var key = document.querySelector("meta[name=vapid-public-key]");
    if (!key || !("PushManager" in window)) { alert("Push notifications are not supported on this device."); return; }
    var permission = await Notification.requestPermission();
    if (permission !== "granted") { button.textContent = "Notifications blocked"; return; }
    var registration = await navigator.serviceWorker.ready;
    var subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true, applicationServerKey: urlBase64ToUint8Array(key.content),
    });
    var response = await fetch("/accounts/notifications/subscriptions/", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(subscription.toJSON()),
    });
    button.textContent = response.ok ? "Notifications on" : "Could not enable notifications";
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-enable-push]");
    if (button) enablePush(button);
  });
})();
