// The conversations: the sidebar's list (and its older pages), opening one (and its earlier messages), new chat,
// delete, and the ?c= URL that names the open one.

import { ApiError, deleteConversation, getConversation, listConversations } from "./api.js";
import { node, icon } from "./dom.js";
import { plainText } from "./plaintext.js";
import { conversationsInProgress, replyInProgress, showReplyInProgress } from "./replies.js";
import { detachReply } from "./socket.js";
import {
  announce,
  appendMessage,
  appendNotice,
  clearThread,
  closeSidebar,
  el,
  offerContinue,
  page,
  prependMessages,
  retryButton,
  scrollToEnd,
  setBusy,
  sidebarShown,
} from "./view.js";

const list = {
  conversations: [],
  // Pages: the cursors to the next page of conversations and to the open conversation's earlier messages.
  next: null,
  olderLoaded: false,
  loadingOlder: false,
  earlier: null,
  loadingEarlier: false,
  query: "", // the title search the list shows (manage.js); empty: all conversations
};
const pageObservers = {};

export function conversationFromUrl() {
  return new URLSearchParams(location.search).get("c");
}

// The page shows this conversation now (a new one has just been stored): the URL and the list follow.
export function showConversation(conversationId) {
  if (page.conversationId === conversationId) return;
  page.conversationId = conversationId;
  setUrl(conversationId, false);
}

// The URL names this conversation (a new one, accepted but not stored yet), or none; the page's state stays.
export function keepInUrl(conversationId) {
  setUrl(conversationId, false);
}

function setUrl(conversationId, push) {
  const url = new URL(location.href);
  if (conversationId) url.searchParams.set("c", conversationId);
  else url.searchParams.delete("c");
  if (url.href !== location.href) history[push ? "pushState" : "replaceState"](null, "", url);
  renderConversationList();
}

export function changeView(conversationId) {
  page.view += 1;
  detachReply();
  setBusy(null);
  page.follow = true;
  page.conversationId = conversationId;
  clearThread();
  renderConversationList();
}

export async function refreshConversations() {
  const query = list.query;
  try {
    const data = await listConversations(null, query);
    if (query !== list.query) return; // the search changed meanwhile: its own answer shows
    mergeFirstPage(data);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
  }
  renderConversationList();
}

// Show only the conversations whose title contains `query` (empty: all), from their first page.
export function searchConversations(query) {
  Object.assign(list, { query, conversations: [], next: null, olderLoaded: false });
  return refreshConversations();
}

export function searchResultCount() {
  return { count: list.conversations.length, more: Boolean(list.next) };
}

export function renameInList(conversationId, title) {
  const conversation = list.conversations.find((c) => c.id === conversationId);
  if (conversation) conversation.title = title;
  renderConversationList();
}

// After delete all: the list is empty, and the page starts a new chat.
export function forgetConversations() {
  Object.assign(list, { conversations: [], next: null, olderLoaded: false });
  newChat();
}

function renderConversationList() {
  const current = page.conversationId;
  // New conversations whose first reply is being written are listed too: they can be gone back to.
  const inProgress = list.query ? [] : conversationsInProgress(list.conversations); // a search lists stored ones
  const conversations = [...inProgress, ...list.conversations];
  const title = titleOf(conversations.find((c) => c.id === current));
  document.title = title ? `${title} · Guarded chat` : "Guarded chat";
  el.listEmpty.hidden = conversations.length > 0;
  el.listEmpty.textContent = list.query ? "No conversation titles match." : "No conversations yet.";
  // The list is rebuilt after every reply: keyboard focus inside it must survive that.
  const focused = el.list.contains(document.activeElement) ? document.activeElement : null;
  el.list.replaceChildren(...conversations.map((conversation) => listItem(conversation, current)));
  if (focused) {
    const same = (n) => n.dataset.id === focused.dataset.id && n.className === focused.className;
    [...el.list.querySelectorAll("[data-id]")].find(same)?.focus();
  }
  el.list.dispatchEvent(new Event("listrendered")); // manage.js: the export menu follows the open conversation
}

// A title is the start of a message, Markdown and all: shown everywhere as the text it reads as.
function titleOf(conversation) {
  return conversation ? plainText(conversation.title) || "Untitled" : "";
}

function listItem(conversation, current) {
  const item = node("li", "conversation");
  const title = titleOf(conversation);
  const anchor = node("a", "conversation-link", title);
  anchor.href = `?c=${encodeURIComponent(conversation.id)}`;
  anchor.title = title;
  anchor.dataset.id = conversation.id;
  if (conversation.id === current) anchor.setAttribute("aria-current", "page");
  const remove = node("button", "icon-button conversation-delete");
  remove.type = "button";
  remove.dataset.id = conversation.id;
  remove.setAttribute("aria-label", `Delete “${title}”`);
  remove.append(icon("trash"));
  const rename = node("button", "icon-button conversation-rename"); // manage.js edits the title in place
  rename.type = "button";
  rename.dataset.id = conversation.id;
  rename.setAttribute("aria-label", `Rename “${title}”`);
  rename.append(icon("pencil"));
  item.append(anchor);
  if (!conversation.pending) item.append(rename, remove); // not stored yet: nothing to rename or delete
  return item;
}

