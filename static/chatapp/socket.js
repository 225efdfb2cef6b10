// Streaming replies over the WebSocket (the ticket from GET /api/v1/session stands in for cookies and CSRF).
// No DOM here: the caller hears the reply's text as it grows, and gets what POST would have answered.

import { ApiError, startSession, websocketInfo } from "./api.js";

const SOCKET_CONNECT_TIMEOUT_MS = 5000;
// Longer than the function's own timeout: a reply that stays silent this long is not coming.
const SOCKET_QUIET_TIMEOUT_MS = 100000;
// After the socket could not connect, messages go by POST for this long before the socket is tried again.
const SOCKET_RETRY_AFTER_MS = 60000;
// The HTTP status each error code has on POST, so a socket's error is shown exactly as POST's would be.
const ERROR_STATUS = {
  invalid_request: 400,
  ticket_invalid: 401,
  prompt_blocked: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  budget_exhausted: 429,
  reply_withheld: 502,
};
const RECONNECT = Symbol("reconnect");
const FRAME_TYPES = ["accepted", "delta", "done", "error"];

const sockets = {
  socket: null, // the open WebSocket, made on the first message and again after any close
  retryAt: 0,
  stream: null, // the reply being streamed for the conversation on screen
  live: new Set(), // every reply being streamed: the one on screen and those left on other conversations
  stopped: null, // {conversationId, text} of a reply stopped here and maybe not stored yet
};

export function socketAvailable() {
  return Boolean(websocketInfo()) && "WebSocket" in window && Date.now() >= sockets.retryAt;
}

// Send the message over the socket. Resolves with what POST would have answered ({conversation_id, message}),
// or with null when the socket is unavailable (the caller POSTs). `hooks`: isCurrent() (false once the page
// shows something else), onStreaming() (the message is sent), onText(text) (the reply so far, at each delta).
// `replaces`: the id of the last user message this one replaces, if any.
export async function streamReply(text, requestId, conversationId, hooks, replaces) {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    if (!socketAvailable()) return null;
    let socket = null;
    try {
      socket = await connectSocket();
    } catch {
      break;
    }
    if (!hooks.isCurrent()) throw new ApiError(0, "detached", "", 0);
    const outcome = await streamOver(socket, { text, requestId, conversationId, replaces }, hooks);
    if (outcome !== RECONNECT) return outcome;
    // Closed before the message was accepted (an idle socket closing as it was used): once more, anew.
  }
  sockets.retryAt = Date.now() + SOCKET_RETRY_AFTER_MS;
  return null;
}

// Stopping is closing the socket; the next message opens a new one.
export function stopReply() {
  const stream = sockets.stream;
  if (!stream) return;
  stream.stopped = true;
  stream.socket.close();
  stream.onClose(); // at once, not after the closing handshake
}

// The page shows something else: a reply still streaming goes on (and is stored) on its own socket, heard by
// its hooks; the next message opens a new socket, so that its Stop does not end this one.
export function detachReply() {
  const stream = sockets.stream;
  if (!stream) return;
  sockets.stream = null;
  if (sockets.socket === stream.socket) sockets.socket = null;
}

// The conversation of a reply still streaming is on screen again: Stop (and Escape) stop it. False when gone.
export function resumeReply(requestId) {
  const stream = [...sockets.live].find((live) => live.requestId === requestId);
  if (!stream || sockets.stream) return false;
  sockets.stream = stream;
  return true;
}

// The {conversationId, text} of the last reply stopped here, once: the server may not have stored it yet.
export function takeStoppedReply() {
  const stopped = sockets.stopped;
  sockets.stopped = null;
  return stopped;
}

// The socket is opened on a message, and again on the next message after any close (API Gateway closes an
// idle one after 10 minutes): resolves with it open, rejects when it cannot connect.
function connectSocket() {
  const current = sockets.socket;
  if (current && current.readyState === WebSocket.OPEN) return Promise.resolve(current);
  return new Promise((resolve, reject) => {
    let socket;
    try {
      socket = new WebSocket(websocketInfo().url);
    } catch (error) {
      reject(error);
      return;
    }
    const timer = setTimeout(() => socket.close(), SOCKET_CONNECT_TIMEOUT_MS);
    socket.addEventListener("open", () => {
      clearTimeout(timer);
      sockets.socket = socket;
      resolve(socket);
    });
    socket.addEventListener("close", () => {
      clearTimeout(timer);
      if (sockets.socket === socket) sockets.socket = null;
      reject(new Error("the socket closed")); // nothing once it has opened
      streamOn(socket)?.onClose();
    });
    socket.addEventListener("message", (event) => onFrame(socket, event.data));
  });
}

