// The chat page's account bar: who is signed in (GET /api/v1/session's `user`), with Sign out, or Sign in and
// Sign up. Sign out is a POST with the session's CSRF token: a link could be followed by any page or prefetcher.

function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  return a;
}

function signOutForm(url, csrfToken) {
  const form = document.createElement("form");
  form.method = "post";
  form.action = url;
  const token = document.createElement("input");
  token.type = "hidden";
  token.name = "csrfmiddlewaretoken";
  token.value = csrfToken;
  const button = document.createElement("button");
  button.type = "submit";
  button.textContent = "Sign out";
  form.append(token, button);
  return form;
}

// Render the bar for one GET /api/v1/session answer.
export function showAccount(session) {
  const bar = document.getElementById("account-bar");
  if (!bar) return;
  const urls = bar.dataset;
  if (session.user) {
    const who = link(urls.urlAccount, session.user.email);
    who.className = "account-email";
    who.id = "account-email";
    who.title = `${session.user.email}: account settings`;
    bar.replaceChildren(who, signOutForm(urls.urlLogout, session.csrf_token));
  } else {
    bar.replaceChildren(link(urls.urlLogin, "Sign in"), link(urls.urlSignup, "Sign up"));
  }
}
