// Trade screen: order ticket (steppers with exact decimal maths, symbol search, confirmation sheet),
// tab navigation by swipe (pointer events), keyboard and buttons, and live refreshes over the websocket.
(function () {
  "use strict";

  // ---------------------------------------------------------------- exact decimal steps (no floats)
  function decimals(text) { var i = text.indexOf("."); return i < 0 ? 0 : text.length - i - 1; }
  function clean(text) { return String(text || "").trim().replace(/,/g, ""); }
  function isDecimal(text) { return /^-?\d*\.?\d+$|^-?\d+\.?$/.test(text); }
  function toScaled(text, scale) {
    var negative = text.charAt(0) === "-";
    if (negative) text = text.slice(1);
    var parts = text.split(".");
    var fraction = (parts[1] || "").padEnd(scale, "0").slice(0, scale);
    var value = BigInt((parts[0] || "0") + fraction);
    return negative ? -value : value;
  }
  function fromScaled(value, scale) {
    var negative = value < 0n;
    if (negative) value = -value;
    var digits = value.toString().padStart(scale + 1, "0");
    var out = digits;
    if (scale > 0) {
      out = digits.slice(0, -scale) + "." + digits.slice(-scale);
      out = out.replace(/0+$/, "").replace(/\.$/, "");
    }
    return (negative ? "-" : "") + out;
  }
  // One step up or down on the grid of `step`; an off-grid value first snaps to the grid in that direction.
  function stepValue(text, step, direction, minimum) {
    text = clean(text);
    if (!isDecimal(text)) text = "0";
    var scale = Math.max(decimals(text), decimals(step), minimum ? decimals(minimum) : 0);
    var value = toScaled(text, scale), unit = toScaled(step, scale);
    if (unit <= 0n) return text;
    var floor = (value / unit) * unit;
    if (value < 0n && floor !== value) floor -= unit;
    var next;
    if (direction > 0) next = floor === value ? value + unit : floor + unit;
    else next = floor === value ? value - unit : floor;
    if (minimum) {
      var low = toScaled(minimum, scale);
      if (next < low) next = low;
    }
    return fromScaled(next, scale);
  }
  window.fourpassDecimalStep = stepValue; // exposed for tests

  function tickFor(priceText, facts) {
    var bands = [];
    try { bands = JSON.parse(facts.dataset.tickBands || "[]"); } catch (e) { bands = []; }
    var price = parseFloat(priceText);
    for (var i = 0; i < bands.length; i++) {
      if (bands[i][0] === null || (isFinite(price) && price < parseFloat(bands[i][0]))) return bands[i][1];
    }
    return facts.dataset.tick || "0.01";
  }

  // ---------------------------------------------------------------- the ticket
  function trade() { return document.querySelector("[data-trade]"); }
  function ticket() { return document.getElementById("ticket"); }
  function facts() { return document.querySelector("[data-instrument]"); }

  function onStep(button) {
    var stepper = button.closest("[data-stepper]");
    var input = stepper.querySelector("input");
    var info = facts();
    var direction = parseInt(button.dataset.step, 10);
    if (stepper.dataset.stepper === "quantity") {
      var step = info ? info.dataset.qtyStep : "1";
      var minimum = info ? info.dataset.minQty : step;
      if (!clean(input.value) && direction > 0) input.value = minimum;
      else input.value = stepValue(input.value, step, direction, minimum);
    } else {
      var current = clean(input.value) || (info && info.dataset.price) || "0";
      var tick = info ? tickFor(current, info) : "0.01";
      input.value = stepValue(current, tick, direction, tick);
    }
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function syncSide() {
    var form = ticket();
    if (!form) return;
    var side = form.querySelector("input[name=side]:checked");
    var label = form.querySelector("[data-review-side]");
    if (side && label) label.textContent = side.value;
    var limit = form.querySelector("input[name=order_type]:checked");
    var limitField = form.querySelector("[data-limit-field]");
    if (limit && limitField) {
      limitField.hidden = limit.value !== "limit";
      var price = form.querySelector("#ticket-limit");
      var info = facts();
      if (!limitField.hidden && price && !clean(price.value) && info && info.dataset.price) price.value = info.dataset.price;
    }
  }

  function instrumentLoaded() {
    var info = facts();
    var form = ticket();
    if (!info || !form) return;
    var quantity = form.querySelector("#ticket-quantity");
    if (quantity) quantity.placeholder = "min " + info.dataset.minQty;
    var help = form.querySelector("[data-quantity-help]");
    if (help) help.textContent = "Lot " + info.dataset.qtyStep + " · minimum " + info.dataset.minQty;
    var priceHelp = form.querySelector("[data-price-help]");
    if (priceHelp) priceHelp.textContent = "Tick " + info.dataset.tick + (info.dataset.price ? " · last " + info.dataset.price : "");
    syncSide();
  }

  var chosenSymbol = "";
  function chooseSymbol(symbol) {
    var input = document.getElementById("ticket-symbol");
    var results = document.getElementById("symbol-results");
    if (!input) return;
    var changed = input.value !== symbol;
    input.value = symbol;
    chosenSymbol = symbol;
    if (results) { results.hidden = true; input.setAttribute("aria-expanded", "false"); }
    if (changed) {
      var price = document.getElementById("ticket-limit");
      if (price) price.value = "";
      var quantity = document.getElementById("ticket-quantity");
      if (quantity) quantity.value = "";
    }
    var target = document.getElementById("ticket-instrument");
    if (target && window.htmx) htmx.trigger(target, "symbol-chosen");
  }

  function fillTicketToClose(button) {
    var form = ticket();
    if (!form) return;
    chooseSymbol(button.dataset.symbol);
    var side = form.querySelector("input[name=side][value=" + button.dataset.side + "]");
    if (side) side.checked = true;
    form.querySelector("#ticket-quantity").value = button.dataset.quantity;
    form.querySelector("#ticket-close").checked = true;
    syncSide();
    form.scrollIntoView({ behavior: "smooth", block: "start" });
    var review = form.querySelector("[data-review]");
    if (review) review.focus({ preventScroll: true });
  }

  // ---------------------------------------------------------------- the confirmation sheet
  var lastFocus = null;
  function sheet() { return document.getElementById("ticket-sheet"); }
  function openSheet() {
    var panel = sheet();
    if (!panel) return;
    if (panel.hidden) lastFocus = document.activeElement;
    panel.hidden = false;
    document.querySelector(".sheet-backdrop").hidden = false;
    var focus = panel.querySelector("[data-confirm]") || panel.querySelector("[data-new-order]") || panel.querySelector("h2");
    if (focus) { if (focus.tagName === "H2") focus.tabIndex = -1; focus.focus(); }
  }
  function closeSheet() {
    var panel = sheet();
    if (!panel || panel.hidden) return;
    panel.hidden = true;
    panel.innerHTML = "";
    document.querySelector(".sheet-backdrop").hidden = true;
    if (lastFocus && lastFocus.focus) lastFocus.focus();
  }

  // ---------------------------------------------------------------- tabs
  function tabs() { return Array.prototype.slice.call(document.querySelectorAll(".tabbar [role=tab]")); }
  function currentTabIndex() {
    var list = tabs();
    for (var i = 0; i < list.length; i++) if (list[i].getAttribute("aria-selected") === "true") return i;
    return 0;
  }
  function selectTab(name) {
    tabs().forEach(function (tab) {
      var active = tab.dataset.tab === name;
      tab.setAttribute("aria-selected", active ? "true" : "false");
      tab.tabIndex = active ? 0 : -1;
      if (active) document.getElementById("tab-panel").setAttribute("aria-labelledby", tab.id);
    });
  }
  function activate(index, direction) {
    var list = tabs();
    if (index < 0 || index >= list.length) return false;
    var panel = document.getElementById("tab-panel");
    panel.dataset.enterFrom = direction > 0 ? "right" : direction < 0 ? "left" : "";
    selectTab(list[index].dataset.tab);
    list[index].click();
    return true;
  }
  function onTabKey(event) {
    var list = tabs();
    var index = list.indexOf(event.target);
    if (index < 0) return;
    var next = null;
    if (event.key === "ArrowRight") next = (index + 1) % list.length;
    else if (event.key === "ArrowLeft") next = (index - 1 + list.length) % list.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = list.length - 1;
    if (next === null) return;
    event.preventDefault();
    list[next].focus();
    activate(next, next > index ? 1 : -1);
  }

  // Swipe: horizontal drags on the panel (touch or pen) switch tabs past a distance or a flick velocity.
  var SWIPE_DISTANCE = 0.3; // of the panel width
  var FLICK_VELOCITY = 0.3; // px per ms
  var FLICK_MIN_DISTANCE = 30;
  var drag = null;
  function onPointerDown(event) {
    if (event.pointerType === "mouse" || !event.isPrimary) return;
    if (event.target.closest("input, select, textarea, [data-no-swipe]")) return;
    var now = performance.now();
    drag = { id: event.pointerId, x: event.clientX, y: event.clientY, t: now, axis: null,
             samples: [{ x: event.clientX, t: now }] };
  }
  function onPointerMove(event) {
    if (!drag || event.pointerId !== drag.id) return;
    var dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (drag.axis === null && (Math.abs(dx) > 8 || Math.abs(dy) > 8)) drag.axis = Math.abs(dx) > Math.abs(dy) * 1.2 ? "x" : "y";
    if (drag.axis !== "x") return;
    var panel = event.currentTarget;
    panel.classList.add("dragging");
    var index = currentTabIndex(), last = tabs().length - 1;
    var resist = (dx > 0 && index === 0) || (dx < 0 && index === last) ? 0.25 : 0.6;
    panel.style.transform = "translateX(" + dx * resist + "px)";
    drag.samples.push({ x: event.clientX, t: performance.now() });
    if (drag.samples.length > 6) drag.samples.shift();
  }
  function onPointerUp(event) {
    if (!drag || event.pointerId !== drag.id) return;
    var panel = event.currentTarget;
    var state = drag;
    drag = null;
    panel.classList.remove("dragging");
    panel.classList.add("settling");
    panel.style.transform = "";
    setTimeout(function () { panel.classList.remove("settling"); }, 200);
    if (state.axis !== "x" || event.type === "pointercancel") return;
    var dx = event.clientX - state.x;
    // velocity over the last ~100 ms of movement (pointermoves may be coalesced, so keep at least two
    // samples); a finger that rested before lifting made no flick
    var end = state.samples[state.samples.length - 1];
    var recent = state.samples.filter(function (s) { return end.t - s.t <= 100; });
    var first = recent.length > 1 ? recent[0] : state.samples[0];
    var velocity = (end.x - first.x) / Math.max(1, end.t - first.t);
    if (performance.now() - end.t > 120) velocity = 0;
    var far = Math.abs(dx) > panel.clientWidth * SWIPE_DISTANCE;
    var flick = Math.abs(dx) > FLICK_MIN_DISTANCE && Math.abs(velocity) > FLICK_VELOCITY && (velocity < 0) === (dx < 0);
    if (!far && !flick) return;
    var index = currentTabIndex();
    activate(dx < 0 ? index + 1 : index - 1, dx < 0 ? 1 : -1);
  }

  // ---------------------------------------------------------------- live refresh
  var refreshTimer = null;
  function refreshLiveParts() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      var root = trade();
      if (!root || !window.htmx) return;
      var list = tabs(), active = list[currentTabIndex()];
      if (active && active.dataset.tab === "positions") {
        htmx.ajax("GET", active.getAttribute("href"), { target: "#tab-panel", swap: "innerHTML" });
      }
      var instrument = document.getElementById("ticket-instrument");
      if (instrument && document.getElementById("ticket-symbol") && document.getElementById("ticket-symbol").value) {
        htmx.trigger(instrument, "trade:refresh");
      }
    }, 350);
  }

  // ---------------------------------------------------------------- wiring
  function init() {
    var root = trade();
    if (!root) return;
    var panel = document.getElementById("tab-panel");
    panel.addEventListener("pointerdown", onPointerDown);
    panel.addEventListener("pointermove", onPointerMove);
    panel.addEventListener("pointerup", onPointerUp);
    panel.addEventListener("pointercancel", onPointerUp);
    var tablist = document.querySelector(".tabbar");
    if (tablist) tablist.addEventListener("keydown", onTabKey);
    var account = document.querySelector("[data-account-select]");
    if (account) account.addEventListener("change", function () {
      var url = new URL(window.location.href);
      url.searchParams.set("account", account.value);
      window.location.assign(url.toString());
    });
    var symbol = document.getElementById("ticket-symbol");
    if (symbol) chosenSymbol = symbol.value.trim().toUpperCase();
    syncSide();
  }

  document.addEventListener("click", function (event) {
    var step = event.target.closest("[data-stepper] .step");
    if (step) { onStep(step); return; }
    var option = event.target.closest(".symbol-option");
    if (option) { chooseSymbol(option.dataset.symbol); return; }
    var close = event.target.closest("[data-close-position]");
    if (close) { fillTicketToClose(close); return; }
    if (event.target.closest("[data-sheet-close]")) { closeSheet(); return; }
    var tab = event.target.closest(".tabbar [role=tab]");
    if (tab) selectTab(tab.dataset.tab);
    var results = document.getElementById("symbol-results");
    if (results && !event.target.closest(".symbol-field")) results.hidden = true;
  });
  document.addEventListener("change", function (event) {
    if (event.target.closest("#ticket input[name=side], #ticket input[name=order_type]")) syncSide();
    if (event.target.id === "ticket-symbol") {
      var typed = event.target.value.trim().toUpperCase();
      // a typed full ticker (EXCHANGE:SYMBOL) is taken as is; a fragment waits for a pick from the list
      if (typed.indexOf(":") > 0 && typed !== chosenSymbol) chooseSymbol(typed);
    }
  });
  document.addEventListener("keydown", function (event) {
    // arrow keys move between the symbol input and its suggestions
    var inField = event.target.closest && event.target.closest(".symbol-field");
    if (inField && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      var options = Array.prototype.slice.call(document.querySelectorAll("#symbol-results:not([hidden]) .symbol-option"));
      if (options.length) {
        event.preventDefault();
        var at = options.indexOf(event.target);
        var next = event.key === "ArrowDown" ? Math.min(at + 1, options.length - 1) : at - 1;
        if (next < 0) document.getElementById("ticket-symbol").focus();
        else options[next].focus();
        return;
      }
    }
    if (event.key === "Escape") {
      closeSheet();
      var results = document.getElementById("symbol-results");
      if (results) results.hidden = true;
    }
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt && event.detail.elt.id === "ticket") {
      var feedback = document.getElementById("ticket-feedback");
      if (feedback) feedback.innerHTML = "";
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target) return;
    if (target.id === "ticket-sheet") openSheet();
    else if (target.id === "ticket-instrument") instrumentLoaded();
    else if (target.id === "symbol-results") {
      var input = document.getElementById("ticket-symbol");
      target.hidden = document.activeElement !== input || !target.querySelector("li") ||
        (input && input.value.trim().toUpperCase() === chosenSymbol);
      if (input) input.setAttribute("aria-expanded", target.hidden ? "false" : "true");
    } else if (target.id === "tab-panel") {
      var content = target.querySelector(".tab-content");
      if (content) selectTab(content.dataset.tab);
      var from = target.dataset.enterFrom;
      if (from) {
        target.classList.remove("settling");
        target.style.transform = "translateX(" + (from === "right" ? "24px" : "-24px") + ")";
        target.style.opacity = "0.4";
        requestAnimationFrame(function () {
          target.classList.add("settling");
          target.style.transform = "";
          target.style.opacity = "";
        });
        target.dataset.enterFrom = "";
      }
    }
  });
  document.addEventListener("htmx:historyRestore", function () {
    var content = document.querySelector("#tab-panel .tab-content");
    if (content) selectTab(content.dataset.tab);
  });
  document.addEventListener("htmx:wsOpen", function () { document.documentElement.dataset.live = "open"; });
  document.addEventListener("htmx:wsClose", function () { document.documentElement.dataset.live = "closed"; });
  document.addEventListener("htmx:wsAfterMessage", refreshLiveParts);

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
