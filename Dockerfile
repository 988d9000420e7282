# careloop's image: one worker per container (`careloop run`); see deploy/compose.yaml.
# Two stages: the wheel is built with the build tools, the runtime image gets only the
# installed packages, and runs as an unprivileged user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY handlers handlers
COPY surveys surveys
COPY cases cases
COPY care care
COPY campaigns campaigns
COPY customers customers
COPY storage storage
COPY kernel kernel
COPY sandbox sandbox
COPY locales locales
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/careloop --create-home careloop
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
# The catalogs are compiled here, once: a broken translation fails the build, not a start.
RUN ["python", "-m", "careloop.bot.catalog_check"]
RUN ["python", "-c", "from careloop.kernel.i18n import Catalogs; Catalogs()"]
USER careloop
WORKDIR /var/lib/careloop
ENV PYTHONUNBUFFERED=1 \
    CARELOOP_LOG_FORMAT=json \
    CARELOOP_HEALTH_LISTEN=0.0.0.0:8082 \
    CARELOOP_WEBHOOK_LISTEN=0.0.0.0:8080
EXPOSE 8080 8082
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8082/healthz', timeout=4)"]
ENTRYPOINT ["careloop"]
CMD ["run", "--webhook"]
