// The sidebar on small screens: an overlay opened by the menu button and closed by the backdrop, Escape, or
// widening the window. On a wide screen it is always part of the layout.

const SMALL_SCREEN = "(max-width: 767px)"; // chat.css's breakpoint

const app = document.getElementById("app");
const toggle = document.getElementById("sidebar-toggle");
const backdrop = document.getElementById("backdrop");
const main = document.querySelector(".main");
const newChatButton = document.getElementById("new-chat");

export function sidebarOpen() {
  return app.classList.contains("sidebar-open");
}

// The sidebar is on screen: always on a wide screen, on a small one while open.
export function sidebarShown() {
  return sidebarOpen() || !matchMedia(SMALL_SCREEN).matches;
}

function openSidebar() {
  app.classList.add("sidebar-open");
  toggle.setAttribute("aria-expanded", "true");
  backdrop.hidden = false;
  main.inert = true; // keyboard focus stays in the open sidebar
  newChatButton.focus();
}

// Close the overlay; `refocus`: focus goes back to the menu button that opened it.
export function closeSidebar({ refocus = false } = {}) {
  if (!sidebarOpen()) return;
  app.classList.remove("sidebar-open");
  toggle.setAttribute("aria-expanded", "false");
  backdrop.hidden = true;
  main.inert = false;
  if (refocus) toggle.focus();
}

export function focusNewChatButton() {
  newChatButton.focus();
}

// `onNewChat()`: the New chat button.
export function watchSidebar({ onNewChat }) {
  newChatButton.addEventListener("click", onNewChat);
  toggle.addEventListener("click", () => (sidebarOpen() ? closeSidebar() : openSidebar()));
  backdrop.addEventListener("click", () => closeSidebar());
  // Widening the window shows the sidebar in the layout: the small-screen overlay must not stay open.
  matchMedia(SMALL_SCREEN).addEventListener("change", (event) => event.matches || closeSidebar());
}
