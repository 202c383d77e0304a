// Long-running commands stop cleanly on SIGTERM (Kubernetes) and SIGINT (Ctrl-C).
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const done = (signal: string) => {
      process.off("SIGTERM", onTerm);
      process.off("SIGINT", onInt);
      resolve(signal);
    };
    const onTerm = () => done("SIGTERM");
    const onInt = () => done("SIGINT");
    process.once("SIGTERM", onTerm);
    process.once("SIGINT", onInt);
  });
}
