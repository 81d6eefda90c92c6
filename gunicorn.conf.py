"""gunicorn's settings for Jiangxin, and nothing else: read by ``gunicorn`` (or ``gunicorn wsgi:app``) started in
this directory, as gunicorn's default config file. Options on the command line and in ``GUNICORN_CMD_ARGS`` take
precedence; ``WEB_CONCURRENCY`` sets the number of worker processes.

Deployment (README, "Deployment"): nginx in front (``deploy/nginx/jiangxin.conf``) buffers slow clients, terminates
TLS, serves ``/static/`` and micro-caches the public live board; gunicorn listens on the loopback address only.
Two processes of eight threads: a thread mostly waits (on the database, on a client, on a board's event stream,
which holds its thread for up to a minute — at most ``BOARD_STREAMS_PER_PROCESS`` of them, 2 by default, so the
others stay free for logins and marks), and each process runs Python on one CPU at a time. More traffic means
more processes (one gunicorn per machine) and, past one machine, PostgreSQL and Redis — never another code path.
"""

import os

wsgi_app = "wsgi:app"
bind = "127.0.0.1:8000"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = 8  # app.config gives each process as many pooled database connections

# A worker that has not reported for ``timeout`` seconds is restarted (its threads keep reporting while one
# streams a board); on a restart or shutdown, requests under way get ``graceful_timeout`` seconds to finish.
timeout = 60
graceful_timeout = 30
# Idle keep-alive connections (nginx's to its upstream) stay open this long: longer than nginx keeps them, so that
# nginx, not gunicorn, closes an idle one and never sends a request down a connection being closed.
keepalive = 75

# Errors to stderr (the service manager's journal); each request is logged by nginx, not twice.
errorlog = "-"
loglevel = "info"
accesslog = None

# X-Forwarded-Proto is believed only from these addresses (gunicorn's default, or FORWARDED_ALLOW_IPS): nginx on
# this machine. The client address (X-Forwarded-For) is the app's business: PROXY_FIX_X_FOR.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
