// The sidebar's list of conversations: its first page and the older ones, the title search, rename in place, and
// delete. It owns its elements and its paging; the open conversation is conversation.js's.

import { ApiError, deleteConversation, listConversations, renameConversation } from "./api.js";
import { focusComposer } from "./composer.js";
import { newChat, openConversation } from "./conversation.js";
import { icon, node, observeAgain, visibilityObserver } from "./dom.js";
import { plainText } from "./plaintext.js";
import { conversationsInProgress } from "./replies.js";
import { shownConversation, onShownChange } from "./shown.js";
import { closeSidebar, focusNewChatButton, sidebarShown } from "./sidebar.js";
import { announce, appendNotice } from "./thread.js";

const listElement = document.getElementById("conversation-list");
const empty = document.getElementById("conversations-empty");
const more = document.getElementById("conversations-more");
const nav = document.querySelector(".conversations");
const deleteDialog = document.getElementById("confirm-delete");
const deleteDialogName = document.getElementById("confirm-delete-name");

const listing = {
  conversations: [],
  next: null, // the cursor to the next page of older conversations
  olderLoaded: false,
  loadingOlder: false,
  observer: null,
  query: "", // the title search the list shows; empty: all conversations
};

// The list marks the conversation on screen, and the page's title names it.
onShownChange(() => renderConversationList());

export async function refreshConversations() {
  const query = listing.query;
  try {
    const data = await listConversations(null, query);
    if (query !== listing.query) return; // the search changed meanwhile: its own answer shows
    mergeFirstPage(data);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
  }
  renderConversationList();
}

// Show only the conversations whose title contains `query` (empty: all), from their first page.
export function searchConversations(query) {
  Object.assign(listing, { query, conversations: [], next: null, olderLoaded: false });
  return refreshConversations();
}

export function searchResultCount() {
  return { count: listing.conversations.length, more: Boolean(listing.next) };
}

// After delete all: the list is empty, and the page starts a new chat.
export function forgetConversations() {
  Object.assign(listing, { conversations: [], next: null, olderLoaded: false });
  newChat();
}

// Draw the list again: after every change to it, and when a new conversation's first reply is accepted.
export function renderConversationList() {
  const current = shownConversation();
  // New conversations whose first reply is being written are listed too: they can be gone back to.
  const inProgress = listing.query ? [] : conversationsInProgress(listing.conversations); // a search: stored only
  const conversations = [...inProgress, ...listing.conversations];
  const title = titleOf(conversations.find((c) => c.id === current));
  document.title = title ? `${title} · Guarded chat` : "Guarded chat";
  empty.hidden = conversations.length > 0;
  empty.textContent = listing.query ? "No conversation titles match." : "No conversations yet.";
  // The list is rebuilt after every reply: keyboard focus inside it must survive that.
  const focused = listElement.contains(document.activeElement) ? document.activeElement : null;
  listElement.replaceChildren(...conversations.map((conversation) => listItem(conversation, current)));
  if (focused) {
    const same = (n) => n.dataset.id === focused.dataset.id && n.className === focused.className;
    [...listElement.querySelectorAll("[data-id]")].find(same)?.focus();
  }
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
  const rename = node("button", "icon-button conversation-rename");
  rename.type = "button";
  rename.dataset.id = conversation.id;
  rename.setAttribute("aria-label", `Rename “${title}”`);
  rename.append(icon("pencil"));
  item.append(anchor);
  if (!conversation.pending) item.append(rename, remove); // not stored yet: nothing to rename or delete
  return item;
}

