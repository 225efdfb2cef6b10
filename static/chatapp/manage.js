// Managing conversations: search the titles, delete all (after a confirmation), export the open one, and rate
// replies (thumbs up or down, with an optional reason and comment). Everything works by keyboard; results are
// announced in the page's live region.

import { ApiError, deleteAllConversations, exportUrl, rateReply } from "./api.js";
import { forgetConversations, refreshConversations, searchConversations, searchResultCount } from "./conversations.js";
import { icon, node } from "./dom.js";
import { onShownChange, shownConversation } from "./shown.js";
import { focusNewChatButton } from "./sidebar.js";
import { announce, appendNotice, onStoredReply, onThreadClick } from "./thread.js";

const SEARCH_DELAY_MS = 250;
const REASONS = [
  ["harmful", "Harmful or unsafe"],
  ["wrong", "Wrong"],
  ["unhelpful", "Not helpful"],
  ["other", "Something else"],
];

const ui = {
  search: document.getElementById("conversation-search"),
  deleteAll: document.getElementById("delete-all"),
  deleteAllDialog: document.getElementById("confirm-delete-all"),
  exportMenu: document.getElementById("export"),
  exportMd: document.getElementById("export-md"),
  exportJson: document.getElementById("export-json"),
};

export function watchManagement() {
  onShownChange(showExport);
  watchSearch();
  ui.deleteAll.addEventListener("click", deleteAll);
  ui.exportMenu.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !ui.exportMenu.open) return;
    event.stopPropagation();
    ui.exportMenu.open = false;
    ui.exportMenu.querySelector("summary").focus();
  });
  for (const link of [ui.exportMd, ui.exportJson]) {
    link.addEventListener("click", () => setTimeout(() => (ui.exportMenu.open = false)));
  }
  onThreadClick(onFeedbackClick);
  onStoredReply(addFeedbackControls);
}

// ---------------------------------------------------------------- search

function watchSearch() {
  let timer = 0;
  ui.search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(runSearch, SEARCH_DELAY_MS);
  });
  ui.search.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !ui.search.value) return;
    event.stopPropagation(); // the first Escape clears the search; the next one closes the sidebar
    ui.search.value = "";
    clearTimeout(timer);
    runSearch();
  });
}

async function runSearch() {
  const query = ui.search.value.trim();
  await searchConversations(query);
  if (query !== ui.search.value.trim()) return; // typed on: that search announces itself
  if (!query) return announce("Showing all conversations");
  const { count, more } = searchResultCount();
  if (!count) return announce(more ? "No matches yet; scroll for more" : "No conversation titles match");
  announce(`${count}${more ? " or more" : ""} ${count === 1 ? "conversation matches" : "conversations match"}`);
}

// ---------------------------------------------------------------- delete all

function confirmDeleteAll() {
  return new Promise((resolve) => {
    const dialog = ui.deleteAllDialog;
    dialog.returnValue = "";
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "delete"), { once: true });
    dialog.showModal();
  });
}

async function deleteAll() {
  if (!(await confirmDeleteAll())) {
    ui.deleteAll.focus();
    return;
  }
  ui.deleteAll.disabled = true;
  try {
    await deleteAllConversations();
    ui.search.value = "";
    await searchConversations("");
    forgetConversations();
    announce("All chats deleted");
    focusNewChatButton();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    appendNotice({ kind: "error", title: "Could not delete all chats", text: error.message });
    refreshConversations();
  } finally {
    ui.deleteAll.disabled = false;
  }
}

// ---------------------------------------------------------------- export

function showExport() {
  const conversationId = shownConversation();
  ui.exportMenu.hidden = !conversationId;
  if (!conversationId) {
    ui.exportMenu.open = false;
    return;
  }
  ui.exportMd.href = exportUrl(conversationId, "md");
  ui.exportJson.href = exportUrl(conversationId, "json");
}

// ---------------------------------------------------------------- feedback on replies

