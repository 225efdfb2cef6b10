from core.exceptions import ApplicationError


class ModelUnavailable(ApplicationError):
    status_code = 503
    code = "model_unavailable"
    default_message = "The assistant is unavailable right now; your message was not saved. Please retry shortly."
    retry_after = True
