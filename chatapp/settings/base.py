"""Settings for every environment, read from environment variables (see README's configuration table); one file
by design (STYLE: everything in base.py, test.py only overrides), so it runs past 300 lines."""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Required secret: no default outside development, so a misconfigured deployment fails at start-up.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="django-insecure-development-only" if DEBUG else environ.Env.NOTSET)
# On Lambda (the runtime sets AWS_LAMBDA_FUNCTION_NAME) the default hosts are API Gateway's and CUSTOM_DOMAIN.
CUSTOM_DOMAIN = env("CUSTOM_DOMAIN", default="")
ON_LAMBDA = bool(env("AWS_LAMBDA_FUNCTION_NAME", default=""))
_lambda_hosts = [f".execute-api.{env('AWS_REGION', default='us-east-1')}.amazonaws.com"] if ON_LAMBDA else []
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS",
    default=(["localhost", "127.0.0.1"] if DEBUG else []) + _lambda_hosts + ([CUSTOM_DOMAIN] if CUSTOM_DOMAIN else []),
)
CSRF_TRUSTED_ORIGINS = env.list(
    "DJANGO_CSRF_TRUSTED_ORIGINS", default=[f"https://{CUSTOM_DOMAIN}"] if CUSTOM_DOMAIN else []
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "axes",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.headless",
    "corsheaders",
    "core",
    "security",
    "chatapp",
    "billing",
    "accounts",
]

MIDDLEWARE = [
    "core.middleware.ApiNoStoreMiddleware",  # first: it marks every API answer, the 413 below included
    "corsheaders.middleware.CorsMiddleware",  # before anything that answers: CORS headers on every answer, 413 too
    "core.middleware.RequestBodyLimitMiddleware",  # 413 before anything reads a body (MAX_REQUEST_BYTES)
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.SessionMiddleware",  # Django's, answering 503 when the session store fails
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.AccountPagesPolicyMiddleware",  # the chat page's CSP on /accounts/ and /_allauth/
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires: answers a locked-out login
    "core.startup.StartupMiddleware",  # start-up work only (PREPARE_AT_STARTUP); never in a request's path
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

# Admin login lockout (django-axes, attempts in the ORM database): after ADMIN_LOGIN_FAILURE_LIMIT failures of
# one username from one client IP, that pair is refused (429), right password included, for
# ADMIN_LOCKOUT_MINUTES after its last attempt. The IP is API Gateway's, as for the rate limits: never a
# header the client sends. Keyed on the pair, so nobody can lock a moderator out from another address.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ADMIN_LOCKOUT_MINUTES", default=15))
if not (1 <= AXES_FAILURE_LIMIT <= 10 and AXES_COOLOFF_TIME >= timedelta(minutes=15)):
    raise ImproperlyConfigured("ADMIN_LOGIN_FAILURE_LIMIT must be 1-10 and ADMIN_LOCKOUT_MINUTES at least 15")
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "core.observability.client_ip"
# allauth's sign-ins carry an email, not a username: axes keys them on (email, IP) too, so failures on one
# account lock out that account from that address only, never everyone behind the same NAT (accounts.rules).
AXES_USERNAME_CALLABLE = "accounts.rules.axes_username"

# People (django-allauth): email is the login, no usernames; see README "Accounts and sign-in".
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
if ACCOUNT_EMAIL_VERIFICATION not in ("mandatory", "optional", "none"):
    raise ImproperlyConfigured("ACCOUNT_EMAIL_VERIFICATION must be mandatory, optional or none")
ACCOUNT_SIGNUP_OPEN = env.bool("ACCOUNT_SIGNUP_OPEN", default=True)
ACCOUNT_ALLOWED_EMAIL_DOMAINS = [domain.lower() for domain in env.list("ACCOUNT_ALLOWED_EMAIL_DOMAINS", default=[])]
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False  # Django's update_session_auth_hash keeps this session; others end
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
LOGIN_REDIRECT_URL = "chat-page"  # URL names: right under an API Gateway stage prefix too
ACCOUNT_LOGOUT_REDIRECT_URL = "chat-page"
# Failed sign-ins: per client IP (API Gateway's, accounts.adapters) and per email. The IP rate is above allauth's
# 10/m so that ten failures on one account do not shut out a NAT of people for the minute.
ACCOUNT_RATE_LIMITS = {"login_failed": env("ACCOUNT_LOGIN_FAILED_RATE_LIMIT", default="30/m/ip,5/300s/key")}
# allauth counts in Django's default cache: one every Lambda container shares, the ORM database's cache table
# (created by accounts' migration, so `migrate` is all a deployment runs). Only sign-in pages use it.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "django_cache"}}
# Single sign-on: one OpenID Connect provider, provider id `sso`, when OIDC_SERVER_URL is set.
OIDC_SERVER_URL = env("OIDC_SERVER_URL", default="")
# Origins the sign-in button's POST may be redirected to besides the issuer's (CSP form-action): Cognito's
# authorize endpoint is on the user pool's domain, not on the issuer's origin.
OIDC_FORM_ACTION_ORIGINS = env.list("OIDC_FORM_ACTION_ORIGINS", default=[])
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "APPS": [
            {
                "provider_id": "sso",
                "name": env("OIDC_NAME", default="Single sign-on"),
                "client_id": env("OIDC_CLIENT_ID", default=""),
                "secret": env("OIDC_CLIENT_SECRET", default=""),
                "settings": {"server_url": OIDC_SERVER_URL},
            }
        ]
        if OIDC_SERVER_URL
        else [],
        "OAUTH_PKCE_ENABLED": True,
    }
}
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True  # a verified email from the provider signs in its existing account
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_ONLY = False
HEADLESS_SERVE_SPECIFICATION = False
# Outgoing mail: django-environ's EMAIL_URL (smtp+tls://user:pass@host:587, consolemail://, filemail:////path).
# Without it, development prints mail to the console and production sends none (`check --deploy` says so).
EMAIL_URL = env("EMAIL_URL", default="consolemail://" if DEBUG else "")
globals().update(env.email_url_config(EMAIL_URL or "dummymail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="webmaster@localhost")

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

# Absolute, and prefixed per request by the storage: right under an API Gateway stage and on a custom domain.
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "core.staticfiles.ScriptPrefixStaticFilesStorage"},
}
WHITENOISE_STATIC_PREFIX = "/static/"

