// Structured JSON logs, one object per line on stderr. Fields whose names suggest a
// secret are masked, so a careless call site cannot leak a key into the logs.
export type Logger = {
  info(message: string, fields?: object): void;
  warn(message: string, fields?: object): void;
  error(message: string, fields?: object): void;
  child(fields: object): Logger;
};

const SECRET_FIELD = /(key|secret|token|password|authorization|credential|mnemonic)/i;

export function jsonLogger(base: object = {}, write: (line: string) => void = (line) => void process.stderr.write(line)): Logger {
  const emit = (level: string, message: string, fields?: object) => {
    const record = { time: new Date().toISOString(), level, msg: message, ...base, ...fields };
    write(`${JSON.stringify(record, (key, value) => (key !== "" && SECRET_FIELD.test(key) && typeof value === "string" ? "[redacted]" : typeof value === "bigint" ? value.toString() : value))}\n`);
  };
  return {
    info: (message, fields) => emit("info", message, fields),
    warn: (message, fields) => emit("warn", message, fields),
    error: (message, fields) => emit("error", message, fields),
    child: (fields) => jsonLogger({ ...base, ...fields }, write),
  };
}
