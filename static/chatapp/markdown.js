// Markdown, a safe subset, turned into DOM nodes: model output is untrusted, so every piece of text goes in with
// textContent and is never parsed as HTML; links keep only web and mail URLs. Pure: it builds and returns nodes
// and touches nothing on the page (the code blocks' Copy buttons are wired by the view).

import { node } from "./dom.js";

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}> ?/;
const LIST_ITEM = /^( *)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const TABLE_DIVIDER = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;
const BLANK = /^\s*$/;
const INLINE = new RegExp(
  [
    /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/.source, // 1, 2: code
    /\*\*(?=\S)([\s\S]*?\S)\*\*/.source, // 3: bold
    /(?<![\w])__(?=\S)([\s\S]*?\S)__(?![\w])/.source, // 4: bold
    /\*(?=\S)([\s\S]*?\S)\*/.source, // 5: italic
    /(?<![\w])_(?=\S)([\s\S]*?\S)_(?![\w])/.source, // 6: italic
    /~~(?=\S)([\s\S]*?\S)~~/.source, // 7: strikethrough
    /\[([^\]\n]+)\]\(\s*<?([^\s()<>]+)>?\s*\)/.source, // 8, 9: link
    /(https?:\/\/[^\s<>()]*[^\s<>().,;:!?'"])/.source, // 10: bare URL
    /(\n)/.source, // 11: line break
  ].join("|"),
  "g",
);

function startsBlock(line) {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || LIST_ITEM.test(line);
}

export function renderMarkdown(text) {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const fragment = document.createDocumentFragment();
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    let match;
    if (BLANK.test(line)) {
      i += 1;
    } else if ((match = FENCE.exec(line))) {
      const code = [];
      const closing = new RegExp(`^ {0,3}${match[1][0] === "`" ? "`" : "~"}{${match[1].length},}\\s*$`);
      for (i += 1; i < lines.length && !closing.test(lines[i]); i += 1) code.push(lines[i]);
      i += 1;
      fragment.append(codeBlock(code.join("\n"), match[2]));
    } else if ((match = HEADING.exec(line))) {
      // Headings inside a message sit below the page's own h1/h2.
      const heading = node(`h${Math.min(6, match[1].length + 2)}`);
      renderInline(match[2], heading);
      fragment.append(heading);
      i += 1;
    } else if (RULE.test(line)) {
      fragment.append(node("hr"));
      i += 1;
    } else if (QUOTE.test(line)) {
      const quoted = [];
      for (; i < lines.length && QUOTE.test(lines[i]); i += 1) quoted.push(lines[i].replace(QUOTE, ""));
      const quote = node("blockquote");
      quote.append(renderMarkdown(quoted.join("\n")));
      fragment.append(quote);
    } else if (LIST_ITEM.test(line)) {
      i = renderList(lines, i, fragment);
    } else if (line.includes("|") && i + 1 < lines.length && TABLE_DIVIDER.test(lines[i + 1])) {
      i = renderTable(lines, i, fragment);
    } else {
      const paragraph = [];
      for (; i < lines.length && !BLANK.test(lines[i]) && (!paragraph.length || !startsBlock(lines[i])); i += 1) {
        paragraph.push(lines[i]);
      }
      const p = node("p");
      renderInline(paragraph.join("\n"), p);
      fragment.append(p);
    }
  }
  return fragment;
}

function indentOf(line) {
  return line.length - line.trimStart().length;
}