# Sessions live in DynamoDB (security.sessions); cookies are Secure unless developing over plain http.
SESSION_ENGINE = "security.sessions"
SECURE_COOKIES = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
# The page takes its token from GET /api/v1/session, and the admin's forms carry theirs: no script reads it.
CSRF_COOKIE_HTTPONLY = True
# Both cookies' SameSite. "None" lets a frontend on another site send them (with CORS below); browsers then require
# Secure, so it is forced. No script reads the CSRF cookie: every frontend takes csrf_token from GET /api/v1/session.
COOKIE_SAMESITE = env("COOKIE_SAMESITE", default="Lax")
if COOKIE_SAMESITE not in ("Lax", "Strict", "None"):
    raise ImproperlyConfigured(f"COOKIE_SAMESITE must be Lax, Strict or None, not {COOKIE_SAMESITE!r}")
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = COOKIE_SAMESITE
if COOKIE_SAMESITE == "None":
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True

# Other frontends (django-cors-headers): the origins listed (exactly: scheme, host and port) may call the API and
# allauth's headless API with credentials, and are trusted for CSRF; empty, the default: no CORS header at all.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/(api/v1|_allauth)/"
CORS_ALLOW_CREDENTIALS = True
CORS_EXPOSE_HEADERS = ["Retry-After", "Content-Disposition"]
CSRF_TRUSTED_ORIGINS = [*CSRF_TRUSTED_ORIGINS, *CORS_ALLOWED_ORIGINS]