function streamOn(socket) {
  return [...sockets.live].find((stream) => stream.socket === socket);
}

function onFrame(socket, data) {
  let frame = null;
  try {
    frame = JSON.parse(data);
  } catch {
    return;
  }
  // Frames without a known type are not ours to read: API Gateway's "Endpoint request timed out" at 29 s.
  if (!frame || !FRAME_TYPES.includes(frame.type)) return;
  const stream = streamOn(socket);
  if (!stream) return;
  const unreadable = frame.type === "error" && frame.request_id == null && !stream.accepted;
  if (frame.request_id === stream.requestId || unreadable) stream.onFrame(frame);
}

function streamOver(socket, chat, hooks) {
  return new Promise((resolve, reject) => {
    const stream = new Stream(socket, chat, hooks, resolve, reject);
    sockets.stream = stream;
    sockets.live.add(stream);
    stream.send();
    stream.listen();
    hooks.onStreaming();
  });
}

// One message's reply over the socket, from its chat frame to done, an error or a close. Settles once.
class Stream {
  constructor(socket, chat, hooks, resolve, reject) {
    this.socket = socket;
    this.chat = chat;
    this.hooks = hooks;
    this.settle = { resolve, reject };
    this.requestId = chat.requestId;
    this.conversationId = chat.conversationId;
    this.text = "";
    this.accepted = false;
    this.stopped = false;
    this.ticketRetried = false;
    this.quietTimer = 0;
  }

  send() {
    const { text, requestId, replaces } = this.chat;
    const frame = { action: "chat", ticket: websocketInfo().ticket, message: text, request_id: requestId, replaces };
    this.socket.send(JSON.stringify({ ...frame, conversation_id: this.conversationId }));
  }

  // A reply that goes silent for too long is given up: closing the socket ends it as a close would.
  listen() {
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.socket.close(), SOCKET_QUIET_TIMEOUT_MS);
  }

  end(outcome, value) {
    if (!sockets.live.delete(this)) return;
    if (sockets.stream === this) sockets.stream = null;
    clearTimeout(this.quietTimer);
    // A socket left to a reply nobody is looking at any more has done its work.
    if (this.socket !== sockets.socket) this.socket.close();
    this.settle[outcome](value);
  }

  onFrame(frame) {
    this.listen();
    if (frame.type === "accepted") {
      // A new conversation exists once its reply is stored: the page takes it on at done (or a stop).
      this.accepted = true;
      this.conversationId = frame.conversation_id;
      this.hooks.onAccepted?.(frame.conversation_id);
    } else if (frame.type === "delta") {
      this.text += frame.text;
      this.hooks.onText(this.text);
    } else if (frame.type === "done") {
      this.end("resolve", { conversation_id: frame.conversation_id, message: frame.message });
    } else if (frame.error?.code === "ticket_invalid" && !this.ticketRetried) {
      // Expired (or the server's key changed): a new ticket, and the same message once more.
      this.ticketRetried = true;
      startSession().then(
        () => sockets.live.has(this) && (websocketInfo() ? this.send() : this.end("resolve", RECONNECT)),
        (error) => this.end("reject", error),
      );
    } else {
      this.end("reject", frameError(frame));
    }
  }

  // The server stores what it sent before a close as a stopped reply, and nothing when it sent nothing.
  onClose() {
    if (this.text && sockets.live.has(this)) {
      sockets.stopped = { conversationId: this.conversationId, text: this.text };
      const message = { content: this.text, stop_reason: "stopped" };
      this.end("resolve", { conversation_id: this.conversationId, message });
    } else if (this.stopped) {
      const message = "The reply was stopped before it began, so nothing was saved.";
      this.end("reject", new ApiError(0, "stopped", message, 0));
    } else if (!this.accepted) {
      this.end("resolve", RECONNECT);
    } else {
      const message = "The connection closed before the reply began. Please try again.";
      this.end("reject", new ApiError(0, "network", message, 0));
    }
  }
}

function frameError(frame) {
  const error = frame.error || {};
  const status = ERROR_STATUS[error.code] || 503;
  const message = error.message || "The assistant could not answer.";
  return new ApiError(status, error.code || "error", message, error.retry_after || 0, error);
}
