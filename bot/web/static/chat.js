// Web chat: renders replies as plain text (never HTML) and choices as buttons.
(function () {
  "use strict";
  const box = document.getElementById("messages");
  const form = document.getElementById("composer");
  const input = document.getElementById("input");
  // the page's settings come as data attributes: the CSP allows no inline script
  const config = {
    lang: document.body.dataset.lang,
    start: document.body.dataset.start,
    langCommand: document.body.dataset.langCommand,
    choicesLabel: document.body.dataset.choicesLabel,
    documentExpired: document.body.dataset.documentExpired,
  };
  let busy = false;

  // The server ended or never issued our session: /chat issues a new one. Once per
  // minute at most, so a browser that refuses cookies does not reload for ever.
  function renew(res) {
    if (res.status !== 401) return false;
    const last = Number(sessionStorage.getItem("hd_renewed") || 0);
    if (Date.now() - last > 60000) {
      sessionStorage.setItem("hd_renewed", String(Date.now()));
      window.location.reload();
    }
    return true;
  }

  function bubble(text, who, kind, html) {
    const div = document.createElement("div");
    div.className = "msg " + who + (kind === "notice" ? " notice" : "");
    if (html) {
      // A knowledge-base answer: the server escaped everything and made only a
      // safe subset of tags (bot/channels/markdown.py to_html).
      div.innerHTML = html;
    } else {
      div.textContent = text;
    }
    box.appendChild(div);
    box.scrollTop = box.scrollHeight;
    return div;
  }

  function show(replies) {
    let last = null;
    for (const r of replies) {
      if (r.who === "user") { bubble(r.text, "user"); continue; }
      const div = bubble(r.text, "bot", r.kind, r.html);
      if (r.image) {
        const img = document.createElement("img");
        img.src = "data:image/png;base64," + r.image;
        img.alt = "";
        img.className = "chart";
        div.appendChild(img);
      }
      // A document links to the session's download route, live and after a reload
      // alike; an unrecorded reply carries its bytes; an expired link says so.
      if (r.document && (r.document.url || r.document.data)) {
        const a = document.createElement("a");
        a.href = r.document.url || ("data:application/pdf;base64," + r.document.data);
        a.download = r.document.name;
        a.textContent = "⬇ " + r.document.name;
        a.className = "document";
        div.appendChild(document.createElement("br"));
        div.appendChild(a);
      } else if (r.document) {
        const span = document.createElement("span");
        span.textContent = "📄 " + r.document.name +
          (r.document.expired ? " (" + config.documentExpired + ")" : "");
        span.className = "document expired";
        div.appendChild(document.createElement("br"));
        div.appendChild(span);
      }
      if (r.choices && r.choices.length) {
        const row = document.createElement("div");
        row.className = "choices";
        row.setAttribute("role", "group");
        row.setAttribute("aria-label", config.choicesLabel);
        for (const c of r.choices) {
          const b = document.createElement("button");
          b.type = "button";
          b.className = "choice";
          b.textContent = c.label;
          b.dataset.action = c.action;
          b.addEventListener("click", () => send({ action: c.action, label: c.label }, c.label));
          row.appendChild(b);
        }
        div.appendChild(row);
        last = row;
      }
    }
    // the newest buttons in view (a long answer would push them below the fold)
    if (last) last.scrollIntoView({ block: "nearest" });
  }

  async function send(payload, echo) {
    if (busy) return;
    busy = true;
    if (echo) bubble(echo, "user");
    try {
      const res = await fetch("/api/chat", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(payload),
      });
      if (renew(res)) return;
      const data = await res.json();
      if (!payload.quiet) show(data.replies || [{ text: data.error || "Error" }]);
    } catch (e) {
      bubble(config.lang === "id" ? "Koneksi terputus. Coba lagi." : "Connection lost. Try again.", "bot");
    } finally {
      busy = false;
      input.focus();  // keyboard users type the next answer at once (Tab reaches the buttons)
    }
  }

  async function poll() {
    try {
      const res = await fetch("/api/chat/notices", { credentials: "same-origin" });
      if (renew(res)) return;
      const data = await res.json();
      show(data.replies || []);
    } catch (e) { /* offline: try again next time */ }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send({ text: text }, text);
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
  });

  // A reload draws the session's lines again and goes on where the chat stands; only a
  // new session (no lines yet) is greeted, so a report half done is not thrown away.
  async function start() {
    let past = null;
    try {
      const res = await fetch("/api/chat/history", { credentials: "same-origin" });
      if (renew(res)) return;
      past = await res.json();
    } catch (e) { /* offline: start as a new chat */ }
    const lines = (past && past.lines) || [];
    if (!past || past.lang !== config.lang) await send({ text: config.langCommand, quiet: true });
    if (lines.length) {
      show(lines);
      input.focus();
    } else {
      await send({ text: config.start });
    }
  }
  start();
  setInterval(poll, 5000);
})();
