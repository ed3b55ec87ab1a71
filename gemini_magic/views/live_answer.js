// The live answer's front end (an anywidget ESM module; gemini_magic/views/widget.py is its kernel side).
// The kernel sends one deflate stream, flushed per paint, as message buffers. Inflated, it is
// records ending in "\0": "p<finished>\x01<tail>" is one paint (append the finished blocks, replace
// the open tail: one record, so no frame shows half of it); "s<html>" sets the status line.
// The HTML is already sanitized (nh3) in the kernel.
//
// Where it is drawn: the kernel shows the answer as an ordinary HTML output (the answer so far,
// refreshed now and then, which a save keeps) carrying an empty slot named after this stream. The
// model (no widget view in the notebook: a saved widget view reopens as "Loading widget...") finds
// that output, hides it and draws the live answer beside it, kept there through the refreshes.
// When the final output replaces it, the live answer stays until the final output has content.
const MD = "jp-RenderedHTMLCommon jp-RenderedMarkdown jp-OutputArea-output gemini-magic-live";

// Each model's decoded answer, by its _stream id: kept here, not in the model's attributes,
// which a notebook save (with widget state) would try to serialize.
const LIVE = new Map();

function initialize({ model }) {
  if (model.get("_probe")) {
    // The kernel asks, once per session, whether this front end can draw the live view: a front
    // end without a widget manager or without anywidget never runs this, and the kernel then
    // streams by display updates instead of showing a repr or a widget error box.
    // Said twice: the kernel's handler is registered a moment after the probe goes out.
    const ready = () => { try { model.send({ ready: true }); } catch (_) { /* closed: answered already */ } };
    if (typeof DecompressionStream !== "undefined") { ready(); setTimeout(ready, 300); }
    return;
  }
  // Decoded once per model, so every view (and a view made later) shows the whole answer.
  const id = model.get("_stream");
  const live = { body: [], tail: "", status: "", views: new Set() };
  LIVE.set(id, live);
  const drawn = follow(id, live);
  const forget = () => { LIVE.delete(id); drawn.closed(); };
  if (typeof DecompressionStream === "undefined") {
    live.status = "<sub>(this browser cannot show the live view; the answer appears when it ends)</sub>";
    return forget;
  }
  const inflate = new DecompressionStream("deflate");
  const writer = inflate.writable.getWriter();
  const reader = inflate.readable.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  const show = (kind, html) => {
    for (const view of live.views) view(kind, html);
  };
  (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      pending += value;
      let end;
      while ((end = pending.indexOf("\0")) >= 0) {
        const kind = pending[0], record = pending.slice(1, end);
        pending = pending.slice(end + 1);
        let html = record;
        if (kind === "p") {
          const cut = record.indexOf("\x01");
          html = record.slice(0, cut);
          live.body.push(html);
          live.tail = record.slice(cut + 1);
        } else live.status = html;
        show(kind, html);
      }
    }
  })().catch(() => {
    // A stream joined midway cannot be inflated: say so; the saved text beside it stays in view.
    live.status = "<sub>(the live view lost its stream; the answer appears when it ends)</sub>";
    show("s", live.status);
    drawn.stop(); // the saved text beside it is shown instead
  });
  model.on("msg:custom", (_msg, buffers) => {
    drawn.begin(); // a model restored from a saved notebook hears nothing: it draws nothing
    for (const b of buffers) {
      const bytes = ArrayBuffer.isView(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b);
      writer.write(bytes).catch(() => {}); // a broken stream is reported once, above
    }
  });
  return forget;
}

// Draw this stream's answer in el; returns a function that stops drawing it.
function mount(live, el) {
  // One div with JupyterLab's Markdown classes, like the final output, whose last child is
  // the footer line; here the status line takes its place, so the swap moves nothing.
  const md = document.createElement("div");
  md.className = MD;
  md.style.width = "auto";
  const status = document.createElement("p");
  let tail = [];
  const parse = (html) => {
    const t = document.createElement("template");
    t.innerHTML = html;
    return [...t.content.childNodes];
  };
  const show = (kind, html) => {
    if (kind === "s") { status.innerHTML = html; return; }
    for (const node of tail) node.remove();
    if (html) status.before(...parse(html));
    tail = parse(live.tail);
    status.before(...tail);
  };
  el.classList.add("gemini-magic");
  md.append(...parse(live.body.join("")), status);
  el.append(md);
  show("s", live.status);
  show("p", "");
  live.views.add(show);
  return () => live.views.delete(show);
}

// Find the kernel's output for this stream (its slot), hide it and draw the live answer beside it.
// A refresh of that output may re-render it in place or replace its element: either way the slot
// is found again. An output without the slot in its place is the final one.
function follow(id, live) {
  const selector = `.gemini-magic-slot[data-stream="${id}"]`;
  let host = null, area = null, box = null, unmount = null, frame = 0, done = false;
  const observer = new MutationObserver(() => check());
  const stop = () => {
    done = true;
    cancelAnimationFrame(frame);
    observer.disconnect();
    if (unmount) unmount();
    if (box) box.remove();
    if (host) host.style.display = "";
  };
  const adopt = (slot) => {
    if (host && host !== slot.parentElement) host.style.display = "";
    host = slot.closest(".jp-OutputArea-output") || slot.parentElement;
    area = (host.parentElement && host.parentElement.parentElement) || host.parentElement;
    host.style.display = "none";
    host.after(box);
    observer.disconnect();
    for (const node of [area, host.parentElement, host]) if (node) observer.observe(node, { childList: true });
  };
  const check = () => {
    if (done) return;
    const slot = (area && area.isConnected ? area : document).querySelector(selector);
    if (slot) { if (slot.parentElement !== host || box.previousElementSibling !== host) adopt(slot); return; }
    handOver();
  };
  const attach = () => {
    if (done) return;
    const slot = document.querySelector(selector);
    if (!slot) { frame = requestAnimationFrame(attach); return; }
    // Laid out as the output it stands for (the widget renderer's box held the view before).
    box = document.createElement("div");
    box.className = "jp-OutputArea-output gemini-magic-box";
    const el = document.createElement("div");
    box.append(el);
    unmount = mount(live, el);
    adopt(slot);
  };
  // The final output took the slot's place: JupyterLab renders it asynchronously (the first
  // Markdown of a page takes longest), so the live answer stays in its place until it shows.
  const handOver = () => {
    observer.disconnect();
    const fresh = host.isConnected && host.childNodes.length ? host
      : [...area.querySelectorAll(".jp-OutputArea-output")].find((e) => e !== box && !box.contains(e));
    if (!fresh || fresh.childNodes.length) { stop(); return; }
    // Until it has content it takes no room (an empty flex item would halve the live answer's width).
    fresh.style.display = "none";
    fresh.after(box);
    const shown = () => { fresh.style.display = ""; stop(); };
    new MutationObserver((_, o) => { if (fresh.childNodes.length) { o.disconnect(); shown(); } })
      .observe(fresh, { childList: true });
    setTimeout(shown, 5000); // an output that never renders does not keep the live answer for good
  };
  return {
    begin: () => { if (!frame && !done) frame = requestAnimationFrame(attach); },
    stop,
    closed: () => { if (!host) stop(); }, // once drawn, the final output ends it (handOver)
  };
}

function render({ model, el }) {
  const live = LIVE.get(model.get("_stream"));
  if (!live) return; // the probe
  return mount(live, el);
}

export default { initialize, render };
