// Sending a message: over the socket when there is one (the reply shown as it is written), else by POST; then
// the reply, or what went wrong and what the person can do about it.

import { ApiError, getConversation, newRequestId, postChat, sessionReady } from "./api.js";
import { giveBackText, setBusy, takeComposerText } from "./composer.js";
import { keepInUrl, showConversation } from "./conversation.js";
import { refreshConversations, renderConversationList } from "./conversations.js";
import { conflictAction, giveBack, takeEditing } from "./replace.js";
import { replyAccepted, replyEnded, replyGrew, replyStarted } from "./replies.js";
import { currentView, shownConversation } from "./shown.js";
import { socketAvailable, streamReply, takeStoppedReply } from "./socket.js";
import { refreshUsage } from "./usage.js";
import {
  appendMessage,
  appendNotice,
  hideTyping,
  ReplyDraft,
  removeContinue,
  retryButton,
  setMessageState,
  showFinishedReply,
  showTyping,
} from "./thread.js";

// How long the next message waits for a stopped reply to be stored (the server stores it at its next send).
const STOP_SETTLE_MS = 5000;
const CATEGORY_NAMES = {
  prompt_injection: "an attempt to override the assistant's instructions (prompt injection)",
  jailbreak: "an attempt to get around the assistant's safety rules (jailbreak)",
  prompt_extraction: "an attempt to reveal the assistant's hidden instructions",
  harmful_content: "a request for harmful content",
  other: "content our usage policy does not allow",
};

// Send or Enter: the composer's text, in place of the last exchange while that is being edited.
export function sendComposed() {
  const text = takeComposerText();
  if (text === null) return;
  const replacement = takeEditing(); // editing the last message: sent in its place
  sendMessage(text, appendMessage("user", text), newRequestId(), replacement);
}

// Edit and resend, or regenerate: `text` is sent in place of the last exchange (a Replacement, replace.js).
export function sendReplacement(text, replacement) {
  sendMessage(text, appendMessage("user", text), newRequestId(), replacement);
}

// The Continue button under an incomplete reply: "continue" goes as the next message.
export function sendContinue() {
  sendMessage("continue", appendMessage("user", "continue"), newRequestId());
}

async function sendMessage(text, userMessage, requestId, replacement = null) {
  const view = currentView();
  const draft = new ReplyDraft(userMessage);
  // Kept with its conversation, so that leaving it and coming back shows the reply still being written.
  const inProgress = replyStarted({ requestId, conversationId: shownConversation(), question: text });
  setBusy("sending");
  removeContinue();
  setMessageState(userMessage, "pending");
  replacement?.hide(true);
  showTyping();
  try {
    const data = await replyTo(text, requestId, view, draft, inProgress, replacement);
    replyEnded(inProgress, { message: data.message, shown: view.isCurrent() });
    if (!view.isCurrent()) return;
    replacement?.remove();
    setMessageState(userMessage, null);
    showConversation(data.conversation_id);
    hideTyping();
    showFinishedReply(draft, data.message);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    replyEnded(inProgress, { error });
    if (!view.isCurrent()) return;
    if (!shownConversation()) keepInUrl(null); // a new one, not stored: the URL set when it was accepted goes
    draft.discard();
    hideTyping();
    replacement?.hide(false); // not replaced: the old pair is still the last
    showFailure(error, text, userMessage, requestId, replacement);
  } finally {
    draft.cancel();
    if (view.isCurrent()) {
      hideTyping();
      setBusy(null);
    }
    refreshConversations();
    refreshUsage();
  }
}

// Resolve with the reply as POST answers it ({conversation_id, message}): streamed when the socket is there.
async function replyTo(text, requestId, view, draft, inProgress, replacement) {
  await sessionReady();
  await stoppedReplyStored();
  const replaces = replacement ? await replacement.lastUserId() : undefined;
  const hooks = {
    isCurrent: () => view.isCurrent(),
    onStreaming: () => setBusy("streaming"),
    onAccepted: (conversationId) => {
      replyAccepted(inProgress, conversationId);
      if (inProgress.startsConversation) renderConversationList(); // listed while its first reply is written
      // A new conversation goes in the URL at once: New chat then Back, or a reload, comes back to it.
      if (view.isCurrent() && !shownConversation()) keepInUrl(conversationId);
    },
    onText: (reply) => {
      replyGrew(inProgress, reply);
      if (view.isCurrent()) draft.show(reply);
    },
  };
  const conversationId = shownConversation();
  const streamed = socketAvailable() ? await streamReply(text, requestId, conversationId, hooks, replaces) : null;
  if (streamed !== null) return streamed;
  return postChat({ message: text, conversation_id: conversationId, request_id: requestId, replaces });
}

// The server stores a stopped reply when it notices the close, at its next send. A message sent before then
// would be answered without that reply in its history (or refused: a new conversation is not stored yet), so
// it waits, a few seconds at most, until the conversation ends with the stopped reply.
async function stoppedReplyStored() {
  const stopped = takeStoppedReply();
  if (!stopped || stopped.conversationId !== shownConversation()) return;
  for (const deadline = Date.now() + STOP_SETTLE_MS; Date.now() < deadline; ) {
    try {
      const { messages } = await getConversation(stopped.conversationId);
      const last = messages[messages.length - 1];
      if (last?.role === "assistant" && last.content.startsWith(stopped.text)) return;
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function showFailure(error, text, userMessage, requestId, replacement) {
  if (error.code === "prompt_blocked") {
    setMessageState(userMessage, "blocked");
    giveBack(text, replacement); // to rephrase
    const category = error.details.category || "other";
    const reason = CATEGORY_NAMES[category] || category.replace(/_/g, " ");
    const notice = appendNotice({
      kind: "blocked",
      title: "Message blocked by the safety screen",
      text: `It looked like ${reason}, so it was not sent to the assistant or saved. If this is a mistake, please rephrase; blocked messages are reviewed by a moderator.`,
    });
    notice.dataset.category = category;
    return;
  }
  setMessageState(userMessage, "failed");
  const retryable = error.status === 0 || error.status === 429 || error.status >= 500;
  if (!retryable) giveBackText(text); // e.g. too long: give the text back to edit
  const notice = appendNotice({
    kind: error.status === 429 ? "rate-limited" : "error",
    title: failureTitle(error),
    text: error.message,
    action: retryable ? retryButton(error.retryAfter, () => {
      notice.remove();
      sendMessage(text, userMessage, requestId, replacement);
    }) : conflictAction(error),
  });
}

function failureTitle(error) {
  if (error.code === "budget_exhausted") return "Today's allowance is used up";
  if (error.status === 429) return "Message limit reached";
  if (error.code === "screening_unavailable") return "Safety screening is unavailable";
  if (error.code === "model_unavailable") return "The assistant could not answer";
  if (error.code === "storage_unavailable") return "Storage is unavailable";
  if (error.code === "reply_withheld") return "Reply withheld";
  if (error.code === "network") return "Connection problem";
  if (error.code === "stopped") return "Stopped";
  if (error.code === "timeout") return "No answer in time";
  if (error.code === "conflict") return "The conversation has changed";
  return "Message not sent";
}
