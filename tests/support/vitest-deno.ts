// Lets the vitest test files run unchanged under `deno test`: deno.json maps the
// "vitest" import here. node:test supplies the runner (Deno implements it), the npm
// `expect` package (Jest's, which vitest's API follows) supplies the matchers.
import * as nodeTest from "node:test";
import { expect } from "expect";

type Body = () => unknown | Promise<unknown>;
type Options = { timeout?: number };

function wrap(runner: typeof nodeTest.it) {
  // vitest takes options before or after the body: it(name, fn, 5000) or it(name, { timeout }, fn).
  const fn = (name: string, a: Body | Options, b?: Body | number | Options) => {
    const [body, options] = typeof a === "function" ? [a, b as number | Options | undefined] : [b as Body, a];
    return runner(name, { timeout: timeoutOf(options) }, async () => {
      await body();
    });
  };
  fn.skip = (name: string, _body: Body) => runner(name, { skip: true }, () => {});
  fn.only = fn;
  fn.each = <T>(cases: readonly T[]) => (name: string, body: (c: T) => unknown) => {
    for (const c of cases) fn(formatName(name, c), () => body(c));
  };
  return fn;
}

function timeoutOf(options?: number | Options): number | undefined {
  return typeof options === "number" ? options : options?.timeout;
}

function formatName(name: string, value: unknown): string {
  return name.replace(/%s|\$(\w+)/g, (_m, key?: string) =>
    String(key && typeof value === "object" && value ? (value as Record<string, unknown>)[key] : value)
  );
}

export const it = wrap(nodeTest.it);
export const test = it;
export const describe = (name: string, body: () => void) => nodeTest.describe(name, body);
export const beforeAll = (body: Body) => nodeTest.before(async () => void (await body()));
export const afterAll = (body: Body) => nodeTest.after(async () => void (await body()));
export const beforeEach = (body: Body) => nodeTest.beforeEach(async () => void (await body()));
export const afterEach = (body: Body) => nodeTest.afterEach(async () => void (await body()));
export { expect };
