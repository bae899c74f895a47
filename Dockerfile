# The hub's production image: Node.js 20 on Debian 12 with ffmpeg (for Opus,
# ADTS AAC and video containers). Models and data live in /data (a volume).
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# the image's npm (10) runs every install script: onnxruntime-node's must not fetch CUDA providers
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --no-audit --no-fund
COPY server ./server
COPY actors ./actors
COPY native ./native
COPY client ./client
ENV HUB_HOST=0.0.0.0 HUB_PORT=8080 HUB_DATA_DIR=/data NODE_ENV=production
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "server/main.ts"]
