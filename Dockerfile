# neonize's Go library is built for glibc: use a slim Debian base, never Alpine.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends libmagic1 ffmpeg \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY whatsapp ./whatsapp
COPY storage ./storage
COPY assistant ./assistant
RUN pip install --no-cache-dir ".[postgres]"

RUN useradd --create-home --uid 10001 secretary && mkdir /data && chown secretary /data
USER secretary
ENV DATA_DIR=/data PYTHONUNBUFFERED=1
VOLUME ["/data"]

# The bot answers GET /healthz on HEALTH_PORT (inside the container only, unless
# HEALTH_HOST=0.0.0.0): 200 while the store is writable and WhatsApp is connected (or in a
# state the owner was told about), 503 once it has been (re)connecting for more than 20 s.
# Checked every 10 s, three misses in a row: unhealthy within a minute of WhatsApp going quiet.
ENV HEALTH_PORT=8080
HEALTHCHECK --interval=10s --timeout=8s --start-period=60s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['HEALTH_PORT'], timeout=6)" || exit 1

ENTRYPOINT ["wa-secretary"]
CMD ["run"]
