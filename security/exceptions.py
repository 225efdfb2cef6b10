from core.exceptions import ApplicationError


class PromptBlocked(ApplicationError):
    status_code = 403
    code = "prompt_blocked"
    default_message = "This message was blocked by our safety screening. Please rephrase your request."


class ScreeningUnavailable(ApplicationError):
    status_code = 503
    code = "screening_unavailable"
    default_message = "Safety screening is unavailable right now, so the message was not sent. Please retry shortly."
    retry_after = True


class ModerationUnavailable(ApplicationError):
    status_code = 503
    code = "storage_unavailable"
    default_message = "The verdict store is unavailable, so the decision was not saved. Please retry shortly."
    retry_after = True


class ReplyWithheld(ApplicationError):
    status_code = 502
    code = "reply_withheld"
    default_message = "The assistant's reply failed our safety check, so it was withheld and not saved."


class DecisionNotApplicable(ApplicationError):
    status_code = 409
    code = "decision_not_applicable"
    default_message = "This decision does not apply to this kind of row."
