// HP Sandbox portal: the little behaviour the pages have without a framework.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  // Forms with data-confirm ask before they submit (reset, delete).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        ev.preventDefault();
      }
    });
  });
  // Values marked .copy get a button that copies them.
  if (navigator.clipboard) {
    document.querySelectorAll("code.copy").forEach(function (code) {
      var btn = document.createElement("button");
      btn.type = "button";
      btn.className = "small copy-button";
      btn.textContent = "Copy";
      btn.addEventListener("click", function () {
        navigator.clipboard.writeText(code.textContent).then(function () {
          btn.textContent = "Copied";
          setTimeout(function () { btn.textContent = "Copy"; }, 1500);
        });
      });
      code.insertAdjacentElement("afterend", btn);
    });
    // Links marked .copy-link get a button that copies their absolute URL.
    document.querySelectorAll("a.copy-link").forEach(function (a) {
      var btn = document.createElement("button");
      btn.type = "button";
      btn.className = "small copy-button";
      btn.textContent = "Copy link";
      btn.addEventListener("click", function () {
        navigator.clipboard.writeText(new URL(a.getAttribute("href"), window.location.href).href).then(function () {
          btn.textContent = "Copied";
          setTimeout(function () { btn.textContent = "Copy link"; }, 1500);
        });
      });
      a.insertAdjacentElement("afterend", btn);
    });
  }
});
