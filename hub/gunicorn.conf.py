"""gunicorn's configuration for the hub: ``gunicorn -c hub/gunicorn.conf.py`` (from anywhere).

Environment: HUB_BIND (default 127.0.0.1:8800; behind the reverse proxy of docs/HUB.md),
HUB_WORKERS (default 2 x cores + 1), HUB_TIMEOUT (seconds, default 30), and the hub's own
variables (hub/hubsite/settings.py).
"""

import multiprocessing
import os
import sys
from pathlib import Path

HUB_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(HUB_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubsite.settings")

# Fail here, in the master, with the settings' one-paragraph message: otherwise every worker
# would die on import with a traceback and gunicorn would only say "Worker failed to boot".
from hubsite import keys  # noqa: E402

try:
    import hubsite.settings  # noqa: F401
except keys.MissingKeys as exc:
    print(f"gunicorn: {exc}", file=sys.stderr)
    sys.exit(2)

wsgi_app = "hubsite.wsgi:application"
chdir = str(HUB_DIR)
bind = [os.environ.get("HUB_BIND", "127.0.0.1:8800")]
# Sync workers: each request is short (a push is at most 1,000 events) and holds one
# PostgreSQL connection; several hosts can share the database (docs/HUB.md, "Scaling out").
workers = int(os.environ.get("HUB_WORKERS") or multiprocessing.cpu_count() * 2 + 1)
timeout = int(os.environ.get("HUB_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# A worker is replaced now and then, so a slow leak never grows for months.
max_requests = 2000
max_requests_jitter = 200
# Bodies are bounded by the proxy and by DATA_UPLOAD_MAX_MEMORY_SIZE; headers here.
limit_request_line = 4094
limit_request_fields = 50
accesslog = "-"
errorlog = "-"
# The path without its query string (%(U)s, not %(r)s): nothing a client put in a query lands
# in the access log. No user agent or referrer either.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
# X-Forwarded-Proto is believed from the local proxy only (gunicorn's default, made explicit).
forwarded_allow_ips = os.environ.get("HUB_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
