// Credo's only script, loaded by every page: small progressive enhancements. Every page works without it.
(function () {
  "use strict";

  // A form sent back with mistakes: move to the first field marked invalid, so its message (right
  // below it) is in view and the field is ready to be corrected.
  var invalid = document.querySelector("[aria-invalid=true]");
  if (invalid && typeof invalid.focus === "function") {
    invalid.focus();
  }

  // Buttons that undo something for good ask first: <button data-confirm="Question?">.
  document.querySelectorAll("[data-confirm]").forEach(function (button) {
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
// <meta name="csrf-token">), show "Saved", flag questions for review (PUT to the API), keep the navigator
// current, show the questions a page at a time (1 per page on narrow screens; a setting kept in this
// browser; the page is in the address's #q-N, so a reload stays there), count down from the server's
// remaining time, and submit when the time is up. Without this script the page's form shows every
// question, saves, flags and goes to the summary by itself.
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
  function flagOf(questionId) {
    return Array.prototype.filter.call(form.querySelectorAll("[data-flag]"), function (el) {
      return el.getAttribute("data-flag") === questionId;
    })[0];
  }
  function updateProgress() {
    var links = form.querySelectorAll("[data-nav]");
    var answered = 0, flagged = 0;
    Array.prototype.forEach.call(links, function (link) {
      var id = link.getAttribute("data-nav");
      var done = inputsOf(id).some(function (input) { return input.checked; });
      var flag = flagOf(id);
      var marked = !!flag && flag.getAttribute("aria-pressed") === "true";
      link.classList.toggle("answered", done);
      link.classList.toggle("flagged", marked);
      var hidden = link.querySelector(".visually-hidden");
      if (hidden) hidden.textContent = (done ? " (answered)" : " (not answered)") + (marked ? " (flagged)" : "");
      if (done) answered += 1;
      if (marked) flagged += 1;
    });
    var counter = form.querySelector("[data-answered-count]");
    if (counter) counter.textContent = answered + " of " + links.length + " answered";
    var flags = form.querySelector("[data-flagged-count]");
    if (flags) flags.textContent = flagged + " flagged";
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

  // Flag for review: the button toggles through the API instead of submitting the form.
  Array.prototype.forEach.call(form.querySelectorAll("[data-flag]"), function (button) {
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var questionId = button.getAttribute("data-flag");
      var flagged = button.getAttribute("aria-pressed") !== "true";
      fetch("/api/v1/attempts/" + encodeURIComponent(attempt) + "/flags/" + encodeURIComponent(questionId), {
        method: "PUT",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ flagged: flagged })
      }).then(function (response) {
        if (response.status === 204) {
          button.setAttribute("aria-pressed", flagged ? "true" : "false");
          button.name = flagged ? "unflag" : "flag";
          show(questionId, flagged ? "Flagged for review" : "Flag removed", "saved");
          updateProgress();
        } else if (response.status === 409) {
          submitForGrading();
        } else {
          show(questionId, "The flag was not saved — try again.", "failed");
        }
      }, function () {
        show(questionId, "The flag was not saved (offline?) — try again.", "failed");
      });
    });
  });

  // Pages of questions. The position lives in the address (#q-N), so reloads and the navigator's
  // links land on the right page.
  var sections = Array.prototype.slice.call(form.querySelectorAll("section.question"));
  var pager = form.querySelector("[data-pager]");
  var perPage = document.getElementById("per-page");
  var current = 0;
  function storedPerPage() {
    try { return window.localStorage.getItem("credo.exam.perPage"); } catch (e) { return null; }
  }
  var per = storedPerPage() || (window.matchMedia("(max-width: 899px)").matches ? "1" : "10");
  function size() { return per === "all" ? Math.max(1, sections.length) : parseInt(per, 10) || 1; }
  function pageCount() { return Math.max(1, Math.ceil(sections.length / size())); }
  function showPage(page, scroll) {
    current = Math.max(0, Math.min(page, pageCount() - 1));
    var first = current * size(), last = Math.min(sections.length, first + size());
    sections.forEach(function (section, index) { section.hidden = index < first || index >= last; });
    if (pager) {
      pager.hidden = pageCount() <= 1;
      pager.querySelector("[data-page-step='-1']").disabled = current === 0;
      pager.querySelector("[data-page-step='1']").disabled = current === pageCount() - 1;
      pager.querySelector("[data-page-text]").textContent = last - first === 1
        ? "Question " + (first + 1) + " of " + sections.length
        : "Questions " + (first + 1) + "–" + last + " of " + sections.length;
    }
    if (scroll && sections[first]) {
      sections[first].scrollIntoView();
      var heading = sections[first].querySelector("h2");
      if (heading) heading.focus({ preventScroll: true });
    }
  }
  function indexOfHash() {
    var match = /^#q-(\d+)$/.exec(window.location.hash);
    return match ? parseInt(match[1], 10) - 1 : -1;
  }
  function goToHash(scroll) {
    var index = indexOfHash();
    if (index < 0 || index >= sections.length) return false;
    showPage(Math.floor(index / size()), false);
    if (scroll) {
      sections[index].scrollIntoView();
      var heading = sections[index].querySelector("h2");
      if (heading) heading.focus({ preventScroll: true });
    }
    return true;
  }
  if (sections.length > 0) {
    if (perPage) {
      perPage.value = per;
      perPage.closest("[data-per-page]").hidden = false;
      perPage.addEventListener("change", function () {
        var firstShown = current * size();
        per = perPage.value;
        try { window.localStorage.setItem("credo.exam.perPage", per); } catch (e) { /* private mode */ }
        showPage(Math.floor(firstShown / size()), false);
      });
    }
    if (pager) {
      Array.prototype.forEach.call(pager.querySelectorAll("[data-page-step]"), function (button) {
        button.addEventListener("click", function () {
          var target = current + parseInt(button.getAttribute("data-page-step"), 10);
          var first = Math.max(0, Math.min(target, pageCount() - 1)) * size();
          window.history.replaceState(null, "", "#q-" + (first + 1));
          showPage(target, true);
        });
      });
    }
    window.addEventListener("hashchange", function () { goToHash(true); });
    if (!goToHash(true)) showPage(0, false);
  }

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
