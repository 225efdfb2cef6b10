// What the page shows: one conversation, or a new chat (null), as a View. Showing anything else starts a new
// View, so work begun for an earlier one (a reply, a page of history) can tell it is late and drop its answer.
// Set here only; other modules hear of each change through onShownChange.

class View {
  isCurrent() {
    return this === current;
  }
}

let current = new View();
let conversationId = null;
const changeHooks = [];

export function currentView() {
  return current;
}

export function shownConversation() {
  return conversationId;
}

// Show another conversation (null: a new chat) as a new View, which becomes the only current one.
export function showView(shownId) {
  current = new View();
  conversationId = shownId;
  for (const hook of changeHooks) hook({ viewChanged: true });
  return current;
}

// The new chat on screen was stored as this conversation: the same View, now named.
export function nameShownConversation(shownId) {
  if (conversationId === shownId) return;
  conversationId = shownId;
  for (const hook of changeHooks) hook({ viewChanged: false });
}

// `hook({viewChanged})` runs after every change of what is shown: a new View, or the new chat named.
export function onShownChange(hook) {
  changeHooks.push(hook);
}
