# kg in a container: `docker compose up` runs Neo4j, the GraphQL API and a scheduled ingest.
# The image holds only the installed package; the entrypoint is the `kg` CLI.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY kg ./kg
COPY ingest ./ingest
COPY schema ./schema
# Build a wheel so the final stage carries no source tree or build tooling.
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels \
    && useradd --create-home --uid 10001 kg
USER kg
WORKDIR /home/kg
# KG_HOME: the ingest's kept state (a named volume mounted here starts with this owner, not root)
RUN mkdir -p /home/kg/.kg
EXPOSE 8000
ENTRYPOINT ["kg"]
CMD ["--help"]
