// Replies in progress, kept with their conversation in page state: a conversation left while its reply is being
// written, and opened again, shows its question and the reply still being written, then the reply once it lands.
// A reload cannot keep a reply going (the socket closes with the page, and the server keeps what it had sent as
// `stopped`): the page asks first, and afterwards says what happened until the stopped reply is stored.

import { ApiError, getConversation } from "./api.js";
import { giveBackText, setBusy } from "./composer.js";
import { currentView } from "./shown.js";
import { resumeReply } from "./socket.js";
import {
  appendMessage,
  appendNotice,
  appendStatus,
  hideTyping,
  removeContinue,
  ReplyDraft,
  setMessageState,
  showFinishedReply,
  showTyping,
} from "./thread.js";

const STORAGE_KEY = "chatapp.interrupted";
// Left by a reload this long ago at most: older ones are not this page's any more.
const INTERRUPTED_MAX_AGE_MS = 10 * 60 * 1000;
// How long a reloaded page waits for the server to store the interrupted reply (it does at its next send).
const STORED_WAIT_MS = { withText: 30000, withoutText: 10000 };
const POLL_MS = 1000;

const replies = new Set(); // {requestId, conversationId, question, text, state, message?, error?, listener?}

// A message is on its way: track its reply (conversationId null for a new conversation, until it is accepted).
export function replyStarted({ requestId, conversationId, question }) {
  const reply = { requestId, conversationId, question, text: "", state: "writing", sentAt: Date.now() };
  reply.startsConversation = !conversationId;
  replies.add(reply);
  watchUnload();
  return reply;
}

// Over the socket: the server stores what it sent when the socket closes, so a reload stops this reply.
export function replyAccepted(reply, conversationId) {
  reply.conversationId = conversationId;
  reply.streamed = true;
}

export function replyGrew(reply, text) {
  reply.text = text;
  reply.listener?.(reply);
}

// The reply ended: `{message}` (stored: POST's or `done`'s message, or a stop's text) or `{error}`; `shown`: the
// page shows it where it was sent. A reply that ended elsewhere is kept until its conversation shows it stored.
export function replyEnded(reply, { message, error, shown }) {
  Object.assign(reply, message ? { state: "done", message } : { state: "failed", error });
  if (error || shown) replies.delete(reply);
  reply.listener?.(reply);
  watchUnload();
}

// ---------------------------------------------------------------- leaving the page while a reply is written

function writing() {
  return [...replies].filter((reply) => reply.state === "writing");
}

function warnBeforeUnload(event) {
  event.preventDefault();
  event.returnValue = ""; // the browser asks "Leave site?": leaving stops the reply
}

// Only while a reply is written: a page with a beforeunload listener is not kept in the back/forward cache.
function watchUnload() {
  if (writing().length) window.addEventListener("beforeunload", warnBeforeUnload);
  else window.removeEventListener("beforeunload", warnBeforeUnload);
}

// The page goes (reload, or left for good): what was being written is remembered for the page that comes next.
window.addEventListener("pagehide", () => {
  const interrupted = writing().filter((reply) => reply.streamed).map(({ conversationId, question, text, sentAt }) => ({
    conversationId,
    question,
    text,
    sentAt,
  }));
  if (interrupted.length) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(interrupted));
});

function takeInterrupted() {
  let saved = [];
  try {
    saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "[]");
  } catch {
    saved = [];
  }
  sessionStorage.removeItem(STORAGE_KEY);
  const recent = saved.filter((reply) => Date.now() - reply.sentAt < INTERRUPTED_MAX_AGE_MS);
  for (const reply of recent) replies.add({ ...reply, state: "interrupted" });
}

takeInterrupted();

// ---------------------------------------------------------------- showing a reply in progress again

export function replyInProgress(conversationId) {
  return [...replies].findLast((reply) => reply.conversationId === conversationId) || null;
}

// New conversations whose first reply is still being written, as list entries ({id, title, pending}): the
// server lists a conversation once its first pair is stored.
export function conversationsInProgress(listed) {
  const known = new Set(listed.map((conversation) => conversation.id));
  return [...replies]
    .filter((reply) => reply.startsConversation && reply.state === "writing" && reply.conversationId)
    .filter((reply) => !known.has(reply.conversationId))
    .map((reply) => ({ id: reply.conversationId, title: reply.question, pending: true }))
    .reverse();
}

