// The page's DOM: the thread and its messages, notices, the composer and the page's busy state, the live
// region, the sidebar. What the person typed is shown as typed; replies go through the Markdown renderer.

import { icon, node } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

// A reply that did not end on its own (anything but end_turn) is never shown as a complete answer.
export const CUT_REPLY_NOTES = {
  max_tokens: "Cut off: the reply reached its length limit.",
  time_limit: "Cut off: the reply ran out of time.",
  stopped: "Stopped before the end.",
};

export const app = document.getElementById("app");
export const el = {
  thread: document.getElementById("thread"),
  welcome: document.getElementById("welcome"),
  announcer: document.getElementById("announcer"),
  composer: document.getElementById("composer"),
  message: document.getElementById("message"),
  send: document.getElementById("send"),
  stop: document.getElementById("stop"),
  hint: document.getElementById("composer-hint"),
  list: document.getElementById("conversation-list"),
  listEmpty: document.getElementById("conversations-empty"),
  newChat: document.getElementById("new-chat"),
  toggle: document.getElementById("sidebar-toggle"),
  main: document.querySelector(".main"),
  backdrop: document.getElementById("backdrop"),
  offline: document.getElementById("offline-banner"),
  dialog: document.getElementById("confirm-delete"),
  dialogName: document.getElementById("confirm-delete-name"),
  conversationsNav: document.querySelector(".conversations"),
  conversationsMore: document.getElementById("conversations-more"),
};
export const page = {
  conversationId: null,
  // Bumped whenever the thread shows something else, so late answers for the old view are dropped.
  view: 0,
  follow: true, // the thread follows a growing reply until the reader scrolls up
};
let busy = null; // see setBusy

// ---------------------------------------------------------------- busy state

// The page's busy state, set here only. null: idle. "loading": a conversation's history is on its way (a
// message sent now would land above it). "sending": a reply is awaited. "streaming": a reply is being written
// over the socket, and Stop takes the place of Send.
export function setBusy(mode) {
  const focused = document.activeElement;
  busy = mode;
  el.stop.hidden = mode !== "streaming";
  el.send.hidden = mode === "streaming";
  if (mode === "loading") el.thread.setAttribute("aria-busy", "true");
  else el.thread.removeAttribute("aria-busy");
  updateComposer();
  // Focus on a button that just went away moves to the one in its place (Send → Stop) or to the message box.
  if (focused === el.send && el.send.hidden) el.stop.focus();
  if (focused === el.stop && el.stop.hidden) el.message.focus();
}

export function isBusy() {
  return busy !== null;
}

export function updateComposer() {
  el.send.disabled = isBusy() || !el.message.value.trim();
}

// A message's own state, set here only: "pending", "blocked" or "failed" for a sent message, "streaming" for a
// reply still being written (busy to assistive technology until it is complete), null once settled.
export function setMessageState(message, state) {
  if (state) message.dataset.state = state;
  else delete message.dataset.state;
  if (state === "streaming") message.setAttribute("aria-busy", "true");
  else message.removeAttribute("aria-busy");
}

// ---------------------------------------------------------------- the thread

export function announce(text) {
  el.announcer.textContent = "";
  setTimeout(() => (el.announcer.textContent = text), 50);
}

// What a screen reader hears of a reply: its rendered text (no Markdown markers, a link's text, not its URL),
// blocks and cells kept apart, without the code blocks' language labels and Copy buttons.
export function spokenText(message) {
  const body = message.querySelector(".message-body").cloneNode(true);
  for (const header of body.querySelectorAll(".code-header")) header.remove();
  for (const cell of body.querySelectorAll("th, td")) cell.after(", ");
  for (const block of body.querySelectorAll("p, li, h3, h4, h5, h6, pre, tr, blockquote")) block.after("\n");
  return body.textContent.replace(/,\s*\n/g, "\n").replace(/[ \t]+/g, " ").replace(/\s*\n\s*/g, "\n").trim();
}

export function scrollToEnd() {
  el.thread.scrollTop = el.thread.scrollHeight;
}

// Within a few pixels of the end counts as at the end (rounding, the last line's padding).
function atEnd() {
  return el.thread.scrollHeight - el.thread.scrollTop - el.thread.clientHeight < 48;
}

