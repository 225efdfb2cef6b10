from core.exceptions import ApplicationError, Conflict


class ModelUnavailable(ApplicationError):
    status_code = 503
    code = "model_unavailable"
    default_message = "The assistant is unavailable right now; your message was not saved. Please retry shortly."
    retry_after = True


class TicketInvalid(ApplicationError):
    status_code = 401
    code = "ticket_invalid"
    default_message = "The streaming ticket is missing, forged or expired: fetch a new one from GET /api/v1/session."


class ConversationBusy(Conflict):
    default_message = (
        "Other messages were saved in this conversation while this one was answered; it was not saved. "
        "Please send it again."
    )
    retry_after = True
