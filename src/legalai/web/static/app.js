/* LegalAI web UI: upload with a progress bar. No inline scripts; DOM is built with textContent only. */
(function () {
  "use strict";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function displayName(item) {
    return (item.path ? item.path + "/" : "") + item.filename;
  }

  function fromArchive(li, item) {
    if (item.archive) li.appendChild(el("span", "muted", " in " + item.archive));
  }

  function acceptedLine(item) {
    var li = el("li");
    var link = el("a", null, displayName(item));
    link.href = "/documents/" + encodeURIComponent(item.document_id);
    li.appendChild(link);
    fromArchive(li, item);
    var note = item.deduplicated
      ? "identical content already in this matter" +
        (item.additional_name ? "; name recorded as another name of the document" : "")
      : [item.kind, "version " + item.version, item.status].filter(Boolean).join(", ");
    li.appendChild(el("span", "muted", " — " + note));
    return li;
  }

  function rejectedLine(item) {
    var li = el("li");
    li.appendChild(el("strong", null, displayName(item)));
    fromArchive(li, item);
    var reason = item.error ? item.error.title + ": " + item.error.detail : "rejected";
    li.appendChild(el("span", "muted", " — " + reason));
    return li;
  }

  function listBlock(container, heading, className, items, line) {
    if (!items || !items.length) return;
    container.appendChild(el("h3", "result-heading " + className, heading + " (" + items.length + ")"));
    var ul = el("ul", "result-list");
    items.forEach(function (item) { ul.appendChild(line(item)); });
    container.appendChild(ul);
  }

  function showResults(target, status, body) {
    target.replaceChildren();
    body = body || {};
    var ok = status >= 200 && status < 300;
    if (!ok) {
      var message = body.detail || "The upload failed (HTTP " + status + ").";
      var alert = el("p", "alert alert-error", message);
      alert.setAttribute("role", "alert");
      target.appendChild(alert);
    }
    var box = el("div", "upload-results");
    listBlock(box, "Accepted", "result-ok", body.accepted, acceptedLine);
    listBlock(box, "Rejected", "result-bad", body.rejected, rejectedLine);
    if (box.childNodes.length) target.appendChild(box);
  }

  function refreshTable(url) {
    if (window.htmx) {
      window.htmx.ajax("GET", url, { target: "#documents", swap: "outerHTML" });
    } else {
      window.location.reload();
    }
  }

  function parseJson(text) {
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  function setupUpload(form) {
    var input = form.querySelector('input[type="file"]');
    var button = form.querySelector('button[type="submit"]');
    var box = form.querySelector("[data-upload-progress]");
    var bar = box.querySelector("progress");
    var status = box.querySelector("[data-upload-status]");
    var results = document.getElementById(form.dataset.results);

    function finish() {
      button.disabled = false;
      form.removeAttribute("aria-busy");
      box.hidden = true;  // the results below now say what happened
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!input.files || !input.files.length) {
        showResults(results, 0, { detail: "Choose one or more files or a .zip archive first." });
        input.focus();
        return;
      }
      var data = new FormData();
      Array.prototype.forEach.call(input.files, function (file) { data.append("files", file, file.name); });

      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.uploadUrl);
      xhr.setRequestHeader("Accept", "application/json");
      var csrf = document.querySelector('meta[name="csrf-token"]');
      if (csrf && csrf.content) xhr.setRequestHeader("X-CSRF-Token", csrf.content);
      button.disabled = true;
      form.setAttribute("aria-busy", "true");
      results.replaceChildren();
      box.hidden = false;
      bar.value = 0;
      status.textContent = "Uploading… 0%";

      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        var pct = Math.round((e.loaded / e.total) * 100);
        bar.value = pct;
        status.textContent = "Uploading… " + pct + "%";
      });
      xhr.upload.addEventListener("load", function () {
        bar.value = 100;
        status.textContent = "Upload complete — checking files…";
      });
      xhr.addEventListener("load", function () {
        var body = parseJson(xhr.responseText);
        showResults(results, xhr.status, body);
        if (xhr.status < 300) form.reset();
        finish();
        refreshTable(form.dataset.tableUrl);
      });
      xhr.addEventListener("error", function () {
        showResults(results, 0, { detail: "The upload failed: the server could not be reached." });
        finish();
      });
      xhr.addEventListener("abort", function () {
        showResults(results, 0, { detail: "The upload was cancelled." });
        finish();
      });
      xhr.send(data);
    });
  }

  function init() {
    var form = document.getElementById("upload-form");
    if (form && window.FormData && window.XMLHttpRequest) setupUpload(form);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
