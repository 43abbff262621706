// Credo's only script, loaded by every page: small progressive enhancements. Every page works without it.
(function () {
  "use strict";

  // A form sent back with mistakes: move to the first field marked invalid, so its message (right
  // below it) is in view and the field is ready to be corrected.
  var invalid = document.querySelector("[aria-invalid=true]");
  if (invalid && typeof invalid.focus === "function") {
    invalid.focus();
  }

  // Buttons that undo something for good ask first: <button data-confirm="Question?">. (The exam page
  // handles its own submit button below.)
  document.querySelectorAll("[data-confirm]").forEach(function (button) {
    if (button.closest("#exam-form")) return;
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
    });
  });

  // Copy buttons: <button data-copy="#input-id">.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.querySelector(button.getAttribute("data-copy"));
      if (!target) return;
      target.select();
      var done = function () { button.textContent = "Copied"; };
      if (navigator.clipboard) {
        navigator.clipboard.writeText(target.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });
})();

// Exams: on the exam-taking page, save each answer as it changes (PUT to the API with the CSRF token from
// <meta name="csrf-token">), show "Saved", keep the navigator current, count down from the server's
// remaining time, submit when the time is up, and confirm before submitting. Without this script the page's
// form saves and submits by itself.
(function () {
  "use strict";
  var form = document.getElementById("exam-form");
  // Once only, even if a page includes this script twice.
  if (!form || form.hasAttribute("data-enhanced")) return;
  form.setAttribute("data-enhanced", "");
  var attempt = form.getAttribute("data-attempt");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  var closed = false;

  function inputsOf(questionId) {
    return Array.prototype.filter.call(form.querySelectorAll("input"), function (input) {
      return input.name === "q_" + questionId;
    });
  }
  function stateOf(questionId) {
    return Array.prototype.filter.call(form.querySelectorAll("[data-save-state]"), function (el) {
      return el.getAttribute("data-save-state") === questionId;
    })[0];
  }
  function navOf(questionId) {
    return Array.prototype.filter.call(form.querySelectorAll("[data-nav]"), function (el) {
      return el.getAttribute("data-nav") === questionId;
    })[0];
  }
  function show(questionId, text, tone) {
    var el = stateOf(questionId);
    if (!el) return;
    el.textContent = text;
    el.className = "save-state" + (tone ? " " + tone : "");
  }
  function updateProgress() {
    var links = form.querySelectorAll("[data-nav]");
    var answered = 0;
    Array.prototype.forEach.call(links, function (link) {
      var id = link.getAttribute("data-nav");
      var done = inputsOf(id).some(function (input) { return input.checked; });
      link.classList.toggle("answered", done);
      var hidden = link.querySelector(".visually-hidden");
      if (hidden) hidden.textContent = done ? " (answered)" : " (not answered)";
      if (done) answered += 1;
    });
    var counter = form.querySelector("[data-answered-count]");
    if (counter) counter.textContent = answered + " of " + links.length + " answered";
  }
  function submitForGrading() {
    if (closed) return;
    closed = true;
    var action = document.createElement("input");
    action.type = "hidden";
    action.name = "action";
    action.value = "submit";
    form.appendChild(action);
    form.submit();
  }

  var pending = {};
  function save(questionId) {
    var choices = inputsOf(questionId).filter(function (input) { return input.checked; })
      .map(function (input) { return input.value; });
    var sequence = (pending[questionId] || 0) + 1;
    pending[questionId] = sequence;
    show(questionId, "Saving…", "");
    fetch("/api/v1/attempts/" + encodeURIComponent(attempt) + "/answers/" + encodeURIComponent(questionId), {
      method: "PUT",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ choices: choices })
    }).then(function (response) {
      if (pending[questionId] !== sequence) return;
      if (response.status === 204) {
        show(questionId, "Saved", "saved");
      } else if (response.status === 409) {
        show(questionId, "Time is up: this answer was not saved.", "failed");
        submitForGrading();
      } else {
        show(questionId, "Not saved — press “Save answers”.", "failed");
      }
    }, function () {
      if (pending[questionId] === sequence) show(questionId, "Not saved (offline?) — press “Save answers”.", "failed");
    });
  }

  form.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.name || input.name.indexOf("q_") !== 0) return;
    updateProgress();
    save(input.name.slice(2));
  });

  Array.prototype.forEach.call(form.querySelectorAll("[data-confirm]"), function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
      else closed = true;
    });
  });

  var timer = form.querySelector("[data-remaining]");
  if (timer) {
    var texts = form.querySelectorAll("[data-timer-text]");
    var end = Date.now() + parseInt(timer.getAttribute("data-remaining"), 10) * 1000;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    var tick = function () {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      var shown = (h > 0 ? h + ":" + pad(m) : pad(m)) + ":" + pad(s);
      Array.prototype.forEach.call(texts, function (text) { text.textContent = shown; });
      Array.prototype.forEach.call(form.querySelectorAll(".timer"), function (el) {
        el.classList.toggle("low", left <= 300);
      });
      if (left <= 0) {
        window.clearInterval(handle);
        submitForGrading();
      }
    };
    var handle = window.setInterval(tick, 1000);
    tick();
  }
})();