// The reply's pair is in the stored history: the last user message is its question, answered by its text so far.
function pairStored(messages, reply) {
  if (reply.message?.id) return messages.some((message) => message.id === reply.message.id);
  const [question, answer] = messages.slice(-2);
  if (question?.role !== "user" || answer?.role !== "assistant") return false;
  if (question.content !== reply.question.normalize("NFKC").trim()) return false;
  if (reply.state === "interrupted" && answer.stop_reason !== "stopped") return false;
  return answer.content.startsWith(reply.text);
}

// After a conversation's stored messages are on screen: show the reply still in progress there, if any.
// `reopen()` shows the conversation anew, `forget()` leaves one that turned out never to be stored for a new chat.
export function showReplyInProgress(conversationId, messages, { reopen, forget }) {
  const reply = replyInProgress(conversationId);
  if (!reply) return;
  if (pairStored(messages, reply)) {
    replies.delete(reply);
    return;
  }
  removeContinue(); // the last stored reply is no longer the last one
  const question = appendMessage("user", reply.question);
  if (reply.state === "interrupted") showInterrupted(reply, question, { reopen, forget });
  else if (reply.state === "done") showFinishedReply(new ReplyDraft(question), reply.message, { announced: false });
  else showWriting(reply, question, forget);
}

function showWriting(reply, question, forget) {
  const view = currentView();
  setMessageState(question, "pending");
  const draft = new ReplyDraft(question);
  if (reply.text) draft.show(reply.text);
  else showTyping();
  const status = appendStatus("The reply is still being written…");
  setBusy(resumeReply(reply.requestId) ? "streaming" : "sending");
  reply.listener = () => {
    if (!view.isCurrent()) return;
    if (reply.state === "writing") {
      draft.show(reply.text);
      status.before(draft.element);
      return;
    }
    reply.listener = null;
    replies.delete(reply);
    status.remove();
    hideTyping();
    setBusy(null);
    setMessageState(question, reply.state === "done" ? null : "failed");
    if (reply.state === "done") showFinishedReply(draft, reply.message);
    else failed(reply, draft, forget);
  };
}

// A failed reply stores nothing (a new conversation is then never stored): the message goes back in the box.
function failed(reply, draft, forget) {
  draft.discard();
  if (reply.startsConversation) forget();
  appendNotice({ kind: "error", title: "The reply could not be finished", text: reply.error.message });
  giveBackText(reply.question);
}

// ---------------------------------------------------------------- after a reload: a true account of the reply

// The page was left while this reply was written: the server keeps what it had sent as a stopped reply, at its
// next send. Until that is stored the page says so; then the conversation is shown as stored.
async function showInterrupted(reply, question, { reopen, forget }) {
  const view = currentView();
  setMessageState(question, "pending");
  let partial = null;
  if (reply.text) {
    partial = appendMessage("assistant", reply.text);
    partial.classList.add("reply-interrupted");
  }
  const notice = appendNotice({
    kind: "interrupted",
    title: "The reply was interrupted",
    text: reply.text
      ? "The page was left while the reply was being written, which stopped it. Saving what was written…"
      : "The page was left before the reply began, which stopped it. Checking whether anything was saved…",
  });
  setBusy("loading");
  const stored = await storedInTime(reply, view);
  if (!view.isCurrent()) return;
  replies.delete(reply);
  setBusy(null);
  if (stored === "stored") {
    reopen(); // shown as stored: a stopped reply, which says so and offers Continue
    return;
  }
  if (stored === "no conversation") forget();
  notice.remove();
  partial?.remove();
  setMessageState(question, "failed");
  appendNotice({
    kind: "interrupted",
    title: "The reply was interrupted",
    text: "The page was left while the reply was being written, and nothing of it was saved. Your message is back in the box below to send again.",
  });
  giveBackText(reply.question);
}

// "stored", or, once the wait is over, "not stored" or "no conversation" (a new one, never stored).
async function storedInTime(reply, view) {
  const deadline = Date.now() + (reply.text ? STORED_WAIT_MS.withText : STORED_WAIT_MS.withoutText);
  let outcome = "not stored";
  while (Date.now() < deadline && view.isCurrent()) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    try {
      const { messages } = await getConversation(reply.conversationId);
      if (pairStored(messages, reply)) return "stored";
      outcome = "not stored";
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 404) outcome = "no conversation"; // a new conversation, not stored (yet)
    }
  }
  return outcome;
}
