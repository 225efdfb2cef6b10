// The chat page script: see issue 7.
