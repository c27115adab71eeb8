// CodeMirror 6 set up for Pine Script: highlighting, line numbers, bracket matching, inline diagnostics.
// Exposes window.PineEditor.create(parent, {doc, onChange, readOnly}) -> {view, getValue, setValue, setDiagnostics}.
import { EditorView, basicSetup } from "codemirror";
import { EditorState } from "@codemirror/state";
import { StreamLanguage, HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { linter, lintGutter, setDiagnostics } from "@codemirror/lint";
import { keymap, Decoration, WidgetType } from "@codemirror/view";
import { StateField, StateEffect } from "@codemirror/state";
import { indentWithTab } from "@codemirror/commands";
import { tags } from "@lezer/highlight";

const KEYWORDS = new Set(["if", "else", "for", "to", "by", "in", "while", "switch", "break", "continue", "var", "varip",
  "and", "or", "not", "import", "export", "as", "type", "enum", "method", "true", "false", "na"]);
const TYPES = new Set(["int", "float", "bool", "string", "color", "label", "line", "box", "table", "array", "map",
  "matrix", "series", "simple", "const", "polyline", "linefill"]);
const NAMESPACES = new Set(["ta", "math", "str", "array", "map", "matrix", "strategy", "input", "request", "color",
  "syminfo", "timeframe", "barstate", "plot", "shape", "location", "size", "display", "line", "label", "box",
  "table", "alert", "session", "dayofweek", "currency", "order", "runtime", "log", "barmerge", "extend", "xloc", "yloc",
  "position", "format", "hline", "text", "font", "ticker", "chart"]);

const pineMode = {
  name: "pine",
  startState: () => ({}),
  token(stream) {
    if (stream.eatSpace()) return null;
    if (stream.match("//@")) { stream.skipToEnd(); return "meta"; }
    if (stream.match("//")) { stream.skipToEnd(); return "comment"; }
    if (stream.match(/^"(?:[^"\\]|\\.)*"?/) || stream.match(/^'(?:[^'\\]|\\.)*'?/)) return "string";
    if (stream.match(/^#[0-9a-fA-F]{6}(?:[0-9a-fA-F]{2})?\b/)) return "atom";
    if (stream.match(/^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/)) return "number";
    if (stream.match(/^(?::=|\+=|-=|\*=|\/=|%=|==|!=|<=|>=|=>|[-+*\/%<>=?:])/)) return "operator";
    const word = stream.match(/^[A-Za-z_][A-Za-z0-9_]*/);
    if (word) {
      const w = word[0];
      if (KEYWORDS.has(w)) return "keyword";
      if (TYPES.has(w)) return "typeName";
      if (NAMESPACES.has(w) && stream.peek() === ".") return "namespace";
      if (stream.peek() === "(") return "function";
      return "variableName";
    }
    stream.next();
    return null;
  },
  languageData: { commentTokens: { line: "//" } },
};

const pineHighlight = HighlightStyle.define([
  { tag: tags.keyword, color: "#7c3aed", fontWeight: "600" },
  { tag: tags.comment, color: "#64748b", fontStyle: "italic" },
  { tag: tags.meta, color: "#0f766e" },
  { tag: tags.string, color: "#15803d" },
  { tag: tags.number, color: "#b45309" },
  { tag: tags.atom, color: "#b45309" },
  { tag: tags.typeName, color: "#0369a1" },
  { tag: tags.namespace, color: "#be185d" },
  { tag: tags.function(tags.variableName), color: "#1d4ed8" },
  { tag: tags.operator, color: "#334155" },
]);

// The first message of each line is also written at the end of that line, so it reads without hovering
// (touch screens have no hover).
class InlineMessage extends WidgetType {
  constructor(severity, message) { super(); this.severity = severity; this.message = message; }
  eq(other) { return other.severity === this.severity && other.message === this.message; }
  toDOM() {
    const el = document.createElement("span");
    el.className = `cm-inline-message cm-inline-${this.severity}`;
    el.setAttribute("role", "note");
    el.textContent = this.message;
    return el;
  }
  ignoreEvent() { return false; }
}
const setInlineMessages = StateEffect.define();
const inlineMessages = StateField.define({
  create: () => Decoration.none,
  update(value, tr) {
    value = value.map(tr.changes);
    for (const effect of tr.effects) if (effect.is(setInlineMessages)) value = effect.value;
    return value;
  },
  provide: (field) => EditorView.decorations.from(field),
});
const inlineTheme = EditorView.baseTheme({
  ".cm-inline-message": { marginLeft: "1.5em", padding: "0 .4em", borderRadius: "3px", fontSize: "85%",
    fontFamily: "system-ui, sans-serif", whiteSpace: "pre-wrap" },
  ".cm-inline-error": { color: "#b91c1c", background: "#fee2e2" },
  ".cm-inline-warning": { color: "#92400e", background: "#fef3c7" },
});

// Completions of Pine built-ins (functions, variables, constants): a list the page supplies, read when asked
// so it can arrive after the editor is created.
function completionSource(completions) {
  return (context) => {
    const word = context.matchBefore(/[A-Za-z_][\w.]*/);
    if (!word || (word.from === word.to && !context.explicit) || !completions.length) return null;
    return { from: word.from, options: completions, validFor: /^[\w.]*$/ };
  };
}

function create(parent, options = {}) {
  const onChange = options.onChange || (() => {});
  const completions = [...(options.completions || [])];
  const completionData = [{ autocomplete: completionSource(completions) }];
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: options.doc || "",
      extensions: [
        basicSetup,
        StreamLanguage.define(pineMode),
        syntaxHighlighting(pineHighlight),
        lintGutter(),
        linter(null),
        keymap.of([indentWithTab]),
        EditorState.tabSize.of(4),
        EditorView.lineWrapping,
        inlineMessages,
        inlineTheme,
        // the same source object every time: autocomplete tracks active sources by identity
        EditorState.languageData.of(() => completionData),
        EditorState.readOnly.of(!!options.readOnly),
        EditorView.updateListener.of((update) => { if (update.docChanged) onChange(update.state.doc.toString()); }),
      ],
    }),
  });
  // diagnostics: [{line, col, end_line, end_col, severity, message}] with 1-based lines/columns
  function toRange(doc, line, col) {
    const l = doc.line(Math.min(Math.max(line, 1), doc.lines));
    return Math.min(l.from + Math.max(col, 1) - 1, l.to);
  }
  return {
    view,
    getValue: () => view.state.doc.toString(),
    setValue: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
    setDiagnostics(items) {
      const doc = view.state.doc;
      const diagnostics = (items || []).map((d) => {
        const from = toRange(doc, d.line, d.col);
        let to = toRange(doc, d.end_line || d.line, d.end_col || d.col + 1);
        if (to <= from) to = Math.min(from + 1, doc.length);
        return { from, to, severity: d.severity === "warning" ? "warning" : "error", message: d.message };
      });
      const seen = new Set();
      const widgets = [];
      for (const d of (items || [])) {
        const line = doc.line(Math.min(Math.max(d.line, 1), doc.lines));
        if (seen.has(line.number)) continue;
        seen.add(line.number);
        const severity = d.severity === "warning" ? "warning" : "error";
        widgets.push(Decoration.widget({ widget: new InlineMessage(severity, d.message), side: 1 }).range(line.to));
      }
      widgets.sort((a, b) => a.from - b.from);
      view.dispatch(setDiagnostics(view.state, diagnostics));
      view.dispatch({ effects: setInlineMessages.of(Decoration.set(widgets)) });
    },
    setCompletions(list) { completions.splice(0, completions.length, ...(list || [])); },
    goToLine(line, col = 1) {
      const pos = toRange(view.state.doc, line, col);
      view.dispatch({ selection: { anchor: pos }, scrollIntoView: true });
      view.focus();
    },
  };
}

window.PineEditor = { create };
