// The thread: its messages, replies as they are written, notices, the typing dots, the marker for earlier pages,
// and the live region. It owns its elements and whether the view follows a growing reply; other modules change
// the thread through these functions. What the person typed is shown as typed; replies go through the Markdown
// renderer.

import { focusComposer, isBusy, onBusyChange } from "./composer.js";
import { icon, node, visibilityObserver } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

// A reply that did not end on its own (anything but end_turn) is never shown as a complete answer.
const CUT_REPLY_NOTES = {
  max_tokens: "Cut off: the reply reached its length limit.",
  time_limit: "Cut off: the reply ran out of time.",
  stopped: "Stopped before the end.",
};

const thread = document.getElementById("thread");
const welcome = document.getElementById("welcome");
const announcer = document.getElementById("announcer");
let follow = true; // the thread follows a growing reply until the reader scrolls up

// Loading a conversation's history: busy to assistive technology until it is on screen.
onBusyChange((mode) => {
  if (mode === "loading") thread.setAttribute("aria-busy", "true");
  else thread.removeAttribute("aria-busy");
});

// ---------------------------------------------------------------- the thread

// A message's own state, set here only: "pending", "blocked" or "failed" for a sent message, "streaming" for a
// reply still being written (busy to assistive technology until it is complete), null once settled.
export function setMessageState(message, state) {
  if (state) message.dataset.state = state;
  else delete message.dataset.state;
  if (state === "streaming") message.setAttribute("aria-busy", "true");
  else message.removeAttribute("aria-busy");
}

export function announce(text) {
  announcer.textContent = "";
  setTimeout(() => (announcer.textContent = text), 50);
}

// What a screen reader hears of a reply: its rendered text (no Markdown markers, a link's text, not its URL),
// blocks and cells kept apart, without the code blocks' language labels and Copy buttons.
function spokenText(message) {
  const body = message.querySelector(".message-body").cloneNode(true);
  for (const header of body.querySelectorAll(".code-header")) header.remove();
  for (const cell of body.querySelectorAll("th, td")) cell.after(", ");
  for (const block of body.querySelectorAll("p, li, h3, h4, h5, h6, pre, tr, blockquote")) block.after("\n");
  return body.textContent.replace(/,\s*\n/g, "\n").replace(/[ \t]+/g, " ").replace(/\s*\n\s*/g, "\n").trim();
}

function scrollToEnd() {
  thread.scrollTop = thread.scrollHeight;
}

// Within a few pixels of the end counts as at the end (rounding, the last line's padding).
function atEnd() {
  return thread.scrollHeight - thread.scrollTop - thread.clientHeight < 48;
}

// `stored`: the message as the API gave it, when it is stored ({id, feedback?}): replies can then be rated.
export function appendMessage(role, content, stopReason, stored) {
  welcome.hidden = true;
  const message = node("article", "message");
  message.dataset.role = role;
  message.setAttribute("aria-label", role === "user" ? "You" : "Assistant");
  const body = node("div", "message-body");
  if (role === "assistant") body.append(renderMarkdown(content));
  else body.textContent = content; // what the person typed, shown as typed
  message.append(body);
  thread.append(message);
  if (role === "assistant") finishMessage(message, stopReason);
  if (stored?.id) markStored(message, stored);
  if (role === "user") follow = true;
  if (follow) scrollToEnd();
  return message;
}

// What other modules add to a stored reply (manage.js: its feedback buttons), before the view follows it.
const storedReplyHooks = [];

export function onStoredReply(hook) {
  storedReplyHooks.push(hook);
}

// The message is stored now (`stored`: the API's {id, feedback?}): it carries its id, and replies get their hooks.
function markStored(message, stored) {
  message.dataset.id = stored.id;
  if (stored.feedback) message.dataset.rating = stored.feedback.rating;
  if (message.dataset.role === "assistant") for (const hook of storedReplyHooks) hook(message);
  if (follow) scrollToEnd();
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
    if (follow) scrollToEnd();
  }

  finish(content, stopReason) {
    this.cancel();
    if (!this.element) return finishedReply(this.question, content, stopReason);
    renderInto(this.element.querySelector(".message-body"), content);
    finishMessage(this.element, stopReason);
    if (follow) scrollToEnd();
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
  if (reply.offsetHeight > thread.clientHeight * 0.7) question.scrollIntoView({ block: "start" });
  return reply;
}

