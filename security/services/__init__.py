"""The services of `security`, the only modules other apps call: screening, the output check, moderation."""