function renderList(lines, start, parent) {
  const first = LIST_ITEM.exec(lines[start]);
  const indent = first[1].length;
  const ordered = /\d/.test(first[2]);
  const list = node(ordered ? "ol" : "ul");
  if (ordered && parseInt(first[2], 10) !== 1) list.start = parseInt(first[2], 10);
  let itemLines = null;
  let contentIndent = 0;
  const flush = () => {
    if (!itemLines) return;
    const item = node("li");
    item.append(renderMarkdown(itemLines.join("\n")));
    list.append(item);
  };
  let i = start;
  while (i < lines.length) {
    const line = lines[i];
    const match = LIST_ITEM.exec(line);
    if (match && match[1].length <= indent + 1 && /\d/.test(match[2]) === ordered) {
      flush();
      itemLines = [match[3]];
      contentIndent = match[1].length + match[2].length + 1;
    } else if (BLANK.test(line)) {
      let next = i + 1;
      while (next < lines.length && BLANK.test(lines[next])) next += 1;
      const nextItem = next < lines.length && LIST_ITEM.exec(lines[next]);
      const continues = next < lines.length && (indentOf(lines[next]) > indent || (nextItem && nextItem[1].length <= indent + 1 && /\d/.test(nextItem[2]) === ordered));
      if (!continues) break;
      itemLines.push("");
    } else if (indentOf(line) > indent) {
      itemLines.push(line.slice(Math.min(indentOf(line), contentIndent)));
    } else if (!startsBlock(line) && !BLANK.test(itemLines[itemLines.length - 1])) {
      itemLines.push(line); // a lazy continuation of the item's paragraph
    } else {
      break;
    }
    i += 1;
  }
  flush();
  parent.append(list);
  return i;
}

function tableCells(line) {
  return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((cell) => cell.trim());
}

function renderTable(lines, start, parent) {
  const wrapper = node("div", "table-scroll");
  wrapper.tabIndex = 0; // scrolls sideways on a narrow screen: reachable by keyboard
  const table = node("table");
  const headRow = node("tr");
  for (const cell of tableCells(lines[start])) {
    const th = node("th");
    renderInline(cell, th);
    headRow.append(th);
  }
  table.append(node("thead"));
  table.tHead.append(headRow);
  const body = node("tbody");
  let i = start + 2;
  for (; i < lines.length && !BLANK.test(lines[i]) && lines[i].includes("|"); i += 1) {
    const row = node("tr");
    for (const cell of tableCells(lines[i])) {
      const td = node("td");
      renderInline(cell, td);
      row.append(td);
    }
    body.append(row);
  }
  table.append(body);
  wrapper.append(table);
  parent.append(wrapper);
  return i;
}

function renderInline(text, parent) {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    parent.append(text.slice(last, match.index));
    last = match.index + match[0].length;
    if (match[1]) {
      parent.append(node("code", "", match[2].replace(/^ (.+) $/, "$1")));
    } else if (match[3] || match[4] || match[5] || match[6] || match[7]) {
      const tag = match[3] || match[4] ? "strong" : match[7] ? "s" : "em";
      const inner = node(tag);
      renderInline(match[3] || match[4] || match[5] || match[6] || match[7], inner);
      parent.append(inner);
    } else if (match[8]) {
      parent.append(link(match[8], match[9]));
    } else if (match[10]) {
      parent.append(link(match[10], match[10]));
    } else {
      parent.append(node("br"));
    }
  }
  parent.append(text.slice(last));
}

function link(text, href) {
  let url = null;
  try {
    url = new URL(href, document.baseURI);
  } catch {
    url = null;
  }
  // Only web and mail links: javascript:, data: and friends stay plain text.
  if (!url || !["http:", "https:", "mailto:"].includes(url.protocol)) return document.createTextNode(text);
  const anchor = node("a");
  anchor.href = url.href;
  anchor.rel = "noopener noreferrer nofollow";
  anchor.target = "_blank";
  anchor.textContent = text; // plain text: a URL inside link text must not become a nested link
  return anchor;
}

function codeBlock(code, language) {
  const block = node("div", "code-block");
  const header = node("div", "code-header");
  header.append(node("span", "code-language", language || "code"));
  const copy = node("button", "code-copy", "Copy");
  copy.type = "button";
  copy.setAttribute("aria-label", `Copy ${language || ""} code`.replace("  ", " "));
  const pre = node("pre");
  pre.tabIndex = 0; // scrollable: reachable by keyboard
  pre.append(node("code", "", code)); // the Copy button copies this text (thread.js)
  header.append(copy);
  block.append(header, pre);
  return block;
}
