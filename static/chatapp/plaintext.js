// Plain text from Markdown, for places that show a short text as it reads (a conversation's title in the list,
// the window title, the delete dialog): markers, fences, link targets and table pipes removed. Pure: no DOM.

const FENCE = /`{3,}|~{3,}/g;
const LINK = /!?\[([^\]]*)\]\([^)\s]*(?:\s[^)]*)?\)/g;
const LINE_MARKERS = /^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+(?:\[[ xX]\]\s+)?|\d{1,9}[.)]\s+)/gm;
// As the renderer reads them (markdown.js): asterisks anywhere, underscores only at a word's edges.
const EMPHASIS = /(\*{1,3}|~~)(?=\S)([^]*?\S)\1|(?<!\w)(_{1,3})(?=\S)([^]*?\S)\3(?!\w)/g;
const TABLE_RULE = /^\s*\|?(?:\s*:?-{3,}:?\s*\|)+\s*:?-*:?\s*\|?\s*$/gm;

// Return `text` as it reads: "Code please ```js const a = 1" → "Code please js const a = 1".
export function plainText(text) {
  let plain = String(text ?? "");
  plain = plain.replace(TABLE_RULE, " ");
  plain = plain.replace(FENCE, " ");
  plain = plain.replace(LINK, "$1");
  plain = plain.replace(LINE_MARKERS, "");
  for (let pass = 0; pass < 3; pass += 1) plain = plain.replace(EMPHASIS, (...m) => m[2] ?? m[4]);
  plain = plain.replace(/`+/g, "");
  plain = plain.replace(/\s*\|\s*/g, " ");
  return plain.replace(/\s+/g, " ").trim();
}
