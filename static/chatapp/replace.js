// Replacing the last exchange: a pencil on the last message puts its text back in the composer to edit and resend,
// and Regenerate under the last reply sends the same text again; either is sent with `replaces`, and the old pair
// leaves the thread only once the new reply is stored. A blocked message's text comes back to the composer.

import { ApiError, getConversation } from "./api.js";
import { composerText, focusComposer, giveBackText, isBusy, setComposerText, showEditing } from "./composer.js";
import { openConversation } from "./conversation.js";
import { icon, node } from "./dom.js";
import { shownConversation } from "./shown.js";
import { announce, lastSettledExchange, onThreadChange, onThreadClick } from "./thread.js";

const editing = {
  replacement: null, // the Replacement the composer is editing, or null
  saved: "", // what the composer held before, given back on Cancel
};
const shownActions = []; // the pencil and the Regenerate row, on the last exchange

// The last exchange as the page shows it: what a new message replaces, and its elements in the thread.
class Replacement {
  constructor(user, reply) {
    this.user = user;
    this.reply = reply;
    this.text = user.querySelector(".message-body").textContent;
  }

  // Resolve with the id of the conversation's last user message, once the server's last exchange is the one shown
  // here; else a 409 conflict, as the server would answer.
  async lastUserId() {
    const { messages } = await getConversation(shownConversation());
    const [user, reply] = messages.slice(-2);
    const shown = this.reply.dataset.id; // stored replies carry their id (thread.js markStored)
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
  onThreadClick((event) => {
    if (isBusy()) return;
    const edit = event.target.closest(".edit-message");
    const regenerate = event.target.closest(".regenerate");
    const exchange = lastExchange();
    if (!exchange || (!edit && !regenerate)) return;
    if (edit) {
      startEditing(exchange);
    } else {
      focusComposer(); // the button goes while the reply is written
      send(exchange.text, exchange);
    }
  });
  onThreadChange(showActions);
  showActions();
}

// Escape in the message box while editing cancels the edit; true when it did.
export function escapeEditing(event) {
  if (event.key !== "Escape" || !editing.replacement) return false;
  event.preventDefault();
  cancelEditing();
  return true;
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
  if (composerText()) return;
  if (replacement?.user.isConnected) {
    startEditing(replacement, text, false); // the live region is telling of the block
    return;
  }
  giveBackText(text, { focus: true });
}

// A replacement refused because the conversation changed (409) offers to show it as it is now; the composer keeps
// the text. null for any other error.
export function conflictAction(error) {
  if (error.code !== "conflict") return null;
  const button = node("button", "button reopen", "Show the latest");
  button.type = "button";
  const conversationId = shownConversation();
  button.addEventListener("click", () => isBusy() || openConversation(conversationId, false));
  return button;
}

// Leave editing, and the composer as it is (a new conversation, another conversation opened).
function stopEditing() {
  editing.replacement?.user.removeAttribute("data-editing");
  editing.replacement = null;
  showEditing(false);
}

function startEditing(exchange, text = exchange.text, announced = true) {
  if (editing.replacement) stopEditing();
  else editing.saved = composerText();
  editing.replacement = exchange;
  exchange.user.dataset.editing = "true";
  showEditing(true);
  setComposerText(text);
  if (announced) announce("Editing your last message. Enter sends it in place of the old one, Escape cancels.");
}

export function cancelEditing() {
  const replacement = editing.replacement;
  stopEditing();
  setComposerText(editing.saved, { focus: false });
  const pencil = replacement?.user.querySelector(".edit-message");
  if (pencil) pencil.focus();
  else focusComposer();
  announce("Editing cancelled");
}

// The last exchange the server stores, as shown, in a conversation that is stored.
function lastExchange() {
  const exchange = shownConversation() ? lastSettledExchange() : null;
  if (!exchange) return null;
  if (editing.replacement?.reply === exchange.reply) return editing.replacement;
  return new Replacement(exchange.user, exchange.reply);
}

// Put the pencil and Regenerate on the last exchange, and nowhere else; none while the page is busy. Idempotent:
// it runs on every change to the thread, its own included.
function showActions() {
  if (editing.replacement && !editing.replacement.user.isConnected) stopEditing(); // the thread shows another view
  const exchange = isBusy() ? null : lastExchange();
  const onExchange = (action) => exchange && (exchange.user.contains(action) || exchange.reply.contains(action));
  if (shownActions.length && shownActions.every(onExchange)) return;
  for (const action of shownActions.splice(0)) action.remove();
  if (!exchange) return;
  const edit = node("button", "icon-button edit-message");
  edit.type = "button";
  edit.setAttribute("aria-label", "Edit what you sent last"); // not "message": that names the message box
  edit.title = "Edit";
  edit.append(icon("pencil"));
  exchange.user.prepend(edit);
  shownActions.push(edit);
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
  shownActions.push(actions);
}
