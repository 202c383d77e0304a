// Structured JSON logs, one object per line on stderr. Secrets are masked by what they
// are, not by what a field happens to be called: every secret the process reads (a
// settlement key, an upstream token, a kubeconfig credential) is registered when read,
// and masked wherever it appears in a line, under any field name or inside a message. A
// field called "key" (a route's "namespace/name") is left alone.
export type Logger = {
  info(message: string, fields?: object): void;
  warn(message: string, fields?: object): void;
  error(message: string, fields?: object): void;
  child(fields: object): Logger;
};

const registered = new Set<string>();
/** Names that only ever hold a secret: masked even if a careless call site logs one that was never registered. */
const ALWAYS_SECRET = /^(authorization|password|privatekey|mnemonic)$/i;
/** Shorter values would mask ordinary words. */
const MIN_SECRET_LENGTH = 8;
const MASK = "[redacted]";

/** Masks `value` in every log line from now on. Registers the bare hex of a 0x-prefixed key too. */
export function registerSecret(value: string | undefined): void {
  const trimmed = value?.trim();
  if (!trimmed || trimmed.length < MIN_SECRET_LENGTH) return;
  registered.add(trimmed);
  if (/^0x[0-9a-fA-F]+$/.test(trimmed)) registered.add(trimmed.slice(2));
}

function mask(text: string): string {
  let masked = text;
  for (const secret of registered) if (masked.includes(secret)) masked = masked.replaceAll(secret, MASK);
  return masked;
}

export function jsonLogger(base: object = {}, write: (line: string) => void = (line) => void process.stderr.write(line)): Logger {
  const emit = (level: string, message: string, fields?: object) => {
    const record = { time: new Date().toISOString(), level, msg: message, ...base, ...fields };
    write(`${
      JSON.stringify(record, (key, value) => {
        if (typeof value === "bigint") return value.toString();
        if (typeof value !== "string") return value;
        return key !== "" && ALWAYS_SECRET.test(key) ? MASK : mask(value);
      })
    }\n`);
  };
  return {
    info: (message, fields) => emit("info", message, fields),
    warn: (message, fields) => emit("warn", message, fields),
    error: (message, fields) => emit("error", message, fields),
    child: (fields) => jsonLogger({ ...base, ...fields }, write),
  };
}
