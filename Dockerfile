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

# `check` validates configuration, database, session and LLM without starting the bot;
# the running bot holds DATA_DIR/.lock, so the health check reads the lock holder instead.
HEALTHCHECK --interval=60s --timeout=10s --start-period=30s --retries=3 \
  CMD python -c "import os,sys; p=open('/data/.lock').read().strip(); os.kill(int(p), 0)" || exit 1

ENTRYPOINT ["wa-secretary"]
CMD ["run"]
