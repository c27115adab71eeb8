// Visual strategy builder: renders the blocks from the state JSON, keeps the state in sync with the form
// controls, and shows the generated Pine (server-side generator, debounced) beside the blocks.
(function () {
  "use strict";

  const RULE_KEYS = ["long_entry", "long_exit", "short_entry", "short_exit"];
  const TWO_SIDED = new Set(["crosses_above", "crosses_below", "greater_than", "less_than"]);

  function initBuilder() {
    const app = document.getElementById("builder-app");
    if (!app || !window.StrategyEditorKit) return;
    const { el, csrfToken, createInputsPanel, bindBacktestForm, setDirty } = window.StrategyEditorKit;
    const catalogue = JSON.parse(document.getElementById("builder-catalogue").textContent);
    let state = JSON.parse(document.getElementById("builder-initial").textContent);
    const savedJson = JSON.stringify(state);
    const stateField = document.getElementById("builder-state");
    const statusLine = document.getElementById("builder-status");
    const errorList = document.getElementById("builder-errors");
    const inputsPanel = createInputsPanel(document.getElementById("inputs-panel"));
    const saveButton = document.getElementById("builder-save");
    const code = window.PineEditor
      ? window.PineEditor.create(document.getElementById("generated-code"), {
        doc: JSON.parse(document.getElementById("builder-source").textContent), readOnly: true })
      : null;
    let timer = null;
    let sequence = 0;

    // ── small form helpers ──
    function numberField(label, value, onValue, attrs = {}) {
      const input = el("input", { type: "number", step: attrs.step || "any", min: attrs.min, max: attrs.max,
        inputmode: "decimal", value: value === undefined || value === null ? "" : String(value),
        "data-field": attrs.field || label,
        // empty stays null so the schema names the missing value instead of silently using 0
        oninput: (e) => { onValue(e.target.value === "" ? null : Number(e.target.value)); changed(); } });
      return el("label", {}, label, input);
    }
    function selectField(label, value, options, onValue, attrs = {}) {
      const select = el("select", { "data-field": attrs.field || label, onchange: (e) => {
        onValue(e.target.value); changed(attrs.structural); } },
      ...options.map(([v, text]) => el("option", { value: v, text, selected: String(v) === String(value) })));
      return label ? el("label", {}, label, select) : select;
    }
    function textField(label, value, onValue, attrs = {}) {
      const input = el("input", { type: "text", value: value || "", maxlength: attrs.maxlength, placeholder: attrs.placeholder,
        "data-field": attrs.field || label, oninput: (e) => { onValue(e.target.value); changed(attrs.structural); },
        // a renamed indicator shows up in the operand pickers once the field is left
        onchange: attrs.rerenderOnLeave ? () => render() : null });
      return el("label", {}, label, input);
    }
    function removeButton(label, onRemove) {
      return el("button", { type: "button", class: "remove", "aria-label": label, text: "✕",
        onclick: () => { onRemove(); changed(true); } });
    }

    // ── defaults for new blocks ──
    function newIndicator(type) {
      const spec = catalogue.indicators[type];
      const taken = new Set(state.indicators.map((i) => i.id));
      let n = 1;
      const base = type === "bollinger" ? "bb" : type === "stochastic" ? "stoch" : type;
      let id = base;
      while (taken.has(id)) id = `${base}${++n}`;
      const ind = { id, type };
      if (spec.source) ind.source = "close";
      for (const p of spec.params) ind[p.name] = p.default;
      return ind;
    }
    function defaultOperand() {
      return state.indicators.length ? { kind: "indicator", ref: state.indicators[0].id } : { kind: "price", field: "close" };
    }
    function newCondition(type) {
      if (TWO_SIDED.has(type)) return { type, left: defaultOperand(), right: { kind: "price", field: "close" } };
      if (type === "within_range") return { type, value: defaultOperand(), low: { kind: "constant", value: 30 }, high: { kind: "constant", value: 70 } };
      return { type, value: defaultOperand(), bars: 3 };
    }

    // ── renderers ──
    function renderSettings() {
      const commission = state.commission || null;
      const sizing = state.sizing || null;
      const session = state.session || null;
      const box = el("section", { class: "card", "aria-labelledby": "settings-title" }, el("h2", { id: "settings-title", text: "Strategy" }));
      box.append(el("div", { class: "block-fields" },
        textField("Title", state.title, (v) => { state.title = v; }, { maxlength: 80, field: "title" }),
        numberField("Initial capital", state.initial_capital ?? 10000, (v) => { state.initial_capital = v; }, { min: 1, field: "initial_capital" }),
        numberField("Pyramiding", state.pyramiding ?? 0, (v) => { state.pyramiding = v; }, { min: 0, max: 100, step: 1, integer: true, field: "pyramiding" })));
      const sizingRow = el("div", { class: "block-fields" },
        selectField("Position size", sizing ? sizing.type : "", [["", "Default (1 contract)"], ["fixed", "Fixed quantity"],
          ["percent_of_equity", "% of equity"], ["cash", "Cash amount"]],
        (v) => { state.sizing = v ? { type: v, value: v === "percent_of_equity" ? 10 : v === "cash" ? 1000 : 1 } : null; },
        { structural: true, field: "sizing_type" }));
      if (sizing) sizingRow.append(numberField(sizing.type === "percent_of_equity" ? "% of equity" : sizing.type === "cash" ? "Cash per order" : "Quantity",
        sizing.value, (v) => { state.sizing.value = v; }, { min: 0, field: "sizing_value" }));
      const commissionRow = el("div", { class: "block-fields" },
        selectField("Commission", commission ? commission.type : "", [["", "None"], ["percent", "% of order value"],
          ["cash_per_contract", "Cash per contract"], ["cash_per_order", "Cash per order"]],
        (v) => { state.commission = v ? { type: v, value: v === "percent" ? 0.1 : 1 } : null; if (!v) delete state.commission; },
        { structural: true, field: "commission_type" }));
      if (commission) commissionRow.append(numberField("Commission value", commission.value, (v) => { state.commission.value = v; }, { min: 0, field: "commission_value" }));
      const sessionToggle = el("input", { type: "checkbox", checked: !!session, "data-field": "session_enabled",
        onchange: (e) => { state.session = e.target.checked ? { session: "0930-1600", timezone: "exchange", close_outside: false } : null; changed(true); } });
      const sessionRow = el("div", { class: "block-fields" }, el("label", { class: "check" }, sessionToggle, "Trade only inside a session"));
      if (session) {
        sessionRow.append(textField("Session (HHMM-HHMM)", session.session, (v) => { state.session.session = v; }, { placeholder: "0930-1600", field: "session" }),
          textField("Time zone", session.timezone || "exchange", (v) => { state.session.timezone = v; }, { placeholder: "America/New_York", field: "timezone" }),
          el("label", { class: "check" }, el("input", { type: "checkbox", checked: !!session.close_outside,
            onchange: (e) => { state.session.close_outside = e.target.checked; changed(); } }), "Close positions outside it"));
      }
      box.append(sizingRow, commissionRow, sessionRow);
      return box;
    }

    function renderIndicators() {
      const box = el("section", { class: "card", "aria-labelledby": "indicators-title" }, el("h2", { id: "indicators-title", text: "Indicators" }));
      state.indicators.forEach((ind, index) => {
        const spec = catalogue.indicators[ind.type];
        const block = el("div", { class: "block indicator", "data-indicator": ind.id });
        block.append(el("div", { class: "block-head" }, el("strong", { text: spec.label }),
          removeButton(`Remove indicator ${ind.id}`, () => { state.indicators.splice(index, 1); })));
        const fields = el("div", { class: "block-fields" },
          textField("Name", ind.id, (v) => { renameIndicator(ind, v); }, { maxlength: 24, field: "id", rerenderOnLeave: true }));
        if (spec.source) fields.append(selectField("Source", ind.source || "close", catalogue.price_fields.map((f) => [f, f]),
          (v) => { ind.source = v; }, { field: "source" }));
        for (const p of spec.params) fields.append(numberField(p.label, ind[p.name], (v) => { ind[p.name] = v; },
          { min: p.min, max: p.max, step: p.kind === "int" ? 1 : "any", integer: p.kind === "int", field: p.name }));
        block.append(fields);
        box.append(block);
      });
      const picker = selectField(null, "ema", Object.entries(catalogue.indicators).map(([k, v]) => [k, `${v.label} (${v.group})`]), () => {}, { field: "new_indicator" });
      picker.id = "new-indicator-type";
      picker.setAttribute("aria-label", "Indicator to add");
      box.append(el("div", { class: "add-row" }, picker, el("button", { type: "button", id: "add-indicator", text: "Add indicator",
        onclick: () => { state.indicators.push(newIndicator(picker.value)); changed(true); } })));
      return box;
    }

    function renameIndicator(ind, newId) {
      const old = ind.id;
      ind.id = newId;
      walkOperands((operand) => { if (operand.kind === "indicator" && operand.ref === old) operand.ref = newId; });
    }

    function walkOperands(fn) {
      const visit = (group) => {
        for (const c of group.conditions) {
          if (c.type === "group") { visit(c); continue; }
          for (const key of ["left", "right", "value", "low", "high"]) if (c[key] && typeof c[key] === "object") fn(c[key]);
        }
      };
      for (const key of RULE_KEYS) if (state.rules[key]) visit(state.rules[key]);
    }

    function renderOperand(operand, setOperand, label) {
      const box = el("div", { class: "operand", role: "group", "aria-label": label });
      box.append(selectField(null, operand.kind, [["indicator", "Indicator"], ["price", "Price"], ["constant", "Value"]], (v) => {
        if (v === "indicator") setOperand(defaultOperand().kind === "indicator" ? defaultOperand() : { kind: "indicator", ref: "" });
        else if (v === "price") setOperand({ kind: "price", field: "close" });
        else setOperand({ kind: "constant", value: 0 });
      }, { structural: true, field: "kind" }));
      if (operand.kind === "indicator") {
        const options = state.indicators.map((i) => [i.id, i.id]);
        if (!options.some(([v]) => v === operand.ref)) options.unshift([operand.ref, operand.ref ? `${operand.ref} (missing)` : "—"]);
        box.append(selectField(null, operand.ref, options, (v) => { operand.ref = v; delete operand.output; }, { structural: true, field: "ref" }));
        const ind = state.indicators.find((i) => i.id === operand.ref);
        if (ind) {
          const outputs = Object.entries(catalogue.indicators[ind.type].outputs);
          if (outputs.length > 1) box.append(selectField(null, operand.output || "value", outputs.map(([k, v]) => [k, v.label]),
            (v) => { if (v === "value") delete operand.output; else operand.output = v; }, { field: "output" }));
        }
      } else if (operand.kind === "price") {
        box.append(selectField(null, operand.field, catalogue.price_fields.map((f) => [f, f]), (v) => { operand.field = v; }, { field: "field" }));
      } else {
        const input = el("input", { type: "number", step: "any", inputmode: "decimal", value: String(operand.value), "aria-label": `${label} value`,
          "data-field": "value", oninput: (e) => { operand.value = e.target.value === "" ? null : Number(e.target.value); changed(); } });
        box.append(input);
      }
      return box;
    }

    function renderCondition(cond, parent, index, path) {
      if (cond.type === "group") return renderGroup(cond, parent, index, path);
      const block = el("div", { class: "block condition", "data-path": path });
      const typeSelect = selectField(null, cond.type, Object.entries(catalogue.conditions).map(([k, v]) => [k, v.label]), (v) => {
        const fresh = newCondition(v);
        const first = cond.left || cond.value;
        if (first) { if (fresh.left) fresh.left = first; else fresh.value = first; }
        if (cond.right && fresh.right) fresh.right = cond.right;
        parent.conditions[index] = fresh;
      }, { structural: true, field: "condition_type" });
      typeSelect.setAttribute("aria-label", "Condition");
      block.append(el("div", { class: "block-head" }, el("span", { class: "muted small", text: "Condition" }),
        removeButton("Remove condition", () => { parent.conditions.splice(index, 1); })));
      const fields = el("div", { class: "block-fields" });
      if (TWO_SIDED.has(cond.type)) {
        fields.append(renderOperand(cond.left, (o) => { cond.left = o; }, "Left"), typeSelect, renderOperand(cond.right, (o) => { cond.right = o; }, "Right"));
      } else if (cond.type === "within_range") {
        fields.append(renderOperand(cond.value, (o) => { cond.value = o; }, "Value"), typeSelect,
          renderOperand(cond.low, (o) => { cond.low = o; }, "Low"), renderOperand(cond.high, (o) => { cond.high = o; }, "High"));
      } else {
        fields.append(renderOperand(cond.value, (o) => { cond.value = o; }, "Value"), typeSelect,
          numberField("Bars", cond.bars, (v) => { cond.bars = v; }, { min: 1, max: 500, step: 1, integer: true, field: "bars" }));
      }
      block.append(fields);
      return block;
    }

    function renderGroup(group, parent, index, path) {
      const block = el("div", { class: "block group", "data-path": path });
      const head = el("div", { class: "block-head" }, el("span", { class: "op-label", text: "Match" }),
        selectField(null, group.op, [["and", "ALL of (AND)"], ["or", "ANY of (OR)"]], (v) => { group.op = v; }, { field: "op" }));
      if (parent) head.append(removeButton("Remove group", () => { parent.conditions.splice(index, 1); }));
      block.append(head);
      group.conditions.forEach((c, i) => block.append(renderCondition(c, group, i, `${path}.${i}`)));
      const picker = selectField(null, "crosses_above", Object.entries(catalogue.conditions).map(([k, v]) => [k, v.label]), () => {}, { field: "new_condition" });
      picker.setAttribute("aria-label", "Condition to add");
      block.append(el("div", { class: "add-row" }, picker,
        el("button", { type: "button", class: "add-condition", text: "Add condition",
          onclick: () => { group.conditions.push(newCondition(picker.value)); changed(true); } }),
        el("button", { type: "button", class: "add-group", text: "Add group",
          onclick: () => { group.conditions.push({ type: "group", op: group.op === "and" ? "or" : "and", conditions: [newCondition("greater_than")] }); changed(true); } })));
      return block;
    }

    function renderRules() {
      const wrap = el("div", {});
      for (const rule of catalogue.rules) {
        const group = state.rules[rule.key];
        const toggle = el("input", { type: "checkbox", checked: !!group, "data-rule-toggle": rule.key,
          onchange: (e) => { state.rules[rule.key] = e.target.checked ? { op: "and", conditions: [newCondition("crosses_above")] } : null; changed(true); } });
        const card = el("section", { class: "card rule-card", "data-rule": rule.key },
          el("h3", {}, el("label", { class: "check" }, toggle, rule.label)));
        if (group) card.append(renderGroup(group, null, 0, rule.key));
        wrap.append(card);
      }
      return wrap;
    }

    function renderRisk() {
      state.risk = state.risk || {};
      const risk = state.risk;
      const box = el("section", { class: "card", "aria-labelledby": "risk-title" }, el("h2", { id: "risk-title", text: "Risk" }));
      const distance = (key, label) => {
        const value = risk[key] || null;
        const row = el("div", { class: "block-fields" }, selectField(label, value ? value.type : "", [["", "None"], ["percent", "% of price"], ["atr", "× ATR"]],
          (v) => { risk[key] = v ? { type: v, value: v === "atr" ? 2 : key === "take_profit" ? 4 : 2 } : null; }, { structural: true, field: `${key}_type` }));
        if (value) row.append(numberField(value.type === "atr" ? `${label} (× ATR)` : `${label} %`, value.value, (v) => { value.value = v; }, { min: 0, field: `${key}_value` }));
        return row;
      };
      box.append(distance("stop_loss", "Stop loss"), distance("take_profit", "Take profit"));
      const trail = risk.trailing_stop || null;
      const trailRow = el("div", { class: "block-fields" }, selectField("Trailing stop", trail ? trail.type : "", [["", "None"], ["percent", "% of price"], ["atr", "× ATR"]],
        (v) => { risk.trailing_stop = v ? { type: v, activation: 0, offset: v === "atr" ? 2 : 1 } : null; }, { structural: true, field: "trailing_type" }));
      if (trail) trailRow.append(numberField("Activate after", trail.activation ?? 0, (v) => { trail.activation = v; }, { min: 0, field: "trailing_activation" }),
        numberField("Trail by", trail.offset, (v) => { trail.offset = v; }, { min: 0, field: "trailing_offset" }));
      box.append(trailRow);
      if ([risk.stop_loss, risk.take_profit, risk.trailing_stop].some((x) => x && x.type === "atr"))
        box.append(el("div", { class: "block-fields" }, numberField("ATR length", risk.atr_length ?? 14, (v) => { risk.atr_length = v; }, { min: 1, step: 1, integer: true, field: "atr_length" })));
      return box;
    }

    function render() {
      state.indicators = state.indicators || [];
      state.rules = state.rules || {};
      app.replaceChildren(renderSettings(), renderIndicators(), renderRules(), renderRisk());
    }

    // ── live preview ──
    function changed(structural) {
      stateField.value = JSON.stringify(state);
      setDirty(stateField.value !== savedJson);
      if (structural) render();
      clearTimeout(timer);
      timer = setTimeout(preview, 300);
    }

    function showErrors(errors) {
      errorList.replaceChildren(...errors.map((e) => el("li", { text: e })));
    }

    async function preview() {
      const mine = ++sequence;
      statusLine.className = "muted";
      statusLine.textContent = "Generating…";
      try {
        const response = await fetch(app.dataset.previewUrl, {
          method: "POST", credentials: "same-origin", body: new URLSearchParams({ state: JSON.stringify(state) }),
          headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
        });
        const result = await response.json();
        if (mine !== sequence) return;
        const compileErrors = (result.diagnostics || []).filter((d) => d.severity === "error").map((d) => `Line ${d.line}: ${d.message}`);
        const errors = [...(result.errors || []), ...compileErrors];
        showErrors(errors);
        saveButton.disabled = errors.length > 0;
        statusLine.className = errors.length ? "status-bad" : "status-ok";
        statusLine.textContent = errors.length ? `${errors.length} problem${errors.length > 1 ? "s" : ""}` : "Generated Pine compiles";
        if (result.source !== undefined && code) code.setValue(result.source);
        if (result.inputs) inputsPanel.render(result.inputs);
      } catch (error) {
        if (mine === sequence) { statusLine.className = "status-bad"; statusLine.textContent = "Could not generate (offline?)"; }
      }
    }

    render();
    stateField.value = JSON.stringify(state);
    const initial = JSON.parse(document.getElementById("compile-initial").textContent);
    inputsPanel.render(initial.inputs || []);
    bindBacktestForm(inputsPanel);
    setDirty(!!document.getElementById("save-errors"));
    statusLine.textContent = document.getElementById("save-errors") ? "" : "Generated Pine compiles";
    document.getElementById("builder-form").addEventListener("submit", () => { stateField.value = JSON.stringify(state); });
    window.strategyBuilder = { get state() { return state; }, preview };
  }

  document.addEventListener("DOMContentLoaded", initBuilder);
})();
