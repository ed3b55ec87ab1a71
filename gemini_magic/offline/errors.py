"""Google's JSON error bodies, as the offline server sends them."""

from __future__ import annotations

_ERRORS = {
    400: ("INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."),
    401: (
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access"
        " token, login cookie or other valid authentication credential. See"
        " https://developers.google.com/identity/sign-in/web/devconsole-project.",
    ),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: ("NOT_FOUND", "Requested entity was not found."),
    408: ("DEADLINE_EXCEEDED", "Request timed out."),
    409: ("ABORTED", "The operation was aborted."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: (
        "INTERNAL",
        "An internal error has occurred. Please retry or report in"
        " https://developers.generativeai.google/guide/troubleshooting",
    ),
    501: ("UNIMPLEMENTED", "Operation is not implemented, or supported, or enabled."),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}


def error_body(code: int, message: str | None = None, status: str | None = None, details: list | None = None) -> dict:
    default_status, default_message = _ERRORS.get(
        code, ("INVALID_ARGUMENT" if code < 500 else "UNKNOWN", f"Offline demo error {code}.")
    )
    error = {"code": code, "message": message or default_message, "status": status or default_status}
    if details:
        error["details"] = details
    return {"error": error}


def not_found_body(model: str, version: str, method: str = "generateContent") -> dict:
    return error_body(
        404,
        f"models/{model} is not found for API version {version}, or is not supported"
        f" for {method}. Call ListModels to see the list of available models and"
        " their supported methods.",
    )
