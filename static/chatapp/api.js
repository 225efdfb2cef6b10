// The v1 HTTP API: JSON both ways, the session's CSRF token on every unsafe request, failures as ApiError.
// The URLs are the ones the template rendered (configureApi), so a path prefix works.

const REQUEST_TIMEOUT_MS = 35000;

const session = {
  urls: null,
  onStart: () => {},
  csrfToken: "",
  started: Promise.resolve(),
  websocket: null, // {url, ticket} from GET /api/v1/session, or null: replies come by POST
};

export class ApiError extends Error {
  constructor(status, code, message, retryAfter, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.details = details || {};
  }
}

// `urls`: {session, chat, conversations, usage}. `onStart(data)` hears every GET /api/v1/session answer.
export function configureApi(urls, onStart) {
  session.urls = urls;
  session.onStart = onStart;
}

// Start the page's session; requests other than GET wait for it (a message sent while the page is starting).
export function openSession() {
  session.started = startSession();
  return session.started;
}

// Resolves once the page's session has started or failed to.
export function sessionReady() {
  return session.started.catch(() => null);
}

// Fetch a session (and a fresh CSRF token and socket ticket): at start, after a stale token or an expired ticket.
export async function startSession() {
  const data = await fetchJson("GET", session.urls.session);
  session.csrfToken = data.csrf_token;
  session.websocket = data.websocket || null;
  session.onStart(data);
}

// The streaming socket's {url, ticket}, or null when the server has streaming off.
export function websocketInfo() {
  return session.websocket;
}

export function postChat(body) {
  return request("POST", session.urls.chat, body);
}

// `q`: only the conversations whose title contains it (any case); empty or absent: all of them.
export function listConversations(cursor, q) {
  return request("GET", withParams(session.urls.conversations, { cursor, q: q || null }));
}

export function getConversation(conversationId, before) {
  return request("GET", withParams(conversationUrl(conversationId), { before }));
}

export function deleteConversation(conversationId) {
  return request("DELETE", conversationUrl(conversationId));
}

export function renameConversation(conversationId, title) {
  return request("PATCH", conversationUrl(conversationId), { title });
}

export function deleteAllConversations() {
  return request("DELETE", session.urls.conversations);
}

// The caller's own spending: {limit_usd, remaining_usd, resets_at, …} (GET /api/v1/usage).
export function getUsage() {
  return request("GET", session.urls.usage);
}

// A plain link downloads it (the server answers Content-Disposition: attachment).
export function exportUrl(conversationId, format) {
  return withParams(`${conversationUrl(conversationId)}/export`, { format });
}

// `feedback`: {rating: "up"|"down", reason?, comment?}; null withdraws it.
export function rateReply(conversationId, messageId, feedback) {
  const url = `${conversationUrl(conversationId)}/messages/${encodeURIComponent(messageId)}/feedback`;
  return feedback ? request("PUT", url, feedback) : request("DELETE", url);
}

export function newRequestId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function conversationUrl(conversationId) {
  return `${session.urls.conversations}/${encodeURIComponent(conversationId)}`;
}

function withParams(url, params) {
  const query = new URLSearchParams(Object.entries(params).filter(([, value]) => value != null)).toString();
  return query ? `${url}?${query}` : url;
}

async function request(method, url, body, csrfRetried = false) {
  // A message sent while the page is still starting waits for the session's CSRF token.
  if (method !== "GET") await sessionReady();
  try {
    return await fetchJson(method, url, body);
  } catch (error) {
    // The token can go stale (new session elsewhere): fetch a fresh one and try once more.
    if (error instanceof ApiError && error.code === "csrf_failed" && !csrfRetried) {
      await startSession();
      return request(method, url, body, true);
    }
    throw error;
  }
}

async function fetchJson(method, url, body) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = session.csrfToken;
  try {
    const response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal: controller.signal,
    });
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (response.ok) return data;
    const error = (data && data.error) || {};
    const message = error.message || `The server answered ${response.status}.`;
    throw new ApiError(response.status, error.code || "http_error", message, retryAfter(response), error);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (controller.signal.aborted) {
      throw new ApiError(0, "timeout", "The server took too long to answer. Your message may not have been sent.", 0);
    }
    throw new ApiError(0, "network", "Could not reach the server. Check your connection and try again.", 0);
  } finally {
    clearTimeout(timer);
  }
}

function retryAfter(response) {
  const header = response.headers.get("Retry-After");
  if (!header) return 0;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(header);
  return Number.isNaN(date) ? 0 : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}
