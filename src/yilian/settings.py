"""Yilian's one settings module, driven by the environment (see docs/configuration.md).

Per-institution configuration lives in database rows, not here.
"""

import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url

from yilian.env import env_bool, env_int, env_list, env_str

PACKAGE_DIR = Path(__file__).resolve().parent
BASE_DIR = Path(env_str("YILIAN_HOME", str(Path.cwd())))
VAR_DIR = Path(env_str("YILIAN_VAR", str(BASE_DIR / "var")))


def _secret_key() -> str:
    key = env_str("YILIAN_SECRET_KEY")
    if key:
        return key
    # A site without a configured key gets one generated once and kept under var/, so sessions survive
    # a restart. Production sets YILIAN_SECRET_KEY.
    path = VAR_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


DEBUG = env_bool("YILIAN_DEBUG", False)
SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("YILIAN_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("YILIAN_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "yilian.web",
    "yilian.network",
    "yilian.access",
    "yilian.patients",
    "yilian.care",
    "yilian.scheduling",
    "yilian.residents",
    "yilian.emergency",
    "yilian.referrals",
    "yilian.consults",
    "yilian.diagnostics",
    "yilian.results",
    "yilian.interop",
    "yilian.analytics",
    "yilian.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "yilian.web.sessions.IdleRenewMiddleware",
    "yilian.web.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "yilian.network.middleware.ActingMembershipMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "yilian.urls"
WSGI_APPLICATION = "yilian.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "yilian.web.context.shell",
            ],
        },
    },
]

# Embedded default: SQLite in WAL mode with immediate write transactions. Production: DATABASE_URL.
_sqlite_path = VAR_DIR / "yilian.sqlite3"
DATABASES = {"default": dj_database_url.config(env="DATABASE_URL", default=f"sqlite:///{_sqlite_path}")}
# PostgreSQL keeps each worker thread's connection (a new one costs the server a process fork and the
# authentication round trips on every request); checked before reuse. SQLite opens a file: no need.
_is_sqlite = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
DATABASES["default"]["CONN_MAX_AGE"] = env_int("YILIAN_CONN_MAX_AGE", 0 if _is_sqlite else 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if _is_sqlite:
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Strong passwords (GB/T 22239 等保 2.0: length and complexity).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "yilian.network.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
]

# Failed log-in lock-out: 5 failures for one user name lock it for 15 minutes.
AXES_FAILURE_LIMIT = env_int("YILIAN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("YILIAN_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_VERBOSE = False
# Lock the account (user name), not the address: wards share NAT addresses, and a lock by address would
# shut a whole ward out. The account lock is what GB/T 22239 asks for.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# Idle session timeout: the session expires after this many idle seconds. Requests renew it, writing the
# session row at most once per SESSION_RENEW_SECONDS (yilian.web.sessions.IdleRenewMiddleware).
SESSION_COOKIE_AGE = env_int("YILIAN_IDLE_TIMEOUT_SECONDS", 30 * 60)
SESSION_RENEW_SECONDS = env_int("YILIAN_SESSION_RENEW_SECONDS", 60)

# Residents' log-in codes go to the SMS outbox (residents.OutgoingSms) for the site's gateway. A demo or a
# site without a gateway may show the code on the page instead: never on a real site.
YILIAN_SMS_SHOW_CODES = env_bool("YILIAN_SMS_SHOW_CODES", False)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

# HTTPS: behind the hospital's TLS terminator set YILIAN_HTTPS=1.
_https = env_bool("YILIAN_HTTPS", False)
SECURE_SSL_REDIRECT = _https
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_HSTS_SECONDS = 31536000 if _https else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = _https
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if _https else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve straight from the app folders: no collectstatic step to forget
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# Logging: one console handler; every record passes the identifier filter, which masks resident IDs
# and phone numbers should one ever slip into a message (names are never logged by design).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_identifiers": {"()": "yilian.logfilter.MaskIdentifiers"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask_identifiers"],
            "level": env_str("YILIAN_LOG_LEVEL", "INFO"),
        }
    },
    "root": {"handlers": ["console"], "level": env_str("YILIAN_LOG_LEVEL", "INFO")},
    # SQL with its parameters carries patient data: never log it, whatever the level.
    "loggers": {"django.db.backends": {"level": "INFO", "propagate": True}},
}

YILIAN_BREAK_GLASS_HOURS = 24
YILIAN_BREAK_GLASS_HOURS = 24

# Diagnostic centres: where submitted study files are stored (metadata in the database, files here), and
# the largest file accepted (docs/diagnostics.md).
YILIAN_STUDIES_DIR = Path(env_str("YILIAN_STUDIES_DIR", str(VAR_DIR / "studies")))
YILIAN_STUDY_FILE_MAX_MB = env_int("YILIAN_STUDY_FILE_MAX_MB", 50)
