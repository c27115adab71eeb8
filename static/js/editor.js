// Strategy code editor: CodeMirror + live compile (debounced) -> inline diagnostics, inputs and plots panels.
// Shared helpers (inputs panel, CSRF) are exposed as window.StrategyEditorKit for the builder page.
(function () {
  "use strict";

  function csrfToken() {
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (field) return field.value;
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  // ── Inputs panel: one control per input.* of the script; values the user changes are kept across recompiles ──
  const PRICE_SOURCES = ["close", "open", "high", "low", "hl2", "hlc3", "ohlc4", "hlcc4", "volume"];
  const EDITABLE = new Set(["int", "float", "bool", "string", "price", "enum", "source", "session", "timeframe", "symbol", "text_area"]);

  function createInputsPanel(container) {
    const overrides = {};
    let specs = [];

    function keyOf(spec) { return spec.name || spec.title || null; }

    function control(spec, key) {
      const id = `input-${key}`.replace(/[^A-Za-z0-9_-]/g, "_");
      const current = key in overrides ? overrides[key] : spec.defval;
      const label = spec.title || spec.name;
      const set = (value) => {
        if (value === spec.defval || (value === "" && spec.kind !== "string")) delete overrides[key];
        else overrides[key] = value;
        row.classList.toggle("changed", key in overrides);
      };
      let input;
      if (spec.kind === "bool") {
        input = el("input", { type: "checkbox", id, "data-input": key, checked: !!current,
          onchange: (e) => set(e.target.checked) });
        var row = el("div", { class: "input-row check" }, el("label", { for: id, text: label }), input);
      } else {
        if (spec.options && spec.options.length) {
          input = el("select", { id, "data-input": key, onchange: (e) => set(castValue(spec, e.target.value)) },
            ...spec.options.map((o) => el("option", { value: String(o), text: String(o), selected: String(o) === String(current) })));
        } else if (spec.kind === "source") {
          input = el("select", { id, "data-input": key, onchange: (e) => set(e.target.value) },
            ...PRICE_SOURCES.map((o) => el("option", { value: o, text: o, selected: o === String(current) })));
        } else if (spec.kind === "int" || spec.kind === "float" || spec.kind === "price") {
          input = el("input", { type: "number", id, "data-input": key, inputmode: "decimal",
            value: current === null || current === undefined ? "" : String(current),
            min: spec.minval, max: spec.maxval, step: spec.step || (spec.kind === "int" ? 1 : "any"),
            oninput: (e) => set(e.target.value === "" ? "" : castValue(spec, e.target.value)) });
        } else {
          input = el("input", { type: "text", id, "data-input": key, value: current === null ? "" : String(current),
            oninput: (e) => set(e.target.value) });
        }
        var row = el("div", { class: "input-row" }, el("label", { for: id, text: label }), input);
      }
      if (spec.tooltip) row.title = spec.tooltip;
      row.classList.toggle("changed", key in overrides);
      return row;
    }

    function castValue(spec, raw) {
      if (spec.kind === "int") return Number.isInteger(Number(raw)) ? Number(raw) : raw;
      if (spec.kind === "float" || spec.kind === "price") return Number(raw);
      return raw;
    }

    return {
      render(inputs) {
        specs = (inputs || []).filter((s) => EDITABLE.has(s.kind) && keyOf(s));
        const known = new Set(specs.map(keyOf));
        for (const key of Object.keys(overrides)) if (!known.has(key)) delete overrides[key];
        container.replaceChildren();
        if (!specs.length) { container.append(el("p", { class: "muted small", text: "No inputs." })); return; }
        let group = undefined;
        let box = container;
        for (const spec of specs) {
          if ((spec.group || null) !== group) {
            group = spec.group || null;
            box = el("fieldset", { class: "input-group" }, group ? el("legend", { text: group }) : null);
            container.append(box);
          }
          box.append(control(spec, keyOf(spec)));
        }
      },
      values() { return { ...overrides }; },
    };
  }

  function renderPlots(list, plots) {
    list.replaceChildren();
    if (!plots || !plots.length) { list.append(el("li", { class: "muted small", text: "No plots." })); return; }
    for (const p of plots) list.append(el("li", {}, el("span", { class: "plot-kind", text: p.kind }), ` ${p.title || "(untitled)"}`,
      el("span", { class: "muted small", text: ` line ${p.line}` })));
  }

  function bindBacktestForm(inputsPanel) {
    const form = document.getElementById("backtest-form");
    if (!form) return;
    const symbol = document.getElementById("bt-symbol");
    const timeframe = document.getElementById("bt-timeframe");
    if (symbol && timeframe) {
      symbol.addEventListener("change", () => {
        const option = symbol.selectedOptions[0];
        if (option && option.dataset.timeframe) timeframe.value = option.dataset.timeframe;
      });
    }
    form.addEventListener("submit", () => {
      document.getElementById("backtest-inputs").value = JSON.stringify(inputsPanel.values());
    });
    // Deploy on the series chosen for the backtest, with the inputs panel's values (the deployment form
    // preselects both); the inputs may change at any time, so the link is brought up to date on click too.
    const deploy = document.getElementById("deploy-link");
    if (deploy) {
      const base = deploy.getAttribute("href");
      const update = () => {
        const params = new URLSearchParams();
        const option = symbol && symbol.selectedOptions[0];
        if (option && option.dataset.series) params.set("series", option.dataset.series);
        const overrides = inputsPanel.values();
        if (Object.keys(overrides).length) params.set("inputs", JSON.stringify(overrides));
        const query = params.toString();
        deploy.setAttribute("href", query ? `${base}&${query}` : base);
      };
      if (symbol) symbol.addEventListener("change", update);
      deploy.addEventListener("click", update);
      update();
    }
  }

  // Leaving the page with unsaved changes asks first; saving (a form submit) does not.
  let dirtyNow = false;
  let submitting = false;
  window.addEventListener("beforeunload", (event) => {
    if (dirtyNow && !submitting) { event.preventDefault(); event.returnValue = ""; }
  });
  document.addEventListener("submit", () => { submitting = true; }, true);

  function setDirty(dirty) {
    dirtyNow = dirty;
    const notice = document.getElementById("unsaved-notice");
    const button = document.getElementById("backtest-button");
    if (notice) notice.hidden = !dirty;
    if (button) button.disabled = dirty || button.dataset.noData === "1";
    const deploy = document.getElementById("deploy-link");
    if (deploy) deploy.classList.toggle("disabled", dirty);
  }

  window.StrategyEditorKit = { csrfToken, el, createInputsPanel, renderPlots, bindBacktestForm, setDirty };

  function initCodeEditor() {
    const mount = document.getElementById("editor");
    const textarea = document.getElementById("source");
    if (!mount || !textarea || !window.PineEditor) return;
    const saved = textarea.value;
    const statusLine = document.getElementById("compile-status");
    const list = document.getElementById("diagnostics");
    const inputsPanel = createInputsPanel(document.getElementById("inputs-panel"));
    const plotsList = document.getElementById("plots-panel");
    const backtestButton = document.getElementById("backtest-button");
    if (backtestButton && backtestButton.disabled) backtestButton.dataset.noData = "1";
    let timer = null;
    let sequence = 0;
    let editor = null;

    function show(result) {
      const diagnostics = result.diagnostics || [];
      editor.setDiagnostics(diagnostics);
      list.replaceChildren();
      for (const d of diagnostics) {
        list.append(el("li", { class: `diagnostic ${d.severity}`, "data-line": d.line },
          el("button", { type: "button", class: "linkish", text: `Line ${d.line}:${d.col}`,
            onclick: () => editor.goToLine(d.line, d.col) }),
          ` ${d.severity}: ${d.message}`));
      }
      const errors = diagnostics.filter((d) => d.severity === "error").length;
      const warnings = diagnostics.length - errors;
      statusLine.className = errors ? "status-bad" : "status-ok";
      statusLine.textContent = errors ? `${errors} error${errors > 1 ? "s" : ""}${warnings ? `, ${warnings} warning${warnings > 1 ? "s" : ""}` : ""}`
        : (warnings ? `Compiles, ${warnings} warning${warnings > 1 ? "s" : ""}` : "Compiles without problems");
      document.getElementById("save-button").disabled = errors > 0;
      if (result.inputs) inputsPanel.render(result.inputs);
      if (result.plots) renderPlots(plotsList, result.plots);
    }

    async function compileNow() {
      const mine = ++sequence;
      statusLine.className = "muted";
      statusLine.textContent = "Checking…";
      const body = new URLSearchParams({ source: editor.getValue() });
      try {
        const response = await fetch(mount.dataset.compileUrl, {
          method: "POST", body, credentials: "same-origin",
          headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
        });
        const result = await response.json();
        if (mine === sequence) show(result);
      } catch (error) {
        if (mine === sequence) { statusLine.className = "status-bad"; statusLine.textContent = "Could not check the script (offline?)"; }
      }
    }

    editor = window.PineEditor.create(mount, {
      doc: textarea.value,
      onChange(text) {
        textarea.value = text;
        setDirty(text !== saved);
        clearTimeout(timer);
        timer = setTimeout(compileNow, 400);
      },
    });
    textarea.hidden = true;
    mount.classList.add("mounted");
    if (mount.dataset.completionsUrl && editor.setCompletions) {
      fetch(mount.dataset.completionsUrl, { credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : { completions: [] }))
        .then((data) => { editor.setCompletions(data.completions); mount.dataset.completions = "ready"; })
        .catch(() => {});  // completion is a convenience; the editor works without it
    }
    window.strategyEditor = editor;
    const initial = JSON.parse(document.getElementById("compile-initial").textContent);
    show(initial);
    bindBacktestForm(inputsPanel);
    // A refused save re-renders this page with the user's unsaved text: it differs from the stored version.
    setDirty(!!document.getElementById("save-errors"));
    const saveForm = document.getElementById("save-form");
    saveForm.addEventListener("submit", () => { textarea.value = editor.getValue(); });
    // Ctrl/Cmd+S saves a version instead of saving the web page.
    document.addEventListener("keydown", (event) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
        event.preventDefault();
        if (!document.getElementById("save-button").disabled) saveForm.requestSubmit();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", initCodeEditor);
})();
