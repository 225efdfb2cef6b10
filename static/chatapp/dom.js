// Element builders shared by the page's modules: text goes in with textContent, never parsed as HTML.

export function node(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

export function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
  use.setAttribute("href", `#icon-${name}`);
  svg.append(use);
  return svg;
}

// An observer that runs `onVisible()` whenever an observed target comes within `rootMargin` of `root`; null in a
// browser without IntersectionObserver (pages then load only as they are asked for).
export function visibilityObserver(root, rootMargin, onVisible) {
  if (!("IntersectionObserver" in window)) return null;
  const seen = (entries) => entries.some((entry) => entry.isIntersecting) && onVisible();
  return new IntersectionObserver(seen, { root, rootMargin });
}

// Observe `target` afresh: an IntersectionObserver reports only changes, so a target that stayed in view is
// reported again (the next page loads while the end of the list is still on screen).
export function observeAgain(observer, target) {
  if (!observer || !target.isConnected) return;
  observer.unobserve(target);
  observer.observe(target);
}
