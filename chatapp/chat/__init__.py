"""The chat pipeline and its two transports.

- `pipeline`: a message's steps in call order (limits and reads, screening, the answer, storage), as events;
- `feed`: the chat model read in its own thread, and the pacing of what passes the output check;
- `replacement`: the last exchange a message `replaces` (edit and resend, regenerate), or why it cannot be;
- `events`: what the pipeline yields (`Accepted`, `Delta`, `Done`) and what a transport throws in (`ClientGone`);
- `http` and `socket`: the two thin adapters, POST (one answer) and the WebSocket (one frame per event).
"""