// `stored`: the message as the API gave it, when it is stored ({id, feedback?}): replies can then be rated.
export function appendMessage(role, content, stopReason, stored) {
  el.welcome.hidden = true;
  const message = node("article", "message");
  message.dataset.role = role;
  message.setAttribute("aria-label", role === "user" ? "You" : "Assistant");
  const body = node("div", "message-body");
  if (role === "assistant") body.append(renderMarkdown(content));
  else body.textContent = content; // what the person typed, shown as typed
  message.append(body);
  el.thread.append(message);
  if (role === "assistant") finishMessage(message, stopReason);
  if (stored?.id) markStored(message, stored);
  if (role === "user") page.follow = true;
  if (page.follow) scrollToEnd();
  return message;
}

// What other modules add to a stored reply (manage.js: its feedback buttons), before the view follows it.
const storedReplyHooks = [];

export function onStoredReply(hook) {
  storedReplyHooks.push(hook);
}

// The message is stored now (`stored`: the API's {id, feedback?}): it carries its id, and replies get their hooks.
export function markStored(message, stored) {
  message.dataset.id = stored.id;
  if (stored.feedback) message.dataset.rating = stored.feedback.rating;
  if (message.dataset.role === "assistant") for (const hook of storedReplyHooks) hook(message);
  if (page.follow) scrollToEnd();
}

// Re-render a reply that grew: blocks that came out the same stay untouched (no flicker, a selection inside
// them survives); only what changed, usually the last block, is replaced.
function renderInto(body, text) {
  const fresh = [...renderMarkdown(text).childNodes];
  let same = 0;
  while (same < fresh.length && same < body.childNodes.length && body.childNodes[same].isEqualNode(fresh[same])) {
    same += 1;
  }
  while (body.childNodes.length > same) body.lastChild.remove();
  body.append(...fresh.slice(same));
}

// Anything but end_turn is not a complete answer, and says so.
function finishMessage(message, stopReason) {
  setMessageState(message, null);
  if (!stopReason || stopReason === "end_turn") return;
  message.dataset.stopReason = stopReason;
  const note = node("p", "stop-note");
  note.append(icon("alert"), node("span", "stop-reason", CUT_REPLY_NOTES[stopReason] || "Not a complete answer."));
  message.append(note);
}

// A reply as it is written: its message appears with the first text and is redrawn at most once a frame,
// however fast the text comes. finish() shows the whole reply (in a new message when no text came before).
export class ReplyDraft {
  constructor(question) {
    this.question = question; // the user's message it answers
    this.element = null;
    this.text = "";
    this.frame = 0;
  }

  show(text) {
    if (!this.element) {
      hideTyping();
      this.element = appendMessage("assistant", "");
      setMessageState(this.element, "streaming");
    }
    this.text = text;
    this.frame ||= requestAnimationFrame(() => this.draw());
  }

  draw() {
    this.frame = 0;
    renderInto(this.element.querySelector(".message-body"), this.text);
    if (page.follow) scrollToEnd();
  }

  finish(content, stopReason) {
    this.cancel();
    if (!this.element) return finishedReply(this.question, content, stopReason);
    renderInto(this.element.querySelector(".message-body"), content);
    finishMessage(this.element, stopReason);
    if (page.follow) scrollToEnd();
    return this.element;
  }

  discard() {
    this.cancel();
    this.element?.remove(); // a reply that failed part-way is not stored: its text goes with it
  }

  cancel() {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
  }
}

// A finished reply on screen: drawn whole, offering Continue when incomplete, and (`announced`) heard once by the
// live region as it reads on screen (never its Markdown, nor its deltas).
export function showFinishedReply(draft, message, { announced = true } = {}) {
  const reply = draft.finish(message.content, message.stop_reason);
  if (message.id) markStored(reply, message); // a reply stopped here is stored by the server later, unseen
  offerContinue(reply);
  const note = CUT_REPLY_NOTES[message.stop_reason] ? ` (${CUT_REPLY_NOTES[message.stop_reason]})` : "";
  if (announced) announce(`Assistant: ${spokenText(reply)}${note}`);
  return reply;
}

function finishedReply(question, content, stopReason) {
  const reply = appendMessage("assistant", content, stopReason);
  // A long reply is read from its start: keep the question at the top rather than jump to the end.
  if (reply.offsetHeight > el.thread.clientHeight * 0.7) question.scrollIntoView({ block: "start" });
  return reply;
}

// The last reply, when incomplete, offers to go on (the thread's click handler sends "continue").
export function offerContinue(message) {
  const note = message?.querySelector(".stop-note");
  if (!note || message !== el.thread.lastElementChild) return;
  const button = node("button", "button continue", "Continue");
  button.type = "button";
  note.append(button);
}

export function removeContinue() {
  for (const button of el.thread.querySelectorAll(".continue")) button.remove();
}

