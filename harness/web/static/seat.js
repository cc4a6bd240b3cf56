/* A delegation's seat: what the seat has seen, live; the pending turn's form; reload when the turn changes. */
"use strict";

(() => {
  const room = document.getElementById("room");
  const LIVE = new Set(["starting", "running", "waiting"]);
  let shownKey = room.dataset.pending || "";
  const shownState = document.getElementById("state").textContent;
  const form = document.getElementById("answer");
  let sent = false;

  function cardBody(f) {
    const card = {};
    for (const field of f.elements) {
      if (!field.name || field.type === "submit") continue;
      if (field.type === "radio") {
        if (!(field.name in card)) card[field.name] = "";
        if (field.checked) card[field.name] = field.value;
      } else {
        card[field.name] = field.value;
      }
    }
    return card;
  }

  if (form) {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const error = form.querySelector(".form-error");
      error.textContent = "";
      const body = { key: form.dataset.key };
      if (form.dataset.kind === "card") body.card = cardBody(form);
      else body.text = form.elements.text.value;
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      const result = await Room.post(room.dataset.answer, body);
      if (!result.ok) {
        error.textContent = result.error;
        button.disabled = false;
        return;
      }
      sent = true;
      shownKey = "";
      for (const field of form.elements) field.disabled = true;
      error.textContent = "";
      form.querySelector(".actions").append(Room.el("span", "sent", "Sent. The exercise goes on; your next turn appears here."));
    });
  }

  const resume = document.getElementById("resume");
  if (resume) {
    resume.addEventListener("click", async () => {
      resume.disabled = true;
      const result = await Room.post(room.dataset.resume, {});
      if (!result.ok) {
        resume.parentElement.querySelector(".form-error").textContent = result.error;
        resume.disabled = false;
      }
    });
  }

  function onState(s) {
    Room.showState(s.state);
    const pending = Array.isArray(s.pending) ? s.pending : [];
    if (pending.length && pending[0] !== shownKey) {
      window.location.reload();  // a new turn for this seat: the page shows it
      return;
    }
    const moved = s.state !== shownState && !(LIVE.has(s.state) && LIVE.has(shownState));
    if (moved && (!form || sent) && !pending.length) window.location.reload();
  }

  const transcript = new Room.Transcript(document.getElementById("transcript"));
  Room.follow(room.dataset.stream, (ev) => transcript.add(ev), onState);
})();
