FROM node:24-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts
COPY core ./core
COPY adapters ./adapters
COPY kube ./kube
COPY controller ./controller
COPY verifier ./verifier
COPY cli ./cli
COPY mod.ts main.ts ./
USER 65532
ENTRYPOINT ["node", "main.ts"]
