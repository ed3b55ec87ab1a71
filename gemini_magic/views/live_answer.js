// The live answer's front end (an anywidget ESM module; gemini_magic/views/widget.py is its kernel side).
// The kernel sends one deflate stream, flushed per paint, as message buffers. Inflated, it is
// records ending in "\0": "p<finished>\x01<tail>" is one paint (append the finished blocks, replace
// the open tail: one record, so no frame shows half of it); "s<html>" sets the status line.
// The HTML is already sanitized (nh3) in the kernel.
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
  const forget = () => LIVE.delete(id);
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
    // A stream joined midway cannot be inflated: say so; the final output still replaces this view.
    live.status = "<sub>(the live view lost its stream; the answer appears when it ends)</sub>";
    show("s", live.status);
  });
  model.on("msg:custom", (_msg, buffers) => {
    for (const b of buffers) {
      const bytes = ArrayBuffer.isView(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b);
      writer.write(bytes).catch(() => {}); // a broken stream is reported once, above
    }
  });
  return forget;
}

function render({ model, el }) {
  const live = LIVE.get(model.get("_stream"));
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

export default { initialize, render };
