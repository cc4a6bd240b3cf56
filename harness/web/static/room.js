/* The web room's shared script: builds the transcript from live events with DOM nodes and textContent
   only (no markup is ever parsed from data), follows the server-sent events, posts JSON. */
"use strict";

const Room = (() => {
  const labelsNode = document.getElementById("labels");
  const labels = labelsNode ? JSON.parse(labelsNode.textContent) : {};
  const names = (kind) => labels[kind] || {};

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  const delegationName = (id) => (id ? names("delegations")[id] || id : "Control");
  const speaker = (id) => (names("personas")[id] || [id, ""])[0];
  const speakerTitle = (id) => (names("personas")[id] || [id, ""])[1];
  const axisTitle = (id) => names("axes")[id] || id;

  function tag(text, cls) {
    return el("span", "tag" + (cls ? " " + cls : ""), text);
  }

  class Transcript {
    constructor(container, onItem) {
      this.container = container;
      this.onItem = onItem || null;
      this.keys = new Set();
      this.blocks = new Map();
    }

    block(id, title) {
      let block = this.blocks.get(id);
      if (!block) {
        block = el("section", "move");
        block.dataset.move = id;
        block.append(el("h3", "move-head", title || id));
        this.blocks.set(id, block);
        this.container.append(block);
      }
      return block;
    }

    add(ev) {
      if (!ev || typeof ev !== "object" || typeof ev.key !== "string" || this.keys.has(ev.key)) return;
      this.keys.add(ev.key);
      let node = null;
      let where = ev.move || "run";
      if (ev.event === "inject") node = this.inject(ev);
      else if (ev.event === "utterance") node = this.utterance(ev);
      else if (ev.event === "position_card") node = this.card(ev);
      else if (ev.event === "adjudication") node = this.plain("adjudication", "Adjudication · Control", ev.text);
      else if (ev.event === "error") node = this.plain("error-ev", "Error · " + ev.where + " · " + ev.kind, ev.message);
      else if (ev.event === "resume") { node = this.plain("marker", "The run was resumed", ""); where = "run"; }
      else if (ev.event === "run_end") { node = this.plain("marker", "Run " + ev.status, ""); where = "run"; }
      if (!node) return;
      node.dataset.key = ev.key;
      node.dataset.t = ev.t || "";
      node.dataset.shown = String(Date.now());
      const title = where === "hotwash" ? "Hot-wash" : where === "run" ? "Run" : where;
      this.block(where, title).append(node);
      if (this.onItem && (ev.event === "utterance" || ev.event === "position_card")) this.onItem(node, ev);
    }

    inject(ev) {
      const block = this.block(ev.move, ev.move);
      block.querySelector(".move-head").textContent = ev.move + " · " + ev.title;
      const node = el("div", "inject");
      node.append(el("div", "who", "Inject · Control"), el("p", "", ev.text));
      if (Array.isArray(ev.set_questions) && ev.set_questions.length) {
        const list = el("ol");
        ev.set_questions.forEach((q) => list.append(el("li", "", q)));
        node.append(list);
      }
      return node;
    }

    utterance(ev) {
      const node = el("article", "utt ch-" + ev.channel);
      node.dataset.delegation = ev.delegation || "";
      node.dataset.channel = ev.channel;
      const head = el("header", "utt-head");
      head.append(el("span", "who", speaker(ev.speaker)));
      const title = speakerTitle(ev.speaker);
      if (title) head.append(el("span", "role", title));
      head.append(tag(ev.delegation || "Control", "deleg"));
      head.append(tag(ev.phase + (ev.round ? " · round " + ev.round : "")));
      if (ev.to) head.append(tag("to " + ev.to));
      if (ev.author && ev.author !== "model") head.append(tag(ev.author, "author"));
      node.append(head, el("div", "utt-text", ev.text));
      return node;
    }

    card(ev) {
      const node = el("article", "card-ev");
      node.dataset.delegation = ev.delegation;
      const head = el("header", "utt-head");
      head.append(el("span", "who", "Position card · " + delegationName(ev.delegation)));
      if (ev.author && ev.author !== "model") head.append(tag(ev.author, "author"));
      node.append(head);
      const card = ev.card || {};
      const table = el("table", "card-table");
      const row = (label, value, level) => {
        const tr = el("tr");
        tr.append(el("th", "", label));
        const td = el("td");
        if (level !== undefined) td.append(el("span", "lvl" + (level === null ? " lvl-na" : ""), level === null ? "n/a" : level), " ");
        td.append(document.createTextNode(value || ""));
        tr.append(td);
        table.append(tr);
      };
      (card.stances || []).forEach((s) => row(axisTitle(s.axis), s.rationale, s.level));
      (card.answers || []).forEach((a) => row(a.question, a.answer));
      (card.requests || []).forEach((r) => row("Request to " + r.to, r.ask));
      if ((card.red_lines_invoked || []).length) row("Red lines", card.red_lines_invoked.join("; "));
      node.append(table);
      return node;
    }

    plain(cls, title, text) {
      const node = el("div", cls);
      node.append(el("div", "who", title));
      if (text) node.append(el("p", "", text));
      return node;
    }
  }

  function follow(url, onEvent, onState) {
    const source = new EventSource(url);
    source.addEventListener("ev", (e) => {
      let ev = null;
      try { ev = JSON.parse(e.data); } catch (err) { return; }
      onEvent(ev);
    });
    source.addEventListener("state", (e) => onState(JSON.parse(e.data)));
    return source;
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body || {}),
      credentials: "same-origin",
    });
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    const error = data && typeof data.error === "string" ? data.error : "the server said " + response.status;
    return { ok: response.ok, status: response.status, data, error };
  }

  function showState(state) {
    const node = document.getElementById("state");
    if (!node || !state) return;
    node.textContent = state;
    node.className = "state state-" + state;
  }

  return { el, tag, labels, Transcript, follow, post, showState };
})();
