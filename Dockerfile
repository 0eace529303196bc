# A CrystalMath worker: Node 20, Quantum ESPRESSO from Debian, the project's sources.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends quantum-espresso quantum-espresso-data coreutils ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/crystalmath
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY tsconfig.json ./
RUN useradd --create-home crystalmath && mkdir -p /data && chown crystalmath /data
USER crystalmath
ENV CRYSTALMATH_HOME=/data NODE_ENV=production
ENTRYPOINT ["node", "bin/crystalmath.js"]
CMD ["worker"]
