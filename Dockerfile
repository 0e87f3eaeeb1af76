# newsdesk: the ingest flow and its CLI, installed from the lock file.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
# Where prefect.yaml's pull step takes flow runs of a worker in this image.
ENV NEWSDESK_DIR=/app
# Dependencies first, from the lock file alone, so code changes reuse this layer.
COPY requirements.lock ./
RUN pip install -r requirements.lock
COPY . .
RUN pip install --no-deps -e . && useradd --create-home newsdesk
USER newsdesk

# DATABASE_URL and PREFECT_API_URL come from the environment at run time.
ENTRYPOINT ["newsdesk"]
CMD ["ingest", "--sources", "seeds/sources.toml"]
