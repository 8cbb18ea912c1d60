// matcalc serve: the page's script.  It sends the fields to POST /api/page and
// shows the answer; the fields live in the URL (#expr=...&symbols=...), so a
// link reproduces a derivation.  Nothing is loaded from anywhere else.
"use strict";

const FIELDS = ["expr", "symbols", "dims", "wrt", "order"];
const EXAMPLE = {
  expr: "trace(X.T @ A @ X)",
  symbols: "X: {shape: [n, m]}\nA: {shape: [n, n], props: [symmetric]}",
  dims: "n: 4, m: 3", wrt: "X", order: "1",
};
const MATHML = "http://www.w3.org/1998/Math/MathML";
// what latex2mathml writes; anything else in an answer is shown as text, never inserted
const TAGS = new Set(("math mrow mi mo mn mtext mspace msub msup msubsup mfrac msqrt mroot " +
                      "mtable mtr mtd munder mover munderover mpadded mphantom mstyle").split(" "));
const ATTRIBUTES = new Set(("xmlns display stretchy fence form width columnalign movablelimits mathvariant " +
                            "class lspace rspace accent accentunder linethickness").split(" "));

const $ = (id) => document.getElementById(id);

function element(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

// A <math> element from the server's MathML, checked element by element.
function math(source) {
  const span = element("span", "math");
  if (!source) return span;
  const doc = new DOMParser().parseFromString(source, "application/xml");
  const root = doc.documentElement;
  const allowed = (e) => e.namespaceURI === MATHML && TAGS.has(e.localName) &&
    [...e.attributes].every((a) => ATTRIBUTES.has(a.name)) && [...e.children].every(allowed);
  if (doc.getElementsByTagName("parsererror").length || !allowed(root)) {
    span.textContent = "(a formula that could not be shown)";
  } else {
    span.appendChild(document.importNode(root, true));
  }
  return span;
}

function pieces(parent, parts) {
  for (const p of parts) parent.appendChild("math" in p ? math(p.math) : document.createTextNode(p.text));
  return parent;
}

function boxed(block) {
  const div = element("div", "result");
  const box = element("span", "box");
  box.append(math(block.lhs), " = ", math(block.rhs));
  div.append(box, " ∈ ", math(block.shape));
  return div;
}

function showBlock(parent, block) {
  if (block.kind === "section") parent.appendChild(pieces(element("h3"), block.parts));
  else if (block.kind === "text" || block.kind === "user") parent.appendChild(pieces(element("p"), block.parts));
  else if (block.kind === "code") {
    const p = element("p", "", block.label);
    p.appendChild(element("code", "", block.code));
    parent.appendChild(p);
  } else if (block.kind === "math") {
    const table = element("table", "steps");
    for (const row of block.rows) {
      const tr = table.insertRow();
      tr.insertCell().appendChild(math(row.lhs));
      tr.insertCell().textContent = "=";
      tr.insertCell().appendChild(math(row.rhs));
      const note = tr.insertCell();
      note.className = "note";
      if (row.note) note.append(row.member ? "∈ " : "", math(row.note));
    }
    parent.appendChild(table);
  } else if (block.kind === "result") parent.appendChild(boxed(block));
}

function figure(x) { return x === null || x === undefined ? "–" : x.toExponential(1); }

function show(answer) {
  const d = answer.derivation;
  $("result").replaceChildren(...answer.blocks.filter((b) => b.kind === "result").map(boxed));
  for (const [symbol, r] of Object.entries(d.results)) {
    const p = element("p", "matrix", `${symbol}: `);
    p.appendChild(element("code", "", r.matrix));
    $("result").appendChild(p);
  }
  const body = $("check").tBodies[0];
  body.replaceChildren();
  for (const [symbol, c] of Object.entries(d.verification)) {
    const tr = body.insertRow();
    tr.className = c.status.replace(" ", "-");
    for (const text of [symbol, c.status, figure(c.max_abs_error), figure(c.max_rel_error),
                        c.directions, c.entries]) tr.insertCell().textContent = text;
    if (c.why) tr.title = c.why;
  }
  $("steps").replaceChildren();
  for (const block of answer.blocks) showBlock($("steps"), block);
  $("code").textContent = d.code;
  $("latex").textContent = answer.latex;
  const link = $("download-code");
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([d.code], { type: "text/x-python" }));
  link.download = `${d.name}.py`;
  $("output").hidden = false;
}

function clearErrors() {
  for (const pre of document.querySelectorAll("pre.error")) { pre.hidden = true; pre.textContent = ""; }
  for (const name of FIELDS) $(name).removeAttribute("aria-invalid");
}

// The error as the command line prints it (place, caret, hint), under its field.
function showError(error) {
  const name = error.field && $(`error-${error.field}`) ? error.field : "general";
  const pre = $(`error-${name}`);
  pre.textContent = error.text || error.message;
  pre.hidden = false;
  if (name === "general") return;
  const input = $(name);
  input.setAttribute("aria-invalid", "true");
  if (error.line && error.column) {          // put the text cursor on the place
    const lines = input.value.split("\n");
    const at = lines.slice(0, error.line - 1).reduce((n, l) => n + l.length + 1, 0) + error.column - 1;
    input.setSelectionRange(at, at);
  }
}

// Copy a box's text; where the clipboard is not allowed, select it for Ctrl+C.
function copy(id) {
  navigator.clipboard.writeText($(id).textContent).catch(() => {
    const range = document.createRange();
    range.selectNodeContents($(id));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
  });
}

function values() {
  return Object.fromEntries(FIELDS.map((name) => [name, $(name).value]));
}

async function derive() {
  const fields = values();
  history.replaceState(null, "", "#" + new URLSearchParams(fields));
  clearErrors();
  $("status").textContent = "deriving…";
  document.body.dataset.state = "deriving";
  $("derive").disabled = true;
  const started = performance.now();
  try {
    const response = await fetch("/api/page", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(fields),
    });
    const answer = await response.json();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (answer.error) {
      showError(answer.error);
      $("status").textContent = "";
    } else {
      show(answer);
      const passed = Object.values(answer.derivation.verification).every((c) => c.passed);
      $("status").textContent = `derived in ${seconds} s; ${passed ? "checked" : "NOT verified"}`;
    }
  } catch (err) {
    showError({ text: `error: the server did not answer (${err.message})` });
    $("status").textContent = "";
  } finally {
    $("derive").disabled = false;
    document.body.dataset.state = "done";      // (what a test waits for)
  }
}

function start() {
  const given = new URLSearchParams(location.hash.slice(1));
  const fromLink = given.has("expr");     // else the example
  for (const name of FIELDS) $(name).value = fromLink ? given.get(name) ?? "" : EXAMPLE[name];
  $("problem").addEventListener("submit", (event) => { event.preventDefault(); derive(); });
  $("problem").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); derive(); }
  });
  $("copy-code").addEventListener("click", () => copy("code"));
  $("copy-latex").addEventListener("click", () => copy("latex"));
  derive();         // the link's derivation, or the example's: the page shows what it does at once
}

start();