function onListClick(event) {
  const remove = event.target.closest(".conversation-delete");
  const rename = event.target.closest(".conversation-rename");
  if (remove) removeConversation(remove.dataset.id);
  if (rename) startRename(rename.closest(".conversation"), rename.dataset.id);
  const anchor = event.target.closest(".conversation-link");
  if (!anchor || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  closeSidebar();
  if (anchor.dataset.id !== shownConversation()) openConversation(anchor.dataset.id, true);
  focusComposer();
}

// ---------------------------------------------------------------- delete

function confirmDelete(title) {
  return new Promise((resolve) => {
    deleteDialogName.textContent = title;
    deleteDialog.returnValue = "";
    deleteDialog.addEventListener("close", () => resolve(deleteDialog.returnValue === "delete"), { once: true });
    deleteDialog.showModal();
  });
}

async function removeConversation(conversationId) {
  const conversation = listing.conversations.find((c) => c.id === conversationId);
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
  listing.conversations = listing.conversations.filter((c) => c.id !== conversationId);
  if (shownConversation() === conversationId) newChat();
  else renderConversationList();
  announce("Conversation deleted");
  // New chat, when the sidebar is on screen; on a small screen deleting the open one closed it: the message box.
  if (sidebarShown()) focusNewChatButton();
  else focusComposer();
}

// ---------------------------------------------------------------- rename in place

function startRename(item, conversationId) {
  const link = item.querySelector(".conversation-link");
  const title = link.textContent;
  const input = node("input", "conversation-title-input");
  input.value = title;
  input.maxLength = 200;
  input.setAttribute("aria-label", `New title for “${title}”`);
  item.classList.add("renaming");
  link.after(input);
  input.focus();
  input.select();
  let done = false;
  const finish = async (save) => {
    if (done) return;
    done = true;
    const text = input.value.trim();
    if (save && text && text !== title && !(await saveTitle(conversationId, text, input))) {
      done = false; // refused: keep editing
      return;
    }
    input.remove();
    item.classList.remove("renaming");
    (listElement.querySelector(`.conversation-link[data-id="${CSS.escape(conversationId)}"]`) || link).focus();
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      finish(true);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // Escape cancels the edit; it does not also close the sidebar
      finish(false);
    }
  });
  input.addEventListener("blur", () => finish(true));
}

async function saveTitle(conversationId, title, input) {
  try {
    const conversation = await renameConversation(conversationId, title);
    const listed = listing.conversations.find((c) => c.id === conversationId);
    if (listed) listed.title = conversation.title;
    renderConversationList();
    announce(`Renamed to ${conversation.title}`);
    return true;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 404) {
      refreshConversations();
      return true;
    }
    input.setAttribute("aria-invalid", "true");
    announce(`Not renamed: ${error.details.fields?.title?.[0] || error.message}`);
    return false;
  }
}

// ---------------------------------------------------------------- older pages

// The first page, fetched again after every reply, replaces the top of the list; pages loaded further
// down stay, and so does the cursor after them (a cursor is a position, still valid after new activity).
function mergeFirstPage(data) {
  if (!listing.olderLoaded) {
    listing.conversations = data.conversations;
    listing.next = data.next;
  } else {
    const fresh = new Set(data.conversations.map((c) => c.id));
    const older = listing.conversations.filter((c) => !fresh.has(c.id));
    listing.conversations = [...data.conversations, ...older].sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1));
  }
  more.hidden = !listing.next;
}

async function loadOlderConversations() {
  if (listing.loadingOlder || !listing.next) return;
  listing.loadingOlder = true;
  more.textContent = "Loading older conversations…";
  try {
    const query = listing.query;
    const data = await listConversations(listing.next, query);
    if (query !== listing.query) {
      listing.loadingOlder = false;
      return;
    }
    const known = new Set(listing.conversations.map((c) => c.id));
    listing.conversations.push(...data.conversations.filter((c) => !known.has(c.id)));
    listing.next = data.next;
    listing.olderLoaded = true;
    more.hidden = !data.next;
    renderConversationList();
    listing.loadingOlder = false;
    observeAgain(listing.observer, more); // still in view: load the next page too
  } catch (error) {
    listing.loadingOlder = false;
    if (!(error instanceof ApiError)) throw error;
    // Tried again when the reader scrolls back to the end, not in a loop.
    more.textContent = "Could not load older conversations.";
  }
}

// Clicks on the list (open, rename, delete), and the next page when the end of the list comes into view.
export function watchConversationList() {
  listElement.addEventListener("click", onListClick);
  listing.observer = visibilityObserver(nav, "0px 0px 200px 0px", loadOlderConversations);
  listing.observer?.observe(more);
}