# Transport and browser hardening (`manage.py check --deploy` passes with a production environment).
# API Gateway accepts HTTPS only and terminates TLS; Zappa's handler then sets HTTPS=on in the WSGI environ, so
# request.is_secure() is true on Lambda without trusting any header. Hence no SECURE_PROXY_SSL_HEADER (a client
# could forge it wherever no proxy strips it) and no SSL redirect by default: nothing plain-http ever reaches
# Django in production, and a local production-like server on loopback must keep answering http.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preloading commits a whole registrable domain to HTTPS in browsers; the domain's owner opts in, not the app.
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = [
    "security.W008",  # SECURE_SSL_REDIRECT: TLS ends at API Gateway, see above
    "security.W021",  # SECURE_HSTS_PRELOAD: the domain owner's decision, see above
]

# AWS: the SDK's own variables (AWS_ENDPOINT_URL_DYNAMODB, AWS_PROFILE, ...) are honoured by botocore itself.
AWS_REGION = env("AWS_REGION", default="us-east-1")
DYNAMODB_TABLE_PREFIX = env("DYNAMODB_TABLE_PREFIX", default="chatapp-local-")
# Timeout and retry budget of one chat request. API Gateway gives up after 29 s (API_GATEWAY_TIMEOUT), so
# every dependency's worst case, retries and backoff included, must fit in it together:
#   reply      POST_REPLY_SECONDS = 22 s from the service's start: the reads, screening (worst case 2 attempts x
#              (1 s connect + 2 s read) + <= 1 s backoff = 7 s) and the streamed answer. The answer is read in
#              its own thread, so no socket read can overrun it: at 22 s the text written so far is the reply
#              (stop_reason time_limit; a 503 only if there is no text at all). After the worst screening the
#              chat model still has 15 s (Claude Sonnet writes ~50-60 tokens/s: ~800 tokens).
#   DynamoDB   2 attempts x (0.5 s connect + 1 s read) + <= 1 s backoff = 4 s  (the write of the pair)
#   total 26 s <= 29 s, leaving 3 s for the session read and Lambda's own overhead;
#   core.aws.chat_request_worst_case() computes it and a test keeps it true.
# CHAT_MODEL_READ_TIMEOUT bounds one silence of the model stream (its first token included), not a whole reply.
# Over the WebSocket there is no 29 s limit: the Lambda timeout (zappa_settings.json) bounds a streamed reply.
# DynamoDB retries use botocore's standard mode (PynamoDB's default); throttling is retried with backoff.
API_GATEWAY_TIMEOUT = 29.0
BEDROCK_CONNECT_TIMEOUT = env.float("BEDROCK_CONNECT_TIMEOUT", default=1.0)
DYNAMODB_CONNECT_TIMEOUT = env.float("DYNAMODB_CONNECT_TIMEOUT", default=0.5)
DYNAMODB_READ_TIMEOUT = env.float("DYNAMODB_READ_TIMEOUT", default=1.0)
DYNAMODB_MAX_RETRIES = env.int("DYNAMODB_MAX_RETRIES", default=1)

