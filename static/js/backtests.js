/* Backtest results page: lightweight-charts (price + trade markers + plot overlays, equity vs buy & hold,
   drawdown), trade-row → chart navigation, time formatting, and loading results when a run finishes. */
(function () {
  "use strict";
  const PLOT_COLORS = ["#2563eb", "#f59e0b", "#9333ea", "#0891b2", "#db2777", "#65a30d", "#ea580c", "#475569"];
  const state = { charts: [], trades: new Map(), price: null, candles: null };

  function pad(n) { return String(n).padStart(2, "0"); }
  function formatMs(ms, timeZone) {
    const d = new Date(Number(ms));
    try {
      const parts = new Intl.DateTimeFormat("en-CA", { timeZone: timeZone || "UTC", year: "numeric", month: "2-digit",
        day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false }).formatToParts(d);
      const get = (t) => (parts.find((p) => p.type === t) || {}).value;
      return `${get("year")}-${get("month")}-${get("day")} ${get("hour") === "24" ? "00" : get("hour")}:${get("minute")}`;
    } catch (e) {
      return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
    }
  }
  function formatTimes(root) {
    const holder = document.querySelector("[data-timezone]");
    const tz = holder ? holder.dataset.timezone : "UTC";
    root.querySelectorAll(".bt-time[data-ms]").forEach((el) => {
      if (!el.dataset.ms) return;
      el.textContent = formatMs(el.dataset.ms, el.dataset.utc ? "UTC" : tz);
    });
  }

  function destroyCharts() {
    state.charts.forEach((c) => c.remove());
    state.charts = [];
    state.trades.clear();
  }

  function baseOptions(el) {
    return {
      autoSize: true,
      layout: { background: { color: "#ffffff" }, textColor: "#334155", fontSize: 11 },
      grid: { vertLines: { color: "#f1f5f9" }, horzLines: { color: "#f1f5f9" } },
      rightPriceScale: { borderColor: "#e2e8f0" },
      timeScale: { borderColor: "#e2e8f0", timeVisible: true, secondsVisible: false },
      crosshair: { mode: 0 },
      handleScroll: { vertTouchDrag: false },
    };
  }

  function lineData(times, values) {
    const out = [];
    for (let i = 0; i < times.length; i++) {
      const t = times[i], v = values[i];
      if (t === null || t === undefined) continue;
      out.push(v === null || v === undefined ? { time: t } : { time: t, value: v });
    }
    return out;
  }

  function buildCharts(root, data) {
    destroyCharts();
    if (!window.LightweightCharts) return;
    const LC = window.LightweightCharts;
    root.dataset.timezone = data.timezone;
    const priceEl = root.querySelector("#price-chart");
    const price = LC.createChart(priceEl, baseOptions(priceEl));
    const decimals = Math.max(0, Math.min(10, Math.round(-Math.log10(data.mintick || 0.01))));
    const candles = price.addCandlestickSeries({
      upColor: "#16a34a", downColor: "#dc2626", borderVisible: false, wickUpColor: "#16a34a", wickDownColor: "#dc2626",
      priceFormat: { type: "price", precision: decimals, minMove: data.mintick || 0.01 },
    });
    const c = data.candles;
    const bars = new Array(c.time.length);
    for (let i = 0; i < c.time.length; i++) bars[i] = { time: c.time[i], open: c.open[i], high: c.high[i], low: c.low[i], close: c.close[i] };
    candles.setData(bars);
    candles.setMarkers(data.markers);
    priceEl.dataset.markers = String(data.markers.length);
    priceEl.dataset.bars = String(bars.length);
    const legend = root.querySelector("#plot-legend");
    if (legend) legend.innerHTML = "";
    Object.entries(data.plots).forEach(([title, values], k) => {
      const color = PLOT_COLORS[k % PLOT_COLORS.length];
      const overlay = values.some((v) => v !== null) && isOverlay(values, c);
      const series = price.addLineSeries({ color, lineWidth: 2, title, priceLineVisible: false, lastValueVisible: false,
        priceScaleId: overlay ? "right" : "plot-" + k });
      if (!overlay) price.priceScale("plot-" + k).applyOptions({ scaleMargins: { top: 0.75, bottom: 0 } });
      series.setData(lineData(data.series_time, values));
      if (legend) {
        const span = document.createElement("span");
        span.style.setProperty("--swatch", color);
        span.textContent = title;
        legend.appendChild(span);
      }
    });
    if (legend && data.truncated_bars > 0) {
      const note = document.createElement("em");
      note.textContent = `charts show the last ${bars.length.toLocaleString()} bars (${data.truncated_bars.toLocaleString()} earlier bars omitted)`;
      legend.appendChild(note);
    }
    state.charts.push(price);
    state.price = price;
    state.candles = bars;

    const equityEl = root.querySelector("#equity-chart");
    const equity = LC.createChart(equityEl, baseOptions(equityEl));
    equity.addLineSeries({ color: "#2563eb", lineWidth: 2, title: "Equity" }).setData(lineData(data.series_time, data.equity));
    equity.addLineSeries({ color: "#94a3b8", lineWidth: 1, title: "Buy & hold" }).setData(lineData(data.series_time, data.buy_and_hold));
    state.charts.push(equity);

    const ddEl = root.querySelector("#drawdown-chart");
    const dd = LC.createChart(ddEl, baseOptions(ddEl));
    dd.addAreaSeries({ lineColor: "#dc2626", topColor: "rgba(220,38,38,0.05)", bottomColor: "rgba(220,38,38,0.4)",
      lineWidth: 1, invertFilledArea: true, priceFormat: { type: "percent" } }).setData(lineData(data.series_time, data.drawdown_pct));
    state.charts.push(dd);

    // keep the three time axes in step
    const linked = [price, equity, dd];
    linked.forEach((chart) => chart.timeScale().subscribeVisibleLogicalRangeChange(() => {
      const range = chart.timeScale().getVisibleRange();
      if (!range || state.syncing) return;
      state.syncing = true;
      linked.forEach((other) => { if (other !== chart) { try { other.timeScale().setVisibleRange(range); } catch (e) { /* no data yet */ } } });
      state.syncing = false;
    }));
    data.trades.forEach((t) => state.trades.set(String(t.number), t));
    root.dataset.chartsReady = "1";
  }

  function isOverlay(values, candles) {
    // a plot on the price scale (moving averages...) vs an oscillator (RSI...): compare with the price range
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < candles.low.length; i++) { if (candles.low[i] < lo) lo = candles.low[i]; if (candles.high[i] > hi) hi = candles.high[i]; }
    const span = hi - lo;
    const vals = values.filter((v) => v !== null);
    if (!vals.length) return true;
    const mid = vals[Math.floor(vals.length / 2)];
    return mid >= lo - span * 0.5 && mid <= hi + span * 0.5;
  }

  function focusTrade(number) {
    const trade = state.trades.get(String(number));
    if (!trade || !state.price || !state.candles) return;
    const from = trade.entry, to = trade.exit || trade.entry;
    const idx = (t) => { let lo = 0, hi = state.candles.length - 1; while (lo < hi) { const m = (lo + hi) >> 1; if (state.candles[m].time < t) lo = m + 1; else hi = m; } return lo; };
    const a = idx(from), b = idx(to);
    const margin = Math.max(20, Math.round((b - a) * 0.5));
    state.price.timeScale().setVisibleLogicalRange({ from: Math.max(0, a - margin), to: Math.min(state.candles.length - 1, b + margin) });
    document.querySelectorAll(".bt-trade.selected").forEach((r) => r.classList.remove("selected"));
    const row = document.querySelector(`.bt-trade[data-trade="${number}"]`);
    if (row) row.classList.add("selected");
    const chartEl = document.getElementById("price-chart");
    if (chartEl) { chartEl.dataset.focusedTrade = String(number); chartEl.scrollIntoView({ behavior: "smooth", block: "center" }); }
  }

  function initResults(root) {
    const holder = root.querySelector("[data-chart-url]") || (root.matches && root.matches("[data-chart-url]") ? root : null);
    if (!holder || holder.dataset.chartsRequested) return;
    holder.dataset.chartsRequested = "1";
    fetch(holder.dataset.chartUrl, { credentials: "same-origin" })
      .then((r) => r.json())
      .then((data) => { buildCharts(holder, data); formatTimes(document); })
      .catch((err) => { holder.dataset.chartError = String(err); });
  }

  function loadResultsIfFinished() {
    const results = document.getElementById("results");
    if (!results || results.querySelector("[data-results-loaded]")) return;
    if (!document.querySelector(".bt-status-box [data-finished]")) return;
    if (results.dataset.loading) return;
    results.dataset.loading = "1";
    window.htmx.ajax("GET", results.dataset.resultsUrl, { target: "#results", swap: "innerHTML" });
  }

  document.addEventListener("click", (event) => {
    const row = event.target.closest(".bt-trade");
    if (row) focusTrade(row.dataset.trade);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.classList && event.target.classList.contains("bt-trade")) focusTrade(event.target.dataset.trade);
  });
  document.addEventListener("htmx:afterSettle", (event) => {
    formatTimes(event.target);
    initResults(document);
    loadResultsIfFinished();
  });
  document.addEventListener("htmx:oobAfterSwap", () => loadResultsIfFinished());
  document.addEventListener("DOMContentLoaded", () => {
    formatTimes(document);
    initResults(document);
    loadResultsIfFinished();
  });
  window.fourpassBacktests = { focusTrade };
})();
