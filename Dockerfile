# pumpflix as a container, for the docker-compose stack (and for CI images).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir . && useradd --create-home pumpflix
USER pumpflix
ENTRYPOINT ["pumpflix"]
CMD ["doctor"]
