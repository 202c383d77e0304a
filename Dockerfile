FROM node:24-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts
COPY core ./core
COPY cli ./cli
COPY adapters ./adapters
COPY verifier ./verifier
COPY mod.ts main.ts ./
USER 65532
ENTRYPOINT ["node", "main.ts"]
