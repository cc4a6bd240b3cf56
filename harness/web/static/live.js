/* Following a run live, with trainers' notes on utterances and cards. */
"use strict";

(() => {
  const room = document.getElementById("room");
  const notesUrl = room.dataset.notes;
  const byTarget = new Map();
  let author = "";
  try { author = window.localStorage.getItem("room-author") || ""; } catch (err) { author = ""; }

  function noteItem(n) {
    const li = Room.el("li", "note");
    li.dataset.id = n.id;
    li.append(Room.tag(n.tag, "note-tag"), " ", document.createTextNode(n.note || ""), " ");
    li.append(Room.el("span", "muted small", "— " + n.author + ", " + n.t));
    return li;
  }

  function notesList(node) {
    let list = node.querySelector(":scope > ul.notes");
    if (!list) {
      list = Room.el("ul", "notes");
      node.append(list);
    }
    return list;
  }

  function openForm(node, key) {
    if (node.querySelector(":scope > form.note-form")) return;
    const form = document.getElementById("note-form").content.firstElementChild.cloneNode(true);
    form.elements.author.value = author;
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = {
        target: key,
        tag: form.elements.tag.value,
        note: form.elements.note.value,
        author: form.elements.author.value || "trainer",
      };
      const result = await Room.post(notesUrl, body);
      if (!result.ok) {
        form.querySelector(".form-error").textContent = result.error;
        return;
      }
      author = body.author;
      try { window.localStorage.setItem("room-author", author); } catch (err) { /* private mode */ }
      notesList(node).append(noteItem(result.data));
      form.remove();
    });
    node.append(form);
    form.elements.tag.focus();
  }

  function onItem(node, ev) {
    const button = Room.el("button", "annotate", "Add note");
    button.type = "button";
    button.addEventListener("click", () => openForm(node, ev.key));
    node.querySelector(".utt-head").append(button);
    (byTarget.get(ev.key) || []).forEach((n) => notesList(node).append(noteItem(n)));
  }

  async function start() {
    const response = await fetch(notesUrl, { credentials: "same-origin" });
    if (response.ok) {
      (await response.json()).forEach((n) => {
        if (!byTarget.has(n.target)) byTarget.set(n.target, []);
        byTarget.get(n.target).push(n);
      });
    }
    const transcript = new Room.Transcript(document.getElementById("transcript"), onItem);
    Room.follow(room.dataset.stream, (ev) => transcript.add(ev), (s) => Room.showState(s.state));
  }

  start();
})();
