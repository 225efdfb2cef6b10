// The chat page: talks to the v1 API only, with the URLs the template rendered (so a path prefix works).
// Model output is untrusted: it is turned into DOM nodes with textContent (markdown.js), never parsed as HTML.

import { icon, node } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

(() => {
  const REQUEST_TIMEOUT_MS = 35000;
  const SOCKET_CONNECT_TIMEOUT_MS = 5000;
  // Longer than the function's own timeout: a reply that stays silent this long is not coming.
  const SOCKET_QUIET_TIMEOUT_MS = 100000;
  // After the socket could not connect, messages go by POST for this long before the socket is tried again.
  const SOCKET_RETRY_AFTER_MS = 60000;
  // How long the next message waits for a stopped reply to be stored (the server stores it at its next send).
  const STOP_SETTLE_MS = 5000;
  // A reply that did not end on its own (anything but end_turn) is never shown as a complete answer.
  const CUT_REPLY_NOTES = {
    max_tokens: "Cut off: the reply reached its length limit.",
    time_limit: "Cut off: the reply ran out of time.",
    stopped: "Stopped before the end.",
  };
  // The HTTP status each error code has on POST, so a socket's error is shown exactly as POST's would be.
  const ERROR_STATUS = {
    invalid_request: 400,
    ticket_invalid: 401,
    prompt_blocked: 403,
    not_found: 404,
    rate_limited: 429,
    reply_withheld: 502,
  };
  const CATEGORY_NAMES = {
    prompt_injection: "an attempt to override the assistant's instructions (prompt injection)",
    jailbreak: "an attempt to get around the assistant's safety rules (jailbreak)",
    prompt_extraction: "an attempt to reveal the assistant's hidden instructions",
    harmful_content: "a request for harmful content",
    other: "content our usage policy does not allow",
  };

  const app = document.getElementById("app");
  const urls = {
    session: app.dataset.urlSession,
    chat: app.dataset.urlChat,
    conversations: app.dataset.urlConversations,
  };
  const el = {
    thread: document.getElementById("thread"),
    welcome: document.getElementById("welcome"),
    announcer: document.getElementById("announcer"),
    composer: document.getElementById("composer"),
    message: document.getElementById("message"),
    send: document.getElementById("send"),
    stop: document.getElementById("stop"),
    list: document.getElementById("conversation-list"),
    listEmpty: document.getElementById("conversations-empty"),
    newChat: document.getElementById("new-chat"),
    toggle: document.getElementById("sidebar-toggle"),
    main: document.querySelector(".main"),
    backdrop: document.getElementById("backdrop"),
    offline: document.getElementById("offline-banner"),
    dialog: document.getElementById("confirm-delete"),
    dialogName: document.getElementById("confirm-delete-name"),
    conversationsNav: document.querySelector(".conversations"),
    conversationsMore: document.getElementById("conversations-more"),
  };
  const state = {
    csrfToken: "",
    session: Promise.resolve(),
    conversationId: null,
    conversations: [],
    pending: false,
    busy: null, // null, "loading" (history), "sending" (waiting for a reply) or "streaming" (a socket reply)
    websocket: null, // {url, ticket} from GET /api/v1/session, or null: replies come by POST
    socket: null, // the open WebSocket, made on the first message and again after any close
    socketRetryAt: 0,
    stream: null, // the socket reply the page is showing
    stopped: null, // {conversationId, text} of a reply stopped here and maybe not stored yet
    follow: true, // the thread follows a growing reply until the reader scrolls up
    // Bumped whenever the thread shows something else, so late answers for the old view are dropped.
    view: 0,
    // Pages: the cursors to the next page of conversations and to the open conversation's earlier messages.
    conversationsNext: null,
    olderConversationsLoaded: false,
    loadingConversations: false,
    earlier: null,
    loadingEarlier: false,
  };

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, code, message, retryAfter, details) {
      super(message);
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter;
      this.details = details || {};
    }
  }

  async function request(method, url, body, csrfRetried = false) {
    // A message sent while the page is still starting waits for the session's CSRF token.
    if (method !== "GET") await state.session.catch(() => null);
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
    if (method !== "GET") headers["X-CSRFToken"] = state.csrfToken;
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

  async function startSession() {
    const data = await fetchJson("GET", urls.session);
    state.csrfToken = data.csrf_token;
    state.websocket = data.websocket || null;
    el.offline.hidden = !data.offline;
  }

  function newRequestId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  async function copyCode(button, pre) {
    try {
      await navigator.clipboard.writeText(pre.textContent);
      button.textContent = "Copied";
    } catch {
      // No clipboard access (plain http, permission denied): select the code for a manual copy.
      window.getSelection().selectAllChildren(pre);
      button.textContent = "Press Ctrl+C";
    }
    setTimeout(() => (button.textContent = "Copy"), 2000);
  }

  // ---------------------------------------------------------------- the thread

  function announce(text) {
    el.announcer.textContent = "";
    setTimeout(() => (el.announcer.textContent = text), 50);
  }

  function scrollToEnd() {
    el.thread.scrollTop = el.thread.scrollHeight;
  }

  // Within a few pixels of the end counts as at the end (rounding, the last line's padding).
  function atEnd() {
    return el.thread.scrollHeight - el.thread.scrollTop - el.thread.clientHeight < 48;
  }

  function appendMessage(role, content, stopReason) {
    el.welcome.hidden = true;
    const message = node("article", "message");
    message.dataset.role = role;
    message.setAttribute("aria-label", role === "user" ? "You" : "Assistant");
    const body = node("div", "message-body");
    if (role === "assistant") body.append(renderMarkdown(content));
    else body.textContent = content; // what the person typed, shown as typed
    message.append(body);
    el.thread.append(message);
    if (role === "assistant") finishMessage(message, stopReason);
    if (role === "user") state.follow = true;
    if (state.follow) scrollToEnd();
    return message;
  }

  // Re-render a reply that grew: blocks that came out the same stay untouched (no flicker, a selection inside
  // them survives); only what changed, usually the last block, is replaced.
  function renderInto(body, text) {
    const fresh = [...renderMarkdown(text).childNodes];
    let same = 0;
    while (same < fresh.length && same < body.childNodes.length && body.childNodes[same].isEqualNode(fresh[same])) {
      same += 1;
    }
    while (body.childNodes.length > same) body.lastChild.remove();
    body.append(...fresh.slice(same));
  }

  // Anything but end_turn is not a complete answer, and says so.
  function finishMessage(message, stopReason) {
    delete message.dataset.state;
    if (!stopReason || stopReason === "end_turn") return;
    message.dataset.stopReason = stopReason;
    const note = node("p", "stop-note");
    note.append(icon("alert"), node("span", "stop-reason", CUT_REPLY_NOTES[stopReason] || "Not a complete answer."));
    message.append(note);
  }

  // The last reply, when incomplete, offers to go on: "continue" is sent as the next message.
  function offerContinue(message) {
    const note = message?.querySelector(".stop-note");
    if (!note || message !== el.thread.lastElementChild) return;
    const button = node("button", "button continue", "Continue");
    button.type = "button";
    button.addEventListener("click", () => {
      if (state.pending) return;
      sendMessage("continue", appendMessage("user", "continue"), newRequestId());
      el.message.focus();
    });
    note.append(button);
  }

  function appendNotice({ kind, title, text, action }) {
    el.welcome.hidden = true;
    const notice = node("article", "message notice");
    notice.dataset.role = "notice";
    notice.dataset.kind = kind;
    notice.setAttribute("aria-label", title);
    const content = node("div", "notice-content");
    content.append(node("strong", "notice-title", title), node("p", "notice-text", text));
    notice.append(icon(kind === "blocked" ? "shield" : "alert"), content);
    if (action) content.append(action);
    el.thread.append(notice);
    scrollToEnd();
    announce(`${title}. ${text}`);
    return notice;
  }

  function showTyping() {
    const typing = node("div", "typing");
    typing.id = "typing";
    typing.setAttribute("role", "status");
    typing.append(node("span", "dot"), node("span", "dot"), node("span", "dot"));
    typing.append(node("span", "visually-hidden", "The assistant is writing a reply"));
    el.thread.append(typing);
    scrollToEnd();
  }

  function hideTyping() {
    document.getElementById("typing")?.remove();
  }

  function clearThread() {
    el.thread.replaceChildren(el.welcome);
    el.welcome.hidden = false;
  }

  // ---------------------------------------------------------------- sending

  function updateComposer() {
    el.send.disabled = state.pending || !el.message.value.trim();
  }

  // The page's busy state, set here only. null: idle. "loading": a conversation's history is on its way (a
  // message sent now would land above it). "sending": a reply is awaited. "streaming": a reply is being written
  // over the socket, and Stop takes the place of Send.
  function setBusy(mode) {
    const focused = document.activeElement;
    state.busy = mode;
    state.pending = mode !== null;
    el.stop.hidden = mode !== "streaming";
    el.send.hidden = mode === "streaming";
    if (mode === "loading") el.thread.setAttribute("aria-busy", "true");
    else el.thread.removeAttribute("aria-busy");
    updateComposer();
    // Focus on a button that just went away moves to the one in its place (Send → Stop) or to the message box.
    if (focused === el.send && el.send.hidden) el.stop.focus();
    if (focused === el.stop && el.stop.hidden) el.message.focus();
  }

  function showConversation(conversationId) {
    if (state.conversationId === conversationId) return;
    state.conversationId = conversationId;
    setUrl(conversationId, false);
  }

  async function sendMessage(text, userMessage, requestId) {
    const view = state.view;
    setBusy("sending");
    for (const button of el.thread.querySelectorAll(".continue")) button.remove();
    userMessage.dataset.state = "pending";
    showTyping();
    let reply = null; // the reply's article, once the socket has delivered some of its text
    try {
      await state.session.catch(() => null);
      await stoppedReplyStored();
      let data = useSocket() ? await streamReply(text, requestId, view, (element) => (reply = element)) : null;
      if (data === null) {
        const body = { message: text, conversation_id: state.conversationId, request_id: requestId };
        data = await request("POST", urls.chat, body);
      }
      if (view !== state.view) return;
      delete userMessage.dataset.state;
      showConversation(data.conversation_id);
      hideTyping();
      const { content, stop_reason: stopReason } = data.message;
      if (reply) {
        renderInto(reply.querySelector(".message-body"), content);
        reply.removeAttribute("aria-busy");
        finishMessage(reply, stopReason);
        if (state.follow) scrollToEnd();
      } else {
        reply = appendMessage("assistant", content, stopReason);
        // A long reply is read from its start: keep the question at the top rather than jump to the end.
        if (reply.offsetHeight > el.thread.clientHeight * 0.7) userMessage.scrollIntoView({ block: "start" });
      }
      offerContinue(reply);
      // Live regions hear the finished reply once, never its deltas.
      announce(`Assistant: ${content}${CUT_REPLY_NOTES[stopReason] ? ` (${CUT_REPLY_NOTES[stopReason]})` : ""}`);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (view !== state.view) return;
      reply?.remove(); // a reply that failed part-way is not stored: its text goes with it
      hideTyping();
      showFailure(error, text, userMessage, requestId);
    } finally {
      if (view === state.view) {
        hideTyping();
        setBusy(null);
      }
      refreshConversations();
    }
  }

  // ---------------------------------------------------------------- streaming over the WebSocket

  const RECONNECT = Symbol("reconnect");
  const FRAME_TYPES = ["accepted", "delta", "done", "error"];

  function useSocket() {
    return Boolean(state.websocket) && "WebSocket" in window && Date.now() >= state.socketRetryAt;
  }

  // The socket is opened on a message, and again on the next message after any close (API Gateway closes an
  // idle one after 10 minutes): resolves with it open, rejects when it cannot connect.
  function connectSocket() {
    const current = state.socket;
    if (current && current.readyState === WebSocket.OPEN) return Promise.resolve(current);
    return new Promise((resolve, reject) => {
      let socket;
      try {
        socket = new WebSocket(state.websocket.url);
      } catch (error) {
        reject(error);
        return;
      }
      const timer = setTimeout(() => socket.close(), SOCKET_CONNECT_TIMEOUT_MS);
      socket.addEventListener("open", () => {
        clearTimeout(timer);
        state.socket = socket;
        resolve(socket);
      });
      socket.addEventListener("close", () => {
        clearTimeout(timer);
        if (state.socket === socket) state.socket = null;
        reject(new Error("the socket closed")); // nothing once it has opened
        if (state.stream?.socket === socket) state.stream.onClose();
      });
      socket.addEventListener("message", (event) => onFrame(event.data));
    });
  }

  function onFrame(data) {
    let frame = null;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    // Frames without a known type are not ours to read: API Gateway's "Endpoint request timed out" at 29 s.
    if (!frame || !FRAME_TYPES.includes(frame.type)) return;
    const stream = state.stream;
    if (!stream) return;
    const unreadable = frame.type === "error" && frame.request_id == null && !stream.accepted;
    if (frame.request_id === stream.requestId || unreadable) stream.onFrame(frame);
  }

  // Send the message over the socket and show the reply as it is written. Resolves with what POST would have
  // answered ({conversation_id, message}), or with null when the socket is unavailable (the caller POSTs).
  async function streamReply(text, requestId, view, onReply) {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      if (!useSocket()) return null;
      let socket = null;
      try {
        socket = await connectSocket();
      } catch {
        break;
      }
      if (view !== state.view) throw new ApiError(0, "detached", "", 0);
      const outcome = await streamOver(socket, text, requestId, onReply);
      if (outcome !== RECONNECT) return outcome;
      // Closed before the message was accepted (an idle socket closing as it was used): once more, anew.
    }
    state.socketRetryAt = Date.now() + SOCKET_RETRY_AFTER_MS;
    return null;
  }

  function streamOver(socket, text, requestId, onReply) {
    return new Promise((resolve, reject) => {
      const stream = { socket, requestId, conversationId: state.conversationId, text: "", accepted: false };
      let ticketRetried = false;
      let renderRequest = 0;
      let quietTimer = 0;
      const send = () => {
        const frame = { action: "chat", ticket: state.websocket.ticket, message: text, request_id: requestId };
        socket.send(JSON.stringify({ ...frame, conversation_id: stream.conversationId }));
      };
      const end = (settle, value) => {
        if (state.stream !== stream) return;
        state.stream = null;
        clearTimeout(quietTimer);
        cancelAnimationFrame(renderRequest);
        settle(value);
      };
      // A reply that goes silent for too long is given up: closing the socket ends it as a close would.
      const listen = () => {
        clearTimeout(quietTimer);
        quietTimer = setTimeout(() => socket.close(), SOCKET_QUIET_TIMEOUT_MS);
      };
      // Deltas are drawn at most once a frame, however fast they come.
      const render = () => {
        renderRequest = 0;
        renderInto(stream.element.querySelector(".message-body"), stream.text);
        if (state.follow) scrollToEnd();
      };
      stream.onFrame = (frame) => {
        listen();
        if (frame.type === "accepted") {
          // A new conversation exists once its reply is stored: the page takes it on at done (or a stop).
          stream.accepted = true;
          stream.conversationId = frame.conversation_id;
        } else if (frame.type === "delta") {
          if (!stream.element) {
            hideTyping();
            stream.element = appendMessage("assistant", "");
            stream.element.dataset.state = "streaming";
            stream.element.setAttribute("aria-busy", "true");
            onReply(stream.element);
          }
          stream.text += frame.text;
          renderRequest ||= requestAnimationFrame(render);
        } else if (frame.type === "done") {
          end(resolve, { conversation_id: frame.conversation_id, message: frame.message });
        } else if (frame.error?.code === "ticket_invalid" && !ticketRetried) {
          // Expired (or the server's key changed): a new ticket, and the same message once more.
          ticketRetried = true;
          startSession().then(
            () => state.stream === stream && (state.websocket ? send() : end(resolve, RECONNECT)),
            (error) => end(reject, error),
          );
        } else {
          const error = frame.error || {};
          const status = ERROR_STATUS[error.code] || 503;
          const message = error.message || "The assistant could not answer.";
          end(reject, new ApiError(status, error.code || "error", message, error.retry_after || 0, error));
        }
      };
      // The server stores what it sent before a close as a stopped reply, and nothing when it sent nothing.
      stream.onClose = () => {
        if (stream.text && state.stream === stream) {
          state.stopped = { conversationId: stream.conversationId, text: stream.text };
          const message = { content: stream.text, stop_reason: "stopped" };
          end(resolve, { conversation_id: stream.conversationId, message });
        } else if (stream.stopped) {
          end(reject, new ApiError(0, "stopped", "The reply was stopped before it began, so nothing was saved.", 0));
        } else if (!stream.accepted) {
          end(resolve, RECONNECT);
        } else {
          end(reject, new ApiError(0, "network", "The connection closed before the reply began. Please try again.", 0));
        }
      };
      stream.detach = () => end(reject, new ApiError(0, "detached", "", 0));
      state.stream = stream;
      send();
      listen();
      setBusy("streaming");
    });
  }

  // Stopping is closing the socket; the next message opens a new one.
  function stopReply() {
    const stream = state.stream;
    if (!stream) return;
    stream.stopped = true;
    stream.socket.close();
    stream.onClose(); // at once, not after the closing handshake
  }

  // The server stores a stopped reply when it notices the close, at its next send. A message sent before then
  // would be answered without that reply in its history (or refused: a new conversation is not stored yet), so
  // it waits, a few seconds at most, until the conversation ends with the stopped reply.
  async function stoppedReplyStored() {
    const stopped = state.stopped;
    state.stopped = null;
    if (!stopped || stopped.conversationId !== state.conversationId) return;
    const url = `${urls.conversations}/${encodeURIComponent(stopped.conversationId)}`;
    for (const deadline = Date.now() + STOP_SETTLE_MS; Date.now() < deadline; ) {
      try {
        const { messages } = await request("GET", url);
        const last = messages[messages.length - 1];
        if (last?.role === "assistant" && last.content.startsWith(stopped.text)) return;
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 404) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  function showFailure(error, text, userMessage, requestId) {
    if (error.code === "prompt_blocked") {
      userMessage.dataset.state = "blocked";
      const category = error.details.category || "other";
      const reason = CATEGORY_NAMES[category] || category.replace(/_/g, " ");
      const notice = appendNotice({
        kind: "blocked",
        title: "Message blocked by the safety screen",
        text: `It looked like ${reason}, so it was not sent to the assistant or saved. If this is a mistake, please rephrase; blocked messages are reviewed by a moderator.`,
      });
      notice.dataset.category = category;
      return;
    }
    userMessage.dataset.state = "failed";
    const retryable = error.status === 0 || error.status === 429 || error.status >= 500;
    if (!retryable && !el.message.value) {
      el.message.value = text; // e.g. too long: give the text back to edit
      updateComposer();
    }
    const notice = appendNotice({
      kind: error.status === 429 ? "rate-limited" : "error",
      title: failureTitle(error),
      text: error.message,
      action: retryable ? retryButton(error.retryAfter, () => {
        notice.remove();
        sendMessage(text, userMessage, requestId);
      }) : null,
    });
  }

  function failureTitle(error) {
    if (error.status === 429) return "Message limit reached";
    if (error.code === "screening_unavailable") return "Safety screening is unavailable";
    if (error.code === "model_unavailable") return "The assistant could not answer";
    if (error.code === "storage_unavailable") return "Storage is unavailable";
    if (error.code === "reply_withheld") return "Reply withheld";
    if (error.code === "network") return "Connection problem";
    if (error.code === "stopped") return "Stopped";
    if (error.code === "timeout") return "No answer in time";
    return "Message not sent";
  }

  function retryButton(waitSeconds, onRetry) {
    const button = node("button", "button retry", "Retry");
    button.type = "button";
    let remaining = waitSeconds;
    const tick = () => {
      if (remaining < waitSeconds && !button.isConnected) return; // the notice is gone: stop counting
      button.disabled = remaining > 0;
      button.textContent = remaining > 0 ? `Retry in ${duration(remaining)}` : "Retry";
      remaining -= 1;
      if (remaining >= 0) setTimeout(tick, 1000);
    };
    tick();
    button.addEventListener("click", () => {
      if (state.pending) return;
      onRetry();
      el.message.focus();
    });
    return button;
  }

  function duration(seconds) {
    if (seconds < 60) return `${seconds} s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
    return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  }

  function onSubmit(event) {
    event.preventDefault();
    const text = el.message.value;
    if (state.pending || !text.trim()) return;
    el.message.value = "";
    el.message.focus();
    sendMessage(text, appendMessage("user", text), newRequestId());
  }

  function onKeydown(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      el.composer.requestSubmit();
    }
  }

  // ---------------------------------------------------------------- conversations

  function conversationFromUrl() {
    return new URLSearchParams(location.search).get("c");
  }

  function setUrl(conversationId, push) {
    const url = new URL(location.href);
    if (conversationId) url.searchParams.set("c", conversationId);
    else url.searchParams.delete("c");
    if (url.href !== location.href) history[push ? "pushState" : "replaceState"](null, "", url);
    renderConversationList();
  }

  function changeView(conversationId) {
    state.view += 1;
    // A reply still streaming goes on (and is stored) without the page: its frames are no longer shown.
    state.stream?.detach();
    setBusy(null);
    state.follow = true;
    state.conversationId = conversationId;
    clearThread();
    renderConversationList();
  }

  async function refreshConversations() {
    try {
      const data = await request("GET", urls.conversations);
      mergeFirstPage(data);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
    }
    renderConversationList();
  }

  function renderConversationList() {
    const current = state.conversationId;
    const title = state.conversations.find((c) => c.id === current)?.title;
    document.title = title ? `${title} · Guarded chat` : "Guarded chat";
    el.listEmpty.hidden = state.conversations.length > 0;
    // The list is rebuilt after every reply: keyboard focus inside it must survive that.
    const focused = el.list.contains(document.activeElement) ? document.activeElement : null;
    el.list.replaceChildren(
      ...state.conversations.map((conversation) => {
        const item = node("li", "conversation");
        const anchor = node("a", "conversation-link", conversation.title || "Untitled");
        anchor.href = `?c=${encodeURIComponent(conversation.id)}`;
        anchor.title = conversation.title;
        anchor.dataset.id = conversation.id;
        if (conversation.id === current) anchor.setAttribute("aria-current", "page");
        const remove = node("button", "icon-button conversation-delete");
        remove.type = "button";
        remove.dataset.id = conversation.id;
        remove.setAttribute("aria-label", `Delete “${conversation.title || "Untitled"}”`);
        remove.append(icon("trash"));
        item.append(anchor, remove);
        return item;
      }),
    );
    if (focused) {
      const same = (n) => n.dataset.id === focused.dataset.id && n.className === focused.className;
      [...el.list.querySelectorAll("[data-id]")].find(same)?.focus();
    }
  }

  async function openConversation(conversationId, push) {
    changeView(conversationId);
    setUrl(conversationId, push);
    const view = state.view;
    el.welcome.hidden = true;
    setBusy("loading");
    try {
      const data = await request("GET", `${urls.conversations}/${encodeURIComponent(conversationId)}`);
      if (view !== state.view) return;
      for (const message of data.messages) appendMessage(message.role, message.content, message.stop_reason);
      offerContinue(el.thread.lastElementChild);
      if (!data.messages.length) el.welcome.hidden = false;
      showEarlier(data.earlier, view);
    } catch (error) {
      if (!(error instanceof ApiError) || view !== state.view) return;
      if (error.status === 404) {
        changeView(null);
        setUrl(null, false);
        appendNotice({ kind: "error", title: "Conversation not found", text: "It may have been deleted. You can start a new chat below." });
      } else {
        appendNotice({
          kind: "error",
          title: "Could not load this conversation",
          text: error.message,
          action: retryButton(error.retryAfter, () => openConversation(conversationId, false)),
        });
      }
    } finally {
      if (view === state.view) setBusy(null);
    }
  }

  function newChat() {
    changeView(null);
    setUrl(null, true);
    closeSidebar();
    el.message.focus();
  }

  function confirmDelete(title) {
    return new Promise((resolve) => {
      el.dialogName.textContent = title;
      el.dialog.returnValue = "";
      el.dialog.addEventListener("close", () => resolve(el.dialog.returnValue === "delete"), { once: true });
      el.dialog.showModal();
    });
  }

  async function deleteConversation(conversationId) {
    const conversation = state.conversations.find((c) => c.id === conversationId);
    if (!conversation || !(await confirmDelete(conversation.title || "Untitled"))) return;
    try {
      await request("DELETE", `${urls.conversations}/${encodeURIComponent(conversationId)}`);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status !== 404) {
        appendNotice({ kind: "error", title: "Could not delete the conversation", text: error.message });
        return;
      }
    }
    state.conversations = state.conversations.filter((c) => c.id !== conversationId);
    if (state.conversationId === conversationId) newChat();
    else renderConversationList();
    announce("Conversation deleted");
    el.newChat.focus();
  }

  function onListClick(event) {
    const remove = event.target.closest(".conversation-delete");
    if (remove) {
      deleteConversation(remove.dataset.id);
      return;
    }
    const anchor = event.target.closest(".conversation-link");
    if (!anchor || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    closeSidebar();
    if (anchor.dataset.id !== state.conversationId) openConversation(anchor.dataset.id, true);
    el.message.focus();
  }

  // ---------------------------------------------------------------- pages: older conversations, earlier messages

  const pageObservers = {};

  function withParams(url, params) {
    const query = new URLSearchParams(Object.entries(params).filter(([, value]) => value != null)).toString();
    return query ? `${url}?${query}` : url;
  }

  // The first page, fetched again after every reply, replaces the top of the list; pages loaded further
  // down stay, and so does the cursor after them (a cursor is a position, still valid after new activity).
  function mergeFirstPage(data) {
    if (!state.olderConversationsLoaded) {
      state.conversations = data.conversations;
      state.conversationsNext = data.next;
    } else {
      const fresh = new Set(data.conversations.map((c) => c.id));
      const older = state.conversations.filter((c) => !fresh.has(c.id));
      state.conversations = [...data.conversations, ...older].sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1));
    }
    el.conversationsMore.hidden = !state.conversationsNext;
  }

  async function loadOlderConversations() {
    if (state.loadingConversations || !state.conversationsNext) return;
    state.loadingConversations = true;
    el.conversationsMore.textContent = "Loading older conversations…";
    try {
      const data = await request("GET", withParams(urls.conversations, { cursor: state.conversationsNext }));
      const known = new Set(state.conversations.map((c) => c.id));
      state.conversations.push(...data.conversations.filter((c) => !known.has(c.id)));
      state.conversationsNext = data.next;
      state.olderConversationsLoaded = true;
      el.conversationsMore.hidden = !data.next;
      renderConversationList();
      state.loadingConversations = false;
      recheck(pageObservers.conversations, el.conversationsMore); // still in view: load the next page too
    } catch (error) {
      state.loadingConversations = false;
      if (!(error instanceof ApiError)) throw error;
      // Tried again when the reader scrolls back to the end, not in a loop.
      el.conversationsMore.textContent = "Could not load older conversations.";
    }
  }

  function showEarlier(cursor, view) {
    if (view !== state.view) return;
    state.earlier = cursor;
    let marker = document.getElementById("thread-earlier");
    if (!cursor) {
      if (marker) pageObservers.earlier?.unobserve(marker);
      marker?.remove();
      return;
    }
    if (!marker) {
      // A conversation opens at its end: the marker put above must not move the view off it.
      const atEnd = el.thread.scrollHeight - el.thread.scrollTop - el.thread.clientHeight < 2;
      marker = node("p", "thread-earlier");
      marker.id = "thread-earlier";
      marker.setAttribute("role", "status");
      el.thread.prepend(marker);
      if (atEnd) scrollToEnd();
    }
    marker.textContent = "";
    recheck(pageObservers.earlier, marker);
  }

  async function loadEarlierMessages() {
    const cursor = state.earlier;
    const view = state.view;
    const marker = document.getElementById("thread-earlier");
    if (state.loadingEarlier || !cursor || !marker || !state.conversationId) return;
    state.loadingEarlier = true;
    marker.textContent = "Loading earlier messages…";
    const url = withParams(`${urls.conversations}/${encodeURIComponent(state.conversationId)}`, { before: cursor });
    try {
      const data = await request("GET", url);
      if (view !== state.view) return;
      prependMessages(data.messages, marker);
      showEarlier(data.earlier, view);
    } catch (error) {
      if (!(error instanceof ApiError) || view !== state.view) return;
      marker.textContent = "Could not load earlier messages.";
    } finally {
      state.loadingEarlier = false;
    }
  }

  // Earlier messages go above the ones on screen without moving them: the reader keeps their place.
  function prependMessages(messages, marker) {
    const anchor = el.thread.querySelector(":scope > .message") || marker.nextElementSibling;
    const anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
    const fragment = document.createDocumentFragment();
    // appendMessage builds a message exactly as everywhere else; it is then moved above the others.
    for (const message of messages) fragment.append(appendMessage(message.role, message.content));
    el.thread.insertBefore(fragment, anchor);
    if (anchor) el.thread.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
  }

  function recheck(observer, target) {
    // An observer reports only changes: observing again reports a target that stayed in view.
    if (!observer || !target.isConnected) return;
    observer.unobserve(target);
    observer.observe(target);
  }

  function watchPages() {
    if (!("IntersectionObserver" in window)) return;
    const onVisible = (load) => (entries) => entries.some((entry) => entry.isIntersecting) && load();
    pageObservers.conversations = new IntersectionObserver(onVisible(loadOlderConversations), {
      root: el.conversationsNav,
      rootMargin: "0px 0px 200px 0px",
    });
    pageObservers.conversations.observe(el.conversationsMore);
    pageObservers.earlier = new IntersectionObserver(onVisible(loadEarlierMessages), {
      root: el.thread,
      rootMargin: "200px 0px 0px 0px",
    });
  }

  // ---------------------------------------------------------------- the sidebar on small screens

  function openSidebar() {
    app.classList.add("sidebar-open");
    el.toggle.setAttribute("aria-expanded", "true");
    el.backdrop.hidden = false;
    el.main.inert = true; // keyboard focus stays in the open sidebar
    el.newChat.focus();
  }

  function closeSidebar() {
    if (!app.classList.contains("sidebar-open")) return;
    app.classList.remove("sidebar-open");
    el.toggle.setAttribute("aria-expanded", "false");
    el.backdrop.hidden = true;
    el.main.inert = false;
  }

  // ---------------------------------------------------------------- start

  async function start() {
    el.composer.addEventListener("submit", onSubmit);
    el.stop.addEventListener("click", stopReply);
    // The view follows a growing reply until the reader scrolls up, and again once they are back at the end.
    el.thread.addEventListener("scroll", () => (state.follow = atEnd()), { passive: true });
    el.thread.addEventListener("wheel", (event) => event.deltaY < 0 && (state.follow = false), { passive: true });
    // The code blocks' Copy buttons (markdown.js builds them; it touches nothing on the page).
    el.thread.addEventListener("click", (event) => {
      const copy = event.target.closest(".code-copy");
      if (copy) copyCode(copy, copy.closest(".code-block").querySelector("pre"));
    });
    el.message.addEventListener("keydown", onKeydown);
    el.message.addEventListener("input", updateComposer);
    el.newChat.addEventListener("click", newChat);
    el.list.addEventListener("click", onListClick);
    el.toggle.addEventListener("click", () => (app.classList.contains("sidebar-open") ? closeSidebar() : openSidebar()));
    el.backdrop.addEventListener("click", closeSidebar);
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && app.classList.contains("sidebar-open")) {
        closeSidebar();
        el.toggle.focus();
      }
    });
    // Widening the window shows the sidebar in the layout: the small-screen overlay must not stay open.
    matchMedia("(max-width: 767px)").addEventListener("change", (event) => event.matches || closeSidebar());
    window.addEventListener("popstate", () => {
      const conversationId = conversationFromUrl();
      if (conversationId) openConversation(conversationId, false);
      else changeView(null);
    });
    updateComposer();
    el.message.focus();
    watchPages();

    state.session = startSession();
    try {
      await state.session;
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
    const conversationId = conversationFromUrl();
    if (conversationId) openConversation(conversationId, false);
  }

  start();
})();
