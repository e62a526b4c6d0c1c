// Live counts without a reload, confirmation for destructive actions, and chart bar heights.
// Served as a file so the Content-Security-Policy can forbid inline script.
(function () {
  "use strict";
  function refresh() {
    var url = document.body.getAttribute("data-summary");
    if (!url) return;
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        document.querySelectorAll("[data-count]").forEach(function (el) {
          el.textContent = data.counts[el.getAttribute("data-count")];
        });
        document.querySelectorAll("[data-stat]").forEach(function (el) {
          el.textContent = data.stats[el.getAttribute("data-stat")] ?? "–";
        });
      }).catch(function () {});
  }
  // A job page that is not settled polls its status and progress (GET /api/job/{job_id}) and
  // reloads once it settles, to show the result or the error.
  function poll(section) {
    var url = section.getAttribute("data-live");
    var timer = setInterval(function () {
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          section.ownerDocument.querySelectorAll("[data-live-field]").forEach(function (el) {
            var value = data[el.getAttribute("data-live-field")];
            if (value) el.textContent = value;
          });
          var bar = section.querySelector("[data-live-fraction]");
          if (bar && typeof data.fraction === "number") bar.value = data.fraction;
          if (data.settled) { clearInterval(timer); window.location.reload(); }
        }).catch(function () {});
    }, 1000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live][data-settled=no]").forEach(poll);
    // A form, or the button that submits it (bulk forms: only "Discard"), may ask first.
    document.querySelectorAll("form").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        var by = event.submitter && event.submitter.getAttribute("data-confirm");
        var question = by || form.getAttribute("data-confirm");
        if (question && !window.confirm(question)) event.preventDefault();
      });
    });
    document.querySelectorAll(".bar[data-height]").forEach(function (bar) {
      bar.style.height = bar.getAttribute("data-height") + "%";
    });
    refresh();
    setInterval(refresh, 3000);
  });
})();