# Models. Empty LLM_BACKEND means: bedrock when AWS credentials resolve, else offline (decided on first use).
LLM_BACKEND = env("LLM_BACKEND", default="")
BEDROCK_SCREEN_MODEL_ID = env("BEDROCK_SCREEN_MODEL_ID", default="us.anthropic.claude-haiku-4-5-20251001-v1:0")
BEDROCK_CHAT_MODEL_ID = env("BEDROCK_CHAT_MODEL_ID", default="us.anthropic.claude-sonnet-4-5-20250929-v1:0")
SCREEN_MODEL_READ_TIMEOUT = env.float("SCREEN_MODEL_READ_TIMEOUT", default=2.0)
SCREEN_MODEL_MAX_ATTEMPTS = env.int("SCREEN_MODEL_MAX_ATTEMPTS", default=2)
CHAT_MODEL_READ_TIMEOUT = env.float("CHAT_MODEL_READ_TIMEOUT", default=16.0)
CHAT_MODEL_MAX_ATTEMPTS = env.int("CHAT_MODEL_MAX_ATTEMPTS", default=1)
CHAT_MAX_TOKENS = env.int("CHAT_MAX_TOKENS", default=1024)
POST_REPLY_SECONDS = env.float("POST_REPLY_SECONDS", default=22.0)
# Streamed text goes out in frames at most this often (the first at once): each frame is one Management API
# call on AWS, and a few a second reads as fluid text.
STREAM_FRAME_SECONDS = env.float("STREAM_FRAME_SECONDS", default=0.25)
# How long a refused speculative reply (parallel screening) may take to close, to count the tokens it cost.
SPECULATION_DISCARD_WAIT_SECONDS = env.float("SPECULATION_DISCARD_WAIT_SECONDS", default=1.0)
# Streaming over a WebSocket: the ws(s):// URL handed to clients (empty: streaming off) and its tickets' lifetime.
WEBSOCKET_URL = env("WEBSOCKET_URL", default="")
WEBSOCKET_TICKET_SECONDS = env.int("WEBSOCKET_TICKET_SECONDS", default=900)
# "sequential": screen, then answer. "parallel": on a screening-cache miss, start the answer while the
# screening model runs and reveal it only if the verdict is safe (lower latency, wasted tokens on blocks).
SCREENING_MODE = env.str("SCREENING_MODE", default="sequential")
if SCREENING_MODE not in ("sequential", "parallel"):
    raise ImproperlyConfigured(f"SCREENING_MODE must be sequential or parallel, not {SCREENING_MODE!r}")
# Build both model clients (importing langchain-aws, ~1 s cold) when the app starts rather than on the first
# message. On Lambda that moves the cost into whichever event starts the container, often a keep_warm ping.
WARM_MODELS_AT_STARTUP = env.bool("WARM_MODELS_AT_STARTUP", default=ON_LAMBDA)
# Load the URLconf (every view and serializer) and build every table's DynamoDB connection while the WSGI app is
# built (core.startup), so that no request loads them, the first after a SnapStart restore included.
PREPARE_AT_STARTUP = env.bool("PREPARE_AT_STARTUP", default=ON_LAMBDA)
# Bedrock prompt caching: a cachePoint is added once the stable prefix (system prompt + history) is long
# enough to be cached at all (Claude Sonnet 4.x: 1,024 tokens; estimated at 4 characters a token).
PROMPT_CACHE_MIN_TOKENS = env.int("PROMPT_CACHE_MIN_TOKENS", default=1024)
# Bedrock on-demand prices, USD per million tokens (billing.prices; README "Spending ceilings"), 2026-12: Claude
# Haiku 4.5 and Sonnet 4.5 through the US geographic profiles the defaults use, 10 % over the global profiles' list
# price (also given); cache writes 1.25x and reads 0.1x the input price. BEDROCK_PRICES_JSON overrides or adds.
BEDROCK_DEFAULT_PRICES = {
    "us.anthropic.claude-haiku-4-5-20251001-v1:0": {
        "input": 1.1,
        "output": 5.5,
        "cache_read": 0.11,
        "cache_write": 1.375,
    },
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0": {
        "input": 3.3,
        "output": 16.5,
        "cache_read": 0.33,
        "cache_write": 4.125,
    },
    "global.anthropic.claude-haiku-4-5-20251001-v1:0": {
        "input": 1.0,
        "output": 5.0,
        "cache_read": 0.1,
        "cache_write": 1.25,
    },
    "global.anthropic.claude-sonnet-4-5-20250929-v1:0": {
        "input": 3.0,
        "output": 15.0,
        "cache_read": 0.3,
        "cache_write": 3.75,
    },
}
BEDROCK_PRICES_JSON = env.json("BEDROCK_PRICES_JSON", default={})
# (input, output) per model, for cost estimates (`screen_eval`, `make bench`); `manage.py check` validates them.
BEDROCK_PRICES = {
    model_id: (price["input"], price["output"])
    for model_id, price in {
        **BEDROCK_DEFAULT_PRICES,
        **(BEDROCK_PRICES_JSON if isinstance(BEDROCK_PRICES_JSON, dict) else {}),
    }.items()
    if isinstance(price, dict) and {"input", "output"} <= price.keys()
}
# Spending ceilings, USD per UTC day; empty or 0 turns one off (billing; README "Spending ceilings" says why these).
BUDGET_ANONYMOUS_DAILY_USD = env("BUDGET_ANONYMOUS_DAILY_USD", default="1")
BUDGET_USER_DAILY_USD = env("BUDGET_USER_DAILY_USD", default="5")
BUDGET_IP_DAILY_USD = env("BUDGET_IP_DAILY_USD", default="10")
BUDGET_SERVICE_DAILY_USD = env("BUDGET_SERVICE_DAILY_USD", default="50")
# A reservation whose invocation died (Lambda's 900 s at most) is refunded by a sweep once this long has passed.
BUDGET_HOLD_SECONDS = env.int("BUDGET_HOLD_SECONDS", default=1200)

