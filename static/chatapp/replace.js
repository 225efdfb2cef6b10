// Replacing the last exchange: a pencil on the last message puts its text back in the composer to edit and resend,
// and Regenerate under the last reply sends the same text again; either is sent with `replaces`, and the old pair
// leaves the thread only once the new reply is stored. A blocked message's text comes back to the composer.

import { ApiError, getConversation } from "./api.js";
import { openConversation } from "./conversations.js";
import { icon, node } from "./dom.js";
import { announce, el, isBusy, page, updateComposer } from "./view.js";

const editing = {
  replacement: null, // the Replacement the composer is editing, or null
  saved: "", // what the composer held before, given back on Cancel
};

// The last exchange as the page shows it: what a new message replaces, and its elements in the thread.
export class Replacement {
  constructor(user, reply) {
    this.user = user;
    this.reply = reply;
    this.text = user.querySelector(".message-body").textContent;
  }

  // Resolve with the id of the conversation's last user message, once the server's last exchange is the one shown
  // here; else a 409 conflict, as the server would answer.
  async lastUserId() {
    const { messages } = await getConversation(page.conversationId);
    const [user, reply] = messages.slice(-2);
    const shown = this.reply.dataset.id; // stored replies carry their id (view.js markStored)
    const same = shown ? reply?.id === shown : reply && cleaned(user.content) === cleaned(this.text);
    if (user?.role !== "user" || reply?.role !== "assistant" || !same) {
      const message = "It changed elsewhere (another tab or device) since it was shown here, so nothing was sent.";
      throw new ApiError(409, "conflict", message, 0);
    }
    return user.id;
  }

  // While the new message is answered the old pair is out of sight; it goes for good once the reply is stored.
  hide(hidden) {
    this.user.hidden = hidden;
    this.reply.hidden = hidden;
  }

  remove() {
    this.user.remove();
    this.reply.remove();
  }
}

// The server stores the text cleaned (Unicode NFKC, trimmed): the page compares it the same way.
function cleaned(text) {
  return text.normalize("NFKC").trim();
}

// `send(text, replacement)` sends a message in place of the last exchange. The buttons follow the thread: they sit
// on the last stored exchange whenever the page is idle.
export function watchReplace(send) {
  el.thread.addEventListener("click", (event) => {
    if (isBusy()) return;
    const edit = event.target.closest(".edit-message");
    const regenerate = event.target.closest(".regenerate");
    const exchange = lastExchange();
    if (!exchange || (!edit && !regenerate)) return;
    if (edit) {
      startEditing(exchange);
    } else {
      el.message.focus(); // the button goes while the reply is written
      send(exchange.text, exchange);
    }
  });
  document.getElementById("edit-cancel").addEventListener("click", cancelEditing);
  el.message.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && editing.replacement) {
      event.preventDefault();
      cancelEditing();
    }
  });
  const observer = new MutationObserver(() => showActions());
  observer.observe(el.thread, { childList: true, subtree: true, attributeFilter: ["data-state", "hidden"] });
  showActions();
}

// The Replacement the composer was editing, taken (editing ends): the message being sent replaces it. null when the
// composer was not editing, or the exchange it edited is no longer the last one shown.
export function takeEditing() {
  const replacement = editing.replacement;
  stopEditing();
  return replacement && lastExchange()?.reply === replacement.reply ? replacement : null;
}

// After a block, the message's text is back in the composer to rephrase (still in place of the exchange it was to
// replace, when it was a replacement).
export function giveBack(text, replacement) {
  if (el.message.value) return;
  if (replacement?.user.isConnected) {
    startEditing(replacement, text, false); // the live region is telling of the block
    return;
  }
  el.message.value = text;
  updateComposer();
  el.message.focus();
}

// A replacement refused because the conversation changed (409) offers to show it as it is now; the composer keeps
// the text. null for any other error.
export function conflictAction(error) {
  if (error.code !== "conflict") return null;
  const button = node("button", "button reopen", "Show the latest");
  button.type = "button";
  const conversationId = page.conversationId;
  button.addEventListener("click", () => isBusy() || openConversation(conversationId, false));
  return button;
}

// Leave editing, and the composer as it is (a new conversation, another conversation opened).
export function stopEditing() {
  editing.replacement?.user.removeAttribute("data-editing");
  editing.replacement = null;
  document.getElementById("edit-bar").hidden = true;
  el.message.setAttribute("aria-describedby", "composer-hint");
}

function startEditing(exchange, text = exchange.text, announced = true) {
  if (editing.replacement) stopEditing();
  else editing.saved = el.message.value;
  editing.replacement = exchange;
  exchange.user.dataset.editing = "true";
  document.getElementById("edit-bar").hidden = false;
  // Whoever reaches the message box hears that it is editing, not writing a new message.
  el.message.setAttribute("aria-describedby", "edit-bar-text composer-hint");
  el.message.value = text;
  updateComposer();
  el.message.focus();
  el.message.setSelectionRange(text.length, text.length);
  if (announced) announce("Editing your last message. Enter sends it in place of the old one, Escape cancels.");
}

function cancelEditing() {
  const replacement = editing.replacement;
  stopEditing();
  el.message.value = editing.saved;
  updateComposer();
  (replacement?.user.querySelector(".edit-message") || el.message).focus();
  announce("Editing cancelled");
}

// The last exchange the server stores, as shown: a settled reply right after its settled message. Blocked or failed
// messages after it were never stored.
function lastExchange() {
  if (!page.conversationId) return null;
  const settled = ":scope > .message[data-role='assistant']:not([data-state]):not([hidden])";
  const replies = el.thread.querySelectorAll(settled);
  const reply = replies[replies.length - 1];
  const user = reply?.previousElementSibling;
  if (!user?.matches(".message[data-role='user']:not([data-state])")) return null;
  if (editing.replacement?.reply === reply) return editing.replacement;
  return new Replacement(user, reply);
}

// Put the pencil and Regenerate on the last exchange, and nowhere else; none while the page is busy. Idempotent:
// it runs on every change to the thread, its own included.
function showActions() {
  if (editing.replacement && !editing.replacement.user.isConnected) stopEditing(); // the thread shows another view
  const exchange = isBusy() ? null : lastExchange();
  for (const action of el.thread.querySelectorAll(".edit-message, .exchange-actions")) {
    if (!exchange || !(exchange.user.contains(action) || exchange.reply.contains(action))) action.remove();
  }
  if (!exchange || exchange.user.querySelector(".edit-message")) return;
  const edit = node("button", "icon-button edit-message");
  edit.type = "button";
  edit.setAttribute("aria-label", "Edit what you sent last"); // not "message": that names the message box
  edit.title = "Edit";
  edit.append(icon("pencil"));
  exchange.user.prepend(edit);
  const actions = node("div", "exchange-actions");
  // Icons only, named for assistive technology: the message's own text stays the reply's text.
  const regenerate = node("button", "icon-button regenerate");
  regenerate.type = "button";
  regenerate.append(icon("regenerate"));
  regenerate.setAttribute("aria-label", "Regenerate the last reply");
  regenerate.title = "Regenerate";
  actions.append(regenerate);
  // Beside the reply's thumbs when it has them (manage.js), before their status text; else a row of its own.
  const feedback = exchange.reply.querySelector(":scope > .feedback");
  if (feedback) feedback.insertBefore(actions, feedback.querySelector(":scope > .feedback-status"));
  else exchange.reply.append(actions);
}