export function appendNotice({ kind, title, text, action }) {
  el.welcome.hidden = true;
  const notice = node("article", "message notice");
  notice.dataset.role = "notice";
  notice.dataset.kind = kind;
  notice.setAttribute("aria-label", title);
  const content = node("div", "notice-content");
  content.append(node("strong", "notice-title", title), node("p", "notice-text", text));
  notice.append(icon(kind === "blocked" ? "shield" : "alert"), content);
  if (action) content.append(action);
  el.thread.append(notice);
  scrollToEnd();
  announce(`${title}. ${text}`);
  return notice;
}

// A Retry button, disabled while it counts down the server's Retry-After; a click does nothing while busy.
export function retryButton(waitSeconds, onRetry) {
  const button = node("button", "button retry", "Retry");
  button.type = "button";
  let remaining = waitSeconds;
  const tick = () => {
    if (remaining < waitSeconds && !button.isConnected) return; // the notice is gone: stop counting
    button.disabled = remaining > 0;
    button.textContent = remaining > 0 ? `Retry in ${duration(remaining)}` : "Retry";
    remaining -= 1;
    if (remaining >= 0) setTimeout(tick, 1000);
  };
  tick();
  button.addEventListener("click", () => {
    if (isBusy()) return;
    onRetry();
    el.message.focus();
  });
  return button;
}

function duration(seconds) {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

export function showTyping() {
  const typing = node("div", "typing");
  typing.id = "typing";
  typing.setAttribute("role", "status");
  typing.append(node("span", "dot"), node("span", "dot"), node("span", "dot"));
  typing.append(node("span", "visually-hidden", "The assistant is writing a reply"));
  el.thread.append(typing);
  scrollToEnd();
}

export function hideTyping() {
  document.getElementById("typing")?.remove();
}

export function clearThread() {
  el.thread.replaceChildren(el.welcome);
  el.welcome.hidden = false;
}

// Earlier messages go above the ones on screen without moving them: the reader keeps their place.
export function prependMessages(messages, marker) {
  const anchor = el.thread.querySelector(":scope > .message") || marker.nextElementSibling;
  const anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
  const fragment = document.createDocumentFragment();
  // appendMessage builds a message exactly as everywhere else; it is then moved above the others.
  for (const message of messages) {
    fragment.append(appendMessage(message.role, message.content, message.stop_reason, message));
  }
  el.thread.insertBefore(fragment, anchor);
  if (anchor) el.thread.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
}

// The thread's own behaviour: following a growing reply, the code blocks' Copy buttons, and Continue.
export function watchThread(onContinue) {
  // The view follows a growing reply until the reader scrolls up, and again once they are back at the end.
  el.thread.addEventListener("scroll", () => (page.follow = atEnd()), { passive: true });
  el.thread.addEventListener("wheel", (event) => event.deltaY < 0 && (page.follow = false), { passive: true });
  el.thread.addEventListener("click", (event) => {
    const copy = event.target.closest(".code-copy");
    if (copy) copyCode(copy, copy.closest(".code-block").querySelector("pre"));
    if (event.target.closest(".continue") && !isBusy()) {
      onContinue();
      el.message.focus();
    }
  });
}

async function copyCode(button, pre) {
  try {
    await navigator.clipboard.writeText(pre.textContent);
    button.textContent = "Copied";
  } catch {
    // No clipboard access (plain http, permission denied): select the code for a manual copy.
    window.getSelection().selectAllChildren(pre);
    button.textContent = "Press Ctrl+C";
  }
  setTimeout(() => (button.textContent = "Copy"), 2000);
}

// ---------------------------------------------------------------- the sidebar on small screens

export const SMALL_SCREEN = "(max-width: 767px)"; // chat.css's breakpoint

export function sidebarOpen() {
  return app.classList.contains("sidebar-open");
}

// The sidebar is on screen: always on a wide screen, on a small one while open.
export function sidebarShown() {
  return sidebarOpen() || !matchMedia(SMALL_SCREEN).matches;
}

export function openSidebar() {
  app.classList.add("sidebar-open");
  el.toggle.setAttribute("aria-expanded", "true");
  el.backdrop.hidden = false;
  el.main.inert = true; // keyboard focus stays in the open sidebar
  el.newChat.focus();
}

export function closeSidebar() {
  if (!sidebarOpen()) return;
  app.classList.remove("sidebar-open");
  el.toggle.setAttribute("aria-expanded", "false");
  el.backdrop.hidden = true;
  el.main.inert = false;
}
