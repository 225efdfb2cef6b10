// The chat page's entry module: wires the page's controls to the modules and starts the session. The page talks
// to the v1 API only, with the URLs the template rendered (so a path prefix works). Model output is untrusted:
// it becomes DOM nodes with textContent (markdown.js), never parsed as HTML.

import { showAccount } from "../accounts/account.js";
import { ApiError, configureApi, openSession } from "./api.js";
import { isStreaming, watchComposer } from "./composer.js";
import {
  conversationFromUrl,
  newChat,
  openConversation,
  showUrlConversation,
  watchEarlierMessages,
} from "./conversation.js";
import { refreshConversations, watchConversationList } from "./conversations.js";
import { watchManagement } from "./manage.js";
import { cancelEditing, escapeEditing, watchReplace } from "./replace.js";
import { sendComposed, sendContinue, sendReplacement } from "./send.js";
import { onShownChange } from "./shown.js";
import { closeSidebar, sidebarOpen, watchSidebar } from "./sidebar.js";
import { detachReply, stopReply } from "./socket.js";
import { appendNotice, retryButton, watchThread } from "./thread.js";
import { refreshUsage } from "./usage.js";

const app = document.getElementById("app");

// Escape closes the small screen's sidebar, else stops a reply being written (a dialog handles its own).
function onEscape(event) {
  if (event.key !== "Escape" || event.isComposing || document.querySelector("dialog[open]")) return;
  if (sidebarOpen()) closeSidebar({ refocus: true });
  else if (isStreaming()) stopReply();
}

function watchControls() {
  watchComposer({ onSubmit: sendComposed, onStop: stopReply, onCancelEdit: cancelEditing, onKeydown: escapeEditing });
  watchThread(sendContinue);
  watchReplace(sendReplacement);
  watchSidebar({ onNewChat: newChat });
  watchConversationList();
  watchEarlierMessages();
  watchManagement();
  // The page shows something else: a reply still streaming goes on, on its own socket, out of sight.
  onShownChange(({ viewChanged }) => viewChanged && detachReply());
  document.addEventListener("keydown", onEscape);
  window.addEventListener("popstate", showUrlConversation);
}

async function start() {
  const urls = {
    session: app.dataset.urlSession,
    chat: app.dataset.urlChat,
    conversations: app.dataset.urlConversations,
    usage: app.dataset.urlUsage,
  };
  const offline = document.getElementById("offline-banner");
  configureApi(urls, (session) => {
    offline.hidden = !session.offline;
    showAccount(session);
  });
  watchControls();
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
