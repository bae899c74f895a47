# The hub's production image: Node.js 20 on Debian 12 with ffmpeg (for Opus,
# ADTS AAC and video containers). Models and data live in /data (a volume).
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg python3 make g++ cmake ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci builds the whisper.cpp addon (CPU; build-arg WHISPER_CUDA=1 on a CUDA base image for the GPU)
COPY scripts ./scripts
COPY native/engine/addon ./native/engine/addon
ARG WHISPER_CUDA=0
# the image's npm (10) runs every install script: onnxruntime-node's must not fetch CUDA providers
RUN ONNXRUNTIME_NODE_INSTALL=skip WHISPER_CUDA=$WHISPER_CUDA npm ci --omit=dev --no-audit --no-fund
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