export async function openConversation(conversationId, push) {
  changeView(conversationId);
  setUrl(conversationId, push);
  const view = page.view;
  el.welcome.hidden = true;
  setBusy("loading");
  let messages = null; // stored, on screen
  try {
    const data = await getConversation(conversationId);
    if (view !== page.view) return;
    messages = data.messages;
    for (const message of data.messages) appendMessage(message.role, message.content, message.stop_reason, message);
    offerContinue(el.thread.lastElementChild);
    if (!data.messages.length) el.welcome.hidden = false;
    showEarlier(data.earlier, view);
  } catch (error) {
    if (!(error instanceof ApiError) || view !== page.view) return;
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
    if (view === page.view) setBusy(null);
  }
  if (messages && view === page.view) {
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
  el.message.focus();
}

function confirmDelete(title) {
  return new Promise((resolve) => {
    el.dialogName.textContent = title;
    el.dialog.returnValue = "";
    el.dialog.addEventListener("close", () => resolve(el.dialog.returnValue === "delete"), { once: true });
    el.dialog.showModal();
  });
}

async function removeConversation(conversationId) {
  const conversation = list.conversations.find((c) => c.id === conversationId);
  if (!conversation || !(await confirmDelete(titleOf(conversation)))) return;
  try {
    await deleteConversation(conversationId);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status !== 404) {
      appendNotice({ kind: "error", title: "Could not delete the conversation", text: error.message });
      return;
    }
  }
  list.conversations = list.conversations.filter((c) => c.id !== conversationId);
  if (page.conversationId === conversationId) newChat();
  else renderConversationList();
  announce("Conversation deleted");
  // New chat, when the sidebar is on screen; on a small screen deleting the open one closed it: the message box.
  (sidebarShown() ? el.newChat : el.message).focus();
}

export function onListClick(event) {
  const remove = event.target.closest(".conversation-delete");
  if (remove) {
    removeConversation(remove.dataset.id);
    return;
  }
  const anchor = event.target.closest(".conversation-link");
  if (!anchor || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  closeSidebar();
  if (anchor.dataset.id !== page.conversationId) openConversation(anchor.dataset.id, true);
  el.message.focus();
}

// ---------------------------------------------------------------- pages: older conversations, earlier messages

// The first page, fetched again after every reply, replaces the top of the list; pages loaded further
// down stay, and so does the cursor after them (a cursor is a position, still valid after new activity).
function mergeFirstPage(data) {
  if (!list.olderLoaded) {
    list.conversations = data.conversations;
    list.next = data.next;
  } else {
    const fresh = new Set(data.conversations.map((c) => c.id));
    const older = list.conversations.filter((c) => !fresh.has(c.id));
    list.conversations = [...data.conversations, ...older].sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1));
  }
  el.conversationsMore.hidden = !list.next;
}

async function loadOlderConversations() {
  if (list.loadingOlder || !list.next) return;
  list.loadingOlder = true;
  el.conversationsMore.textContent = "Loading older conversations…";
  try {
    const query = list.query;
    const data = await listConversations(list.next, query);
    if (query !== list.query) {
      list.loadingOlder = false;
      return;
    }
    const known = new Set(list.conversations.map((c) => c.id));
    list.conversations.push(...data.conversations.filter((c) => !known.has(c.id)));
    list.next = data.next;
    list.olderLoaded = true;
    el.conversationsMore.hidden = !data.next;
    renderConversationList();
    list.loadingOlder = false;
    recheck(pageObservers.conversations, el.conversationsMore); // still in view: load the next page too
  } catch (error) {
    list.loadingOlder = false;
    if (!(error instanceof ApiError)) throw error;
    // Tried again when the reader scrolls back to the end, not in a loop.
    el.conversationsMore.textContent = "Could not load older conversations.";
  }
}

function showEarlier(cursor, view) {
  if (view !== page.view) return;
  list.earlier = cursor;
  let marker = document.getElementById("thread-earlier");
  if (!cursor) {
    if (marker) pageObservers.earlier?.unobserve(marker);
    marker?.remove();
    return;
  }
  if (!marker) {
    // A conversation opens at its end: the marker put above must not move the view off it.
    const atEnd = el.thread.scrollHeight - el.thread.scrollTop - el.thread.clientHeight < 2;
    marker = node("p", "thread-earlier");
    marker.id = "thread-earlier";
    marker.setAttribute("role", "status");
    el.thread.prepend(marker);
    if (atEnd) scrollToEnd();
  }
  marker.textContent = "";
  recheck(pageObservers.earlier, marker);
}

async function loadEarlierMessages() {
  const cursor = list.earlier;
  const view = page.view;
  const marker = document.getElementById("thread-earlier");
  if (list.loadingEarlier || !cursor || !marker || !page.conversationId) return;
  list.loadingEarlier = true;
  marker.textContent = "Loading earlier messages…";
  try {
    const data = await getConversation(page.conversationId, cursor);
    if (view !== page.view) return;
    prependMessages(data.messages, marker);
    showEarlier(data.earlier, view);
  } catch (error) {
    if (!(error instanceof ApiError) || view !== page.view) return;
    marker.textContent = "Could not load earlier messages.";
  } finally {
    list.loadingEarlier = false;
  }
}

function recheck(observer, target) {
  // An observer reports only changes: observing again reports a target that stayed in view.
  if (!observer || !target.isConnected) return;
  observer.unobserve(target);
  observer.observe(target);
}

// Load the next page when the end of the list, or the top of the thread, comes into view.
export function watchPages() {
  if (!("IntersectionObserver" in window)) return;
  const onVisible = (load) => (entries) => entries.some((entry) => entry.isIntersecting) && load();
  pageObservers.conversations = new IntersectionObserver(onVisible(loadOlderConversations), {
    root: el.conversationsNav,
    rootMargin: "0px 0px 200px 0px",
  });
  pageObservers.conversations.observe(el.conversationsMore);
  pageObservers.earlier = new IntersectionObserver(onVisible(loadEarlierMessages), {
    root: el.thread,
    rootMargin: "200px 0px 0px 0px",
  });
}