// The last reply, when incomplete, offers to go on (the thread's click handler sends "continue").
export function offerContinue(message = thread.lastElementChild) {
  const note = message?.querySelector(".stop-note");
  if (!note || message !== thread.lastElementChild) return;
  const button = node("button", "button continue", "Continue");
  button.type = "button";
  note.append(button);
}

export function removeContinue() {
  for (const button of thread.querySelectorAll(".continue")) button.remove();
}

export function appendNotice({ kind, title, text, action }) {
  welcome.hidden = true;
  const notice = node("article", "message notice");
  notice.dataset.role = "notice";
  notice.dataset.kind = kind;
  notice.setAttribute("aria-label", title);
  const content = node("div", "notice-content");
  content.append(node("strong", "notice-title", title), node("p", "notice-text", text));
  notice.append(icon(kind === "blocked" ? "shield" : "alert"), content);
  if (action) content.append(action);
  thread.append(notice);
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
    focusComposer();
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
  thread.append(typing);
  scrollToEnd();
}

export function hideTyping() {
  document.getElementById("typing")?.remove();
}

// An empty thread, for another view: the welcome shows, and the view follows the next reply.
export function clearThread() {
  thread.replaceChildren(welcome);
  welcome.hidden = false;
  follow = true;
}

// Shown while a conversation loads (no welcome), or once it turns out to be empty (`shown`).
export function showWelcome(shown) {
  welcome.hidden = !shown;
}

// A line of status at the end of the thread (a reply still being written elsewhere), read out when it changes.
export function appendStatus(text) {
  const status = node("p", "reply-status", text);
  status.setAttribute("role", "status");
  thread.append(status);
  return status;
}

// The last exchange as stored and shown: a settled reply right after its settled message, or null. Blocked or
// failed messages after it were never stored.
export function lastSettledExchange() {
  const settled = ":scope > .message[data-role='assistant']:not([data-state]):not([hidden])";
  const replies = thread.querySelectorAll(settled);
  const reply = replies[replies.length - 1];
  const user = reply?.previousElementSibling;
  if (!user?.matches(".message[data-role='user']:not([data-state])")) return null;
  return { user, reply };
}

// `handler(event)` hears every click in the thread (feedback buttons, edit and regenerate).
export function onThreadClick(handler) {
  thread.addEventListener("click", handler);
}

// `callback()` runs after every change to the thread's messages: added, removed, settled, hidden.
export function onThreadChange(callback) {
  const observer = new MutationObserver(() => callback());
  observer.observe(thread, { childList: true, subtree: true, attributeFilter: ["data-state", "hidden"] });
}

// ---------------------------------------------------------------- earlier pages

// The marker above the messages while earlier ones can be loaded: made at the top, without moving a view that is
// at the end off it (a conversation opens at its end).
export function earlierMarker() {
  let marker = document.getElementById("thread-earlier");
  if (marker) return marker;
  const atEndNow = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 2;
  marker = node("p", "thread-earlier");
  marker.id = "thread-earlier";
  marker.setAttribute("role", "status");
  thread.prepend(marker);
  if (atEndNow) scrollToEnd();
  return marker;
}

// `onVisible()` runs when the top of the thread (within 200 px) comes into view; null without IntersectionObserver.
export function watchThreadTop(onVisible) {
  return visibilityObserver(thread, "200px 0px 0px 0px", onVisible);
}

// Earlier messages go above the ones on screen without moving them: the reader keeps their place.
export function prependMessages(messages, marker) {
  const anchor = thread.querySelector(":scope > .message") || marker.nextElementSibling;
  const anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
  const fragment = document.createDocumentFragment();
  // appendMessage builds a message exactly as everywhere else; it is then moved above the others.
  for (const message of messages) {
    fragment.append(appendMessage(message.role, message.content, message.stop_reason, message));
  }
  thread.insertBefore(fragment, anchor);
  if (anchor) thread.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
}

// The thread's own behaviour: following a growing reply, the code blocks' Copy buttons, and Continue.
export function watchThread(onContinue) {
  // The view follows a growing reply until the reader scrolls up, and again once they are back at the end.
  thread.addEventListener("scroll", () => (follow = atEnd()), { passive: true });
  thread.addEventListener("wheel", (event) => event.deltaY < 0 && (follow = false), { passive: true });
  thread.addEventListener("click", (event) => {
    const copy = event.target.closest(".code-copy");
    if (copy) copyCode(copy, copy.closest(".code-block").querySelector("pre"));
    if (event.target.closest(".continue") && !isBusy()) {
      onContinue();
      focusComposer();
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
