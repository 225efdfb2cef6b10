// The chat page's entry module: wires the page's controls to the modules and starts the session. The page talks
// to the v1 API only, with the URLs the template rendered (so a path prefix works). Model output is untrusted:
// it becomes DOM nodes with textContent (markdown.js), never parsed as HTML.

import { showAccount } from "../accounts/account.js";
import { ApiError, configureApi, openSession } from "./api.js";
import {
  changeView,
  conversationFromUrl,
  newChat,
  onListClick,
  openConversation,
  refreshConversations,
  watchPages,
} from "./conversations.js";
import { watchManagement } from "./manage.js";
import { watchReplace } from "./replace.js";
import { onSubmit, sendContinue, sendReplacement } from "./send.js";
import { stopReply } from "./socket.js";
import { refreshUsage } from "./usage.js";
import {
  app,
  appendNotice,
  closeSidebar,
  el,
  openSidebar,
  retryButton,
  sidebarOpen,
  SMALL_SCREEN,
  updateComposer,
  watchThread,
} from "./view.js";

function onKeydown(event) {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    el.composer.requestSubmit();
  }
}

// Escape closes the small screen's sidebar, else stops a reply being written (a dialog handles its own).
function onEscape(event) {
  if (event.key !== "Escape" || event.isComposing || el.dialog.open) return;
  if (sidebarOpen()) {
    closeSidebar();
    el.toggle.focus();
  } else if (!el.stop.hidden) {
    stopReply();
  }
}

// Enter and Shift+Enter are keyboard keys: a touch screen without a pointer that hovers shows no such hint
// (chat.css hides it from the first paint), and the message box is not described by it.
function fitHint() {
  if (getComputedStyle(el.hint).display === "none") el.message.removeAttribute("aria-describedby");
}

function watchControls() {
  el.composer.addEventListener("submit", onSubmit);
  el.stop.addEventListener("click", stopReply);
  watchThread(sendContinue);
  watchReplace(sendReplacement);
  el.message.addEventListener("keydown", onKeydown);
  el.message.addEventListener("input", updateComposer);
  el.newChat.addEventListener("click", newChat);
  el.list.addEventListener("click", onListClick);
  el.toggle.addEventListener("click", () => (sidebarOpen() ? closeSidebar() : openSidebar()));
  el.backdrop.addEventListener("click", closeSidebar);
  document.addEventListener("keydown", onEscape);
  // Widening the window shows the sidebar in the layout: the small-screen overlay must not stay open.
  matchMedia(SMALL_SCREEN).addEventListener("change", (event) => event.matches || closeSidebar());
  window.addEventListener("popstate", () => {
    const conversationId = conversationFromUrl();
    if (conversationId) openConversation(conversationId, false);
    else changeView(null);
  });
}

async function start() {
  const urls = {
    session: app.dataset.urlSession,
    chat: app.dataset.urlChat,
    conversations: app.dataset.urlConversations,
  };
  configureApi(urls, (session) => {
    el.offline.hidden = !session.offline;
    showAccount(session);
  });
  watchControls();
  watchManagement();
  fitHint();
  updateComposer();
  el.message.focus();
  watchPages();
  try {
    await openSession();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    appendNotice({
      kind: "error",
      title: "Could not start the chat",
      text: error.message,
      action: retryButton(error.retryAfter, () => location.reload()),
    });
    return;
  }
  refreshConversations();
  refreshUsage();
  const conversationId = conversationFromUrl();
  if (conversationId) openConversation(conversationId, false);
}

start();