MAX_MESSAGE_CHARS = env.int("MAX_MESSAGE_CHARS", default=4000)
# Bodies above this are refused (413) before parsing; a message can take up to 6 bytes per character as JSON.
MAX_REQUEST_BYTES = env.int("MAX_REQUEST_BYTES", default=MAX_MESSAGE_CHARS * 6 + 4096)
# Django's own cap on a body read into memory, at the same bound: RequestDataTooBig is answered 413 as well.
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
HISTORY_MESSAGES = env.int("HISTORY_MESSAGES", default=20)
# Characters of history sent with a message (whole pairs, oldest dropped first): ~6,000 tokens at most.
HISTORY_MAX_CHARS = env.int("HISTORY_MAX_CHARS", default=24000)
# Earlier user turns a follow-up is screened with (0: every message is screened alone). It also bounds the chat
# model's history (at most this many pairs): the chat model is never shown a user turn that its message was not
# screened with, so padding cannot push the start of an instruction out of screening's sight. The default covers
# the whole history (HISTORY_MESSAGES / 2 user turns, within HISTORY_MAX_CHARS: ~6,000 tokens, 0.6 cents on Haiku,
# at worst); typical turns add a few dozen tokens each (README, "What the screening window costs").
SCREENING_CONTEXT_TURNS = env.int("SCREENING_CONTEXT_TURNS", default=HISTORY_MESSAGES // 2)
INTENT_CACHE_TTL_SECONDS = env.int("INTENT_CACHE_TTL_SECONDS", default=7 * 24 * 3600)
# A "safe" model verdict is reused for less time: a wrong one lets repeats through unreviewed (see _verdict_ttl).
INTENT_CACHE_SAFE_TTL_SECONDS = env.int("INTENT_CACHE_SAFE_TTL_SECONDS", default=24 * 3600)
CHAT_RATE_LIMIT = env("CHAT_RATE_LIMIT", default="20/min")
# Per client IP (API Gateway's sourceIp), across all its sessions: bounds session-cycling floods.
CHAT_IP_RATE_LIMIT = env("CHAT_IP_RATE_LIMIT", default="60/min")
# New sessions per client IP (the session endpoint and a cookie-less chat post create them): bounds the sessions
# table against cookie-less floods, while a NAT of ordinary visitors (one session each, kept 14 days) fits.
NEW_SESSION_IP_RATE_LIMIT = env("NEW_SESSION_IP_RATE_LIMIT", default="60/hour")
LOG_MESSAGE_CONTENT = env.bool("LOG_MESSAGE_CONTENT", default=False)
# CloudWatch metrics embedded in the request's log line (EMF); on by default on Lambda.
EMBEDDED_METRICS = env.bool("EMBEDDED_METRICS", default=ON_LAMBDA)
# manage.py cloudwatch_ensure: how long the function's log group keeps lines, and the SNS topic alarms notify.
LOG_RETENTION_DAYS = env.int("LOG_RETENTION_DAYS", default=90)
ALARM_TOPIC_ARN = env("ALARM_TOPIC_ARN", default="")
# /api/v1/health describes the tables at most once per this many seconds per container (it is public).
HEALTH_CHECK_SECONDS = env.int("HEALTH_CHECK_SECONDS", default=30)
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
        "billing": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
    },
}