// Every stored reply gets its thumbs, whichever module put it on the page.
function addFeedbackControls(message) {
  if (message.querySelector(":scope > .feedback")) return;
  const bar = node("div", "feedback");
  bar.setAttribute("role", "group");
  bar.setAttribute("aria-label", "Rate this reply");
  bar.append(thumb("up", "Good reply"), thumb("down", "Bad reply"), node("span", "feedback-status"));
  message.append(bar);
  showRating(message, message.dataset.rating || null);
}

function thumb(rating, label) {
  const button = node("button", `icon-button feedback-${rating}`);
  button.type = "button";
  button.dataset.rating = rating;
  button.setAttribute("aria-label", label);
  button.append(icon(`thumb-${rating}`));
  return button;
}

function showRating(message, rating) {
  if (rating) message.dataset.rating = rating;
  else delete message.dataset.rating;
  for (const button of message.querySelectorAll(":scope > .feedback > [data-rating]")) {
    button.setAttribute("aria-pressed", String(button.dataset.rating === rating));
  }
}

async function onFeedbackClick(event) {
  const button = event.target.closest(".feedback [data-rating]");
  if (!button) return;
  const message = button.closest(".message");
  const conversationId = shownConversation();
  const rating = message.dataset.rating === button.dataset.rating ? null : button.dataset.rating;
  closeFeedbackForm(message, false);
  const saved = await sendRating(message, conversationId, rating && { rating });
  if (!saved || conversationId !== shownConversation()) return;
  showRating(message, rating);
  setStatus(message, rating ? "Thanks for the rating." : "Rating removed.");
  if (rating) openFeedbackForm(message, conversationId, rating);
}

async function sendRating(message, conversationId, feedback) {
  try {
    await rateReply(conversationId, message.dataset.id, feedback);
    return true;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    setStatus(message, `Not saved: ${error.message}`);
    return false;
  }
}

function setStatus(message, text) {
  message.querySelector(".feedback-status").textContent = text;
  announce(text);
}

// The optional details after a rating: why (a down only) and a comment.
function openFeedbackForm(message, conversationId, rating) {
  const form = node("form", "feedback-form");
  form.setAttribute("aria-label", "Tell us more (optional)");
  if (rating === "down") form.append(reasonChoices());
  const label = node("label", "feedback-comment");
  label.append(node("span", "", "Comment (optional)"), node("textarea"));
  label.querySelector("textarea").maxLength = 1000;
  label.querySelector("textarea").rows = 2;
  const actions = node("div", "feedback-actions");
  const send = node("button", "button", "Send feedback");
  send.type = "submit";
  const close = node("button", "button feedback-close", "Close");
  close.type = "button";
  actions.append(send, close);
  form.append(label, actions);
  message.append(form);
  form.querySelector("input, textarea").focus();
  close.addEventListener("click", () => closeFeedbackForm(message, true));
  form.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.stopPropagation();
    closeFeedbackForm(message, true);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sendDetails(message, conversationId, rating, form);
  });
}

function reasonChoices() {
  const fieldset = node("fieldset", "feedback-reasons");
  fieldset.append(node("legend", "", "What was wrong? (optional)"));
  for (const [value, text] of REASONS) {
    const label = node("label");
    const radio = node("input");
    Object.assign(radio, { type: "radio", name: "reason", value });
    label.append(radio, node("span", "", text));
    fieldset.append(label);
  }
  return fieldset;
}

async function sendDetails(message, conversationId, rating, form) {
  const reason = form.querySelector("input[name='reason']:checked")?.value;
  const comment = form.querySelector("textarea").value.trim();
  const feedback = { rating, ...(reason && { reason }), ...(comment && { comment }) };
  if (!(await sendRating(message, conversationId, feedback))) return;
  closeFeedbackForm(message, true);
  const reviewed = reason === "harmful" ? " A moderator will review this reply." : "";
  setStatus(message, `Thanks, your feedback was sent.${reviewed}`);
}

function closeFeedbackForm(message, refocus) {
  const form = message.querySelector(":scope > .feedback-form");
  if (!form) return;
  form.remove();
  if (refocus) message.querySelector(".feedback [aria-pressed='true'], .feedback [data-rating]")?.focus();
}
