// The open conversation: showing one (its stored messages, then any reply still being written there), its earlier
// pages, a new chat, and the ?c= URL that names what is shown.

import { ApiError, getConversation } from "./api.js";
import { focusComposer, setBusy } from "./composer.js";
import { observeAgain } from "./dom.js";
import { replyInProgress, showReplyInProgress } from "./replies.js";
import { closeSidebar } from "./sidebar.js";
import { currentView, nameShownConversation, showView, shownConversation } from "./shown.js";
import {
  appendMessage,
  appendNotice,
  clearThread,
  earlierMarker,
  offerContinue,
  prependMessages,
  retryButton,
  showWelcome,
  watchThreadTop,
} from "./thread.js";

// The open conversation's earlier messages: the cursor to the next page up, and the marker that loads it in view.
const earlier = { cursor: null, marker: null, loading: false, observer: null };

export function conversationFromUrl() {
  return new URLSearchParams(location.search).get("c");
}

// Show what the URL names (Back and Forward): that conversation, or a new chat.
export function showUrlConversation() {
  const conversationId = conversationFromUrl();
  if (conversationId) openConversation(conversationId, false);
  else changeView(null);
}

// The new chat on screen has just been stored as this conversation: the page and the URL name it.
export function showConversation(conversationId) {
  if (shownConversation() === conversationId) return;
  nameShownConversation(conversationId);
  setUrl(conversationId, false);
}

// The URL names this conversation (a new one, accepted but not stored yet), or none; what is shown stays.
export function keepInUrl(conversationId) {
  setUrl(conversationId, false);
}

function setUrl(conversationId, push) {
  const url = new URL(location.href);
  if (conversationId) url.searchParams.set("c", conversationId);
  else url.searchParams.delete("c");
  if (url.href !== location.href) history[push ? "pushState" : "replaceState"](null, "", url);
}

function changeView(conversationId) {
  const view = showView(conversationId);
  setBusy(null);
  clearThread();
  Object.assign(earlier, { cursor: null, marker: null });
  return view;
}

export async function openConversation(conversationId, push) {
  const view = changeView(conversationId);
  setUrl(conversationId, push);
  showWelcome(false);
  setBusy("loading");
  let messages = null; // stored, on screen
  try {
    const data = await getConversation(conversationId);
    if (!view.isCurrent()) return;
    messages = data.messages;
    for (const message of data.messages) appendMessage(message.role, message.content, message.stop_reason, message);
    offerContinue();
    if (!data.messages.length) showWelcome(true);
    showEarlier(data.earlier, view);
  } catch (error) {
    if (!(error instanceof ApiError) || !view.isCurrent()) return;
    if (error.status === 404 && replyInProgress(conversationId)) {
      messages = []; // a new conversation whose first reply is not stored yet
    } else if (error.status === 404) {
      changeView(null);
      setUrl(null, false);
      const text = "It may have been deleted. You can start a new chat below.";
      appendNotice({ kind: "error", title: "Conversation not found", text });
    } else {
      appendNotice({
        kind: "error",
        title: "Could not load this conversation",
        text: error.message,
        action: retryButton(error.retryAfter, () => openConversation(conversationId, false)),
      });
    }
  } finally {
    if (view.isCurrent()) setBusy(null);
  }
  if (messages && view.isCurrent()) {
    showReplyInProgress(conversationId, messages, {
      reopen: () => openConversation(conversationId, false),
      forget: () => (changeView(null), setUrl(null, false)),
    });
  }
}

export function newChat() {
  changeView(null);
  setUrl(null, true);
  closeSidebar();
  focusComposer();
}

// ---------------------------------------------------------------- earlier messages

function showEarlier(cursor, view) {
  if (!view.isCurrent()) return;
  earlier.cursor = cursor;
  if (!cursor) {
    if (earlier.marker) earlier.observer?.unobserve(earlier.marker);
    earlier.marker?.remove();
    earlier.marker = null;
    return;
  }
  earlier.marker = earlierMarker();
  earlier.marker.textContent = "";
  observeAgain(earlier.observer, earlier.marker);
}

async function loadEarlierMessages() {
  const { cursor, marker } = earlier;
  const view = currentView();
  const conversationId = shownConversation();
  if (earlier.loading || !cursor || !marker?.isConnected || !conversationId) return;
  earlier.loading = true;
  marker.textContent = "Loading earlier messages…";
  try {
    const data = await getConversation(conversationId, cursor);
    if (!view.isCurrent()) return;
    prependMessages(data.messages, marker);
    showEarlier(data.earlier, view);
  } catch (error) {
    if (!(error instanceof ApiError) || !view.isCurrent()) return;
    marker.textContent = "Could not load earlier messages.";
  } finally {
    earlier.loading = false;
  }
}

// Load the next page up when the top of the thread comes into view.
export function watchEarlierMessages() {
  earlier.observer = watchThreadTop(loadEarlierMessages);
}
