// Today's allowance (the spending ceilings): a banner when little is left of the caller's daily ceiling, and
// when it resets once it is gone. Reads GET /api/v1/usage, the caller's own scope, at start and after each message.

import { ApiError, getUsage } from "./api.js";

// The share of the daily ceiling left under which the page warns.
const WARN_BELOW = 0.2;

const banner = document.getElementById("usage-banner");

export async function refreshUsage() {
  let usage;
  try {
    usage = await getUsage();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return; // the banner keeps what it last knew
  }
  const notice = usageNotice(usage);
  banner.hidden = notice === null;
  banner.textContent = notice ? notice.text : "";
  banner.dataset.usage = notice ? notice.kind : "";
}

// Return {kind: "low" | "gone", text} for a usage answer, or null when there is nothing to say.
function usageNotice(usage, now = new Date()) {
  if (usage.limit_usd === null || usage.remaining_usd === null) return null;
  const resets = new Date(usage.resets_at);
  const at = resets.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const minutes = Math.max(1, Math.ceil((resets - now) / 60000));
  const wait = minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
  if (usage.remaining_usd <= 0) {
    return { kind: "gone", text: `You have used today's allowance. It resets at ${at} (in ${wait}).` };
  }
  if (usage.remaining_usd < usage.limit_usd * WARN_BELOW) {
    const left = Math.max(1, Math.floor((usage.remaining_usd / usage.limit_usd) * 100));
    return { kind: "low", text: `Only ${left}% of today's allowance is left. It resets at ${at}.` };
  }
  return null;
}
