# The llm-batch worker image (docker-compose.yml's `worker` service). Node 24 runs the
# TypeScript sources directly (type stripping), so there is no build step.
FROM node:24-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY pricing ./pricing
COPY examples ./examples
ENV LLM_BATCH_HOME=/data
VOLUME ["/data"]
ENTRYPOINT ["node", "bin/llm-batch.js"]
CMD ["worker"]
