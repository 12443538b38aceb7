// The HTML page lint, run inside Chromium: the DOM boxes of every piece of visible text (each
// text node's own line rectangles, and each text-holding form control) and where they land.
// Returns findings {kind, what, detail}; kinds: "clipped", "off-screen", "overlap",
// "sideways-scroll", and "scroller" (an element meant to scroll sideways: flagged, not failed).
() => {
  const findings = [];
  const slack = 1; // CSS px: sub-pixel rounding is not a defect
  const docW = document.documentElement.clientWidth;
  const name = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    if (el.classList.length) s += "." + [...el.classList].join(".");
    if (el.name) s += `[name=${el.name}]`;
    return s;
  };
  const shown = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const st = getComputedStyle(e);
      if (st.display === "none" || st.visibility === "hidden" || e.hidden) return false;
      if (parseFloat(st.opacity) === 0) return false;
      // text for screen readers only: a 1 px box that hides its overflow
      if (st.overflow !== "visible" && e.clientWidth <= 1 && e.clientHeight <= 1) return false;
      // ... or clipped to nothing (a table keeps its rows' height, so only its clip hides it)
      if (st.position === "absolute" && /^rect\(0px,? 0px,? 0px,? 0px\)$/.test(st.clip)) return false;
    }
    return true;
  };
  // every piece of text: [element, rect, text]
  const pieces = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.nodeValue.trim() || !el || ["SCRIPT", "STYLE", "NOSCRIPT"].includes(el.tagName)) continue;
    if (!shown(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    for (const r of range.getClientRects()) {
      if (r.width > 0 && r.height > 0) pieces.push([el, r, n.nodeValue.trim().slice(0, 40)]);
    }
  }
  for (const el of document.querySelectorAll("input, textarea, select, button")) {
    if (el.type === "hidden" || !shown(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.height > 0) pieces.push([el, r, el.value || el.textContent.trim()]);
    // a control's own text cut off (what a student typed, a button's words)
    if ((el.value || el.textContent.trim()) && el.scrollWidth > el.clientWidth + slack) {
      findings.push({ kind: "clipped", what: name(el), detail: `${el.scrollWidth} > ${el.clientWidth}` });
    }
  }
  const sx = window.scrollX, sy = window.scrollY;
  // clipped: text outside an ancestor that hides its overflow; an ancestor that scrolls
  // sideways is a scroller (its text is reachable), flagged once
  const scrollers = new Set();
  const docRight = Math.max(docW, document.documentElement.scrollWidth);
  for (const [el, r, text] of pieces) {
    let reachable = false;  // inside an on-screen box that scrolls sideways: not off-screen
    for (let a = el; a && a !== document.body; a = a.parentElement) {
      const st = getComputedStyle(a);
      if (st.overflowX === "visible" && st.overflowY === "visible") continue;
      const box = a.getBoundingClientRect();
      const left = box.left + a.clientLeft, top = box.top + a.clientTop;
      const out =
        r.left < left - slack || r.right > left + a.clientWidth + slack ||
        r.top < top - slack || r.bottom > top + a.clientHeight + slack;
      if (!out) continue;
      const scrolls = ["auto", "scroll"].includes(st.overflowX) || ["auto", "scroll"].includes(st.overflowY);
      if (scrolls) {
        scrollers.add(a);
        reachable = box.left + sx >= -slack && box.right + sx <= docRight + slack;
      } else findings.push({ kind: "clipped", what: name(el), detail: `"${text}" cut by ${name(a)}` });
      break;
    }
    if (!reachable && (r.left + sx < -slack || r.right + sx > docRight + slack)) {
      findings.push({ kind: "off-screen", what: name(el), detail: `"${text}" at x ${Math.round(r.left + sx)}…${Math.round(r.right + sx)}` });
    }
  }
  for (const a of scrollers) {
    findings.push({ kind: "scroller", what: name(a), detail: `${a.scrollWidth}×${a.scrollHeight} in ${a.clientWidth}×${a.clientHeight}` });
  }
  // the page scrolls sideways: text beyond the window's width
  if (document.documentElement.scrollWidth > docW + slack) {
    const beyond = pieces.filter(([, r]) => r.right + sx > docW + slack);
    findings.push({
      kind: "sideways-scroll",
      what: "document",
      width: document.documentElement.scrollWidth,
      detail: `${document.documentElement.scrollWidth} px wide in a ${docW} px window; ${beyond.length} text boxes beyond, e.g. ${beyond.slice(0, 3).map(([el, , t]) => name(el) + ' "' + t + '"').join(", ")}`,
    });
  }
  // overlap: text rectangles of different elements (neither inside the other) that intersect
  const byTop = pieces.map((p, i) => [p[1].top, i]).sort((a, b) => a[0] - b[0]);
  for (let x = 0; x < byTop.length; x++) {
    const [el, r, text] = pieces[byTop[x][1]];
    for (let y = x + 1; y < byTop.length; y++) {
      const [el2, r2, text2] = pieces[byTop[y][1]];
      if (r2.top >= r.bottom - slack) break;
      if (el === el2) continue;
      const w = Math.min(r.right, r2.right) - Math.max(r.left, r2.left);
      const h = Math.min(r.bottom, r2.bottom) - Math.max(r.top, r2.top);
      if (w > slack && h > slack) {
        // a control holds no text nodes: text inside it (a button's words) is its own
        if ((el.contains(el2) || el2.contains(el)) && (el.matches("input, button, select, textarea") || el2.matches("input, button, select, textarea"))) continue;
        findings.push({ kind: "overlap", what: `${name(el)} / ${name(el2)}`, detail: `"${text}" / "${text2}" (${Math.round(w)}×${Math.round(h)} px)` });
      }
    }
  }
  return findings;
}
