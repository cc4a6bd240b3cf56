/* The runs page: start a run, resume an interrupted one. */
"use strict";

(() => {
  const start = document.getElementById("start");
  start.addEventListener("submit", async (e) => {
    e.preventDefault();
    const error = start.querySelector(".form-error");
    error.textContent = "";
    const f = start.elements;
    const body = {
      scenario: f.scenario.value,
      backend: f.backend.value,
      base_url: f.base_url.value,
      model: f.model.value,
      seed: f.seed.value,
      human: f.human.value,
      run_id: f.run_id.value,
    };
    const result = await Room.post("/api/runs", body);
    if (!result.ok) {
      error.textContent = result.error;
      return;
    }
    window.location.href = result.data.url;
  });

  document.querySelectorAll("button.resume").forEach((button) => {
    button.addEventListener("click", async () => {
      button.disabled = true;
      const result = await Room.post("/api/resume/" + button.dataset.ref, {});
      if (!result.ok) {
        document.getElementById("runs-error").textContent = result.error;
        button.disabled = false;
        return;
      }
      window.location.href = "/runs/" + button.dataset.ref;
    });
  });
})();
