"""Settings for every environment, read from environment variables (see README's configuration table)."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Required secret: no default outside development, so a misconfigured deployment fails at start-up.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="django-insecure-development-only" if DEBUG else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "core",
    "security",
    "chatapp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.ServiceErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chatapp.urls"
WSGI_APPLICATION = "chatapp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# Sessions live in DynamoDB (security.sessions); cookies are Secure unless developing over plain http.
SESSION_ENGINE = "security.sessions"
SECURE_COOKIES = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# AWS: the SDK's own variables (AWS_ENDPOINT_URL_DYNAMODB, AWS_PROFILE, ...) are honoured by botocore itself.
AWS_REGION = env("AWS_REGION", default="us-east-1")
DYNAMODB_TABLE_PREFIX = env("DYNAMODB_TABLE_PREFIX", default="chatapp-local-")
# DynamoDB answers in milliseconds: fail fast and retry (botocore standard mode) rather than wait.
DYNAMODB_CONNECT_TIMEOUT = env.float("DYNAMODB_CONNECT_TIMEOUT", default=2.0)
DYNAMODB_READ_TIMEOUT = env.float("DYNAMODB_READ_TIMEOUT", default=3.0)
DYNAMODB_MAX_RETRIES = env.int("DYNAMODB_MAX_RETRIES", default=2)

# Models. Empty LLM_BACKEND means: bedrock when AWS credentials resolve, else offline (decided on first use).
LLM_BACKEND = env("LLM_BACKEND", default="")
BEDROCK_SCREEN_MODEL_ID = env("BEDROCK_SCREEN_MODEL_ID", default="us.anthropic.claude-haiku-4-5-20251001-v1:0")
BEDROCK_CHAT_MODEL_ID = env("BEDROCK_CHAT_MODEL_ID", default="us.anthropic.claude-sonnet-4-5-20250929-v1:0")
# Timeouts in seconds. API Gateway waits 29 s in all; the chat model gets most of it, retries included.
SCREEN_MODEL_READ_TIMEOUT = env.float("SCREEN_MODEL_READ_TIMEOUT", default=8.0)
CHAT_MODEL_READ_TIMEOUT = env.float("CHAT_MODEL_READ_TIMEOUT", default=20.0)
CHAT_MAX_TOKENS = env.int("CHAT_MAX_TOKENS", default=1024)
# Bedrock list prices, USD per million (input, output) tokens, for cost estimates (`make bench`); 2026-11.
BEDROCK_PRICES = {
    "us.anthropic.claude-haiku-4-5-20251001-v1:0": (1.0, 5.0),
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0": (3.0, 15.0),
}

MAX_MESSAGE_CHARS = env.int("MAX_MESSAGE_CHARS", default=4000)
# Bodies above this are refused (413) before parsing; a message can take up to 6 bytes per character as JSON.
MAX_REQUEST_BYTES = env.int("MAX_REQUEST_BYTES", default=MAX_MESSAGE_CHARS * 6 + 4096)
HISTORY_MESSAGES = env.int("HISTORY_MESSAGES", default=20)
INTENT_CACHE_TTL_SECONDS = env.int("INTENT_CACHE_TTL_SECONDS", default=7 * 24 * 3600)
CHAT_RATE_LIMIT = env("CHAT_RATE_LIMIT", default="20/min")
LOG_MESSAGE_CONTENT = env.bool("LOG_MESSAGE_CONTENT", default=False)
# Seconds a client is told to wait (Retry-After) when a dependency is unavailable.
RETRY_AFTER_SECONDS = env.int("RETRY_AFTER_SECONDS", default=5)

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["chatapp.parsers.BoundedJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["chatapp.authentication.CsrfEnforcedSessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Guarded chat API",
    "DESCRIPTION": "Every message is screened by a fast model before the chat model sees it.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "core.observability.JsonFormatter"}},
    "filters": {"unexpected_only": {"()": "core.observability.ContractErrorFilter"}},
    "handlers": {"stdout": {"()": "core.observability.StdoutHandler", "formatter": "json"}},
    "loggers": {
        "django.request": {
            "handlers": ["stdout"],
            "level": "WARNING",
            "filters": ["unexpected_only"],
            "propagate": False,
        },
        "core": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        "chatapp": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        "security": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
    },
}
