// The composer: the message box, Send and Stop, the keyboard hint, the bar shown while editing the last message,
// and the page's busy state, which decides what the composer offers. Set here only; other modules change it
// through these functions.

const composer = document.getElementById("composer");
const box = document.getElementById("message");
const send = document.getElementById("send");
const stop = document.getElementById("stop");
const hint = document.getElementById("composer-hint");
const editBar = document.getElementById("edit-bar");

let busy = null; // see setBusy
const busyHooks = [];

// ---------------------------------------------------------------- busy state

// null: idle. "loading": a conversation's history is on its way (a message sent now would land above it).
// "sending": a reply is awaited. "streaming": a reply is being written over the socket, and Stop replaces Send.
export function setBusy(mode) {
  const focused = document.activeElement;
  busy = mode;
  stop.hidden = mode !== "streaming";
  send.hidden = mode === "streaming";
  updateSend();
  for (const hook of busyHooks) hook(mode);
  // Focus on a button that just went away moves to the one in its place (Send → Stop) or to the message box.
  if (focused === send && send.hidden) stop.focus();
  if (focused === stop && stop.hidden) box.focus();
}

// `hook(mode)` runs after every change of the busy state (the thread is busy while it loads).
export function onBusyChange(hook) {
  busyHooks.push(hook);
}

export function isBusy() {
  return busy !== null;
}

export function isStreaming() {
  return busy === "streaming";
}

function updateSend() {
  send.disabled = isBusy() || !box.value.trim();
}

// ---------------------------------------------------------------- the message box

// Take the text to send, leaving the box empty and focused; null when there is nothing to send or the page is busy.
export function takeComposerText() {
  const text = box.value;
  if (isBusy() || !text.trim()) return null;
  box.value = "";
  box.focus();
  return text;
}

export function composerText() {
  return box.value;
}

// Put `text` in the box, the caret at its end.
export function setComposerText(text, { focus = true } = {}) {
  box.value = text;
  updateSend();
  if (!focus) return;
  box.focus();
  box.setSelectionRange(text.length, text.length);
}

// A message that was not sent comes back to the box to edit or send again, unless something new was typed there.
export function giveBackText(text, { focus = false } = {}) {
  if (box.value) return false;
  setComposerText(text, { focus });
  return true;
}

export function focusComposer() {
  box.focus();
}

// While the last message is being edited the bar says so, and whoever reaches the box hears it.
export function showEditing(editing) {
  editBar.hidden = !editing;
  box.setAttribute("aria-describedby", editing ? "edit-bar-text composer-hint" : "composer-hint");
  fitHint();
}

// Enter and Shift+Enter are keyboard keys: a touch screen without a pointer that hovers shows no such hint
// (chat.css hides it from the first paint), and the message box is not described by it.
function fitHint() {
  if (getComputedStyle(hint).display !== "none") return;
  const described = (box.getAttribute("aria-describedby") || "").replace("composer-hint", "").trim();
  if (described) box.setAttribute("aria-describedby", described);
  else box.removeAttribute("aria-describedby");
}

// `onSubmit()`: Send or Enter; `onStop()`: Stop; `onCancelEdit()`: the edit bar's Cancel; `onKeydown(event)`: any
// other key in the box (Escape while editing).
export function watchComposer({ onSubmit, onStop, onCancelEdit, onKeydown }) {
  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    onSubmit();
  });
  stop.addEventListener("click", onStop);
  document.getElementById("edit-cancel").addEventListener("click", onCancelEdit);
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.requestSubmit();
    } else {
      onKeydown(event);
    }
  });
  box.addEventListener("input", updateSend);
  fitHint();
  updateSend();
  box.focus();
}
