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
  // Like vitest: an array case is spread into the body's arguments.
  // Like vitest: options (a timeout) may come between the name and the body.
  fn.each = <T>(cases: readonly T[]) => (name: string, optionsOrBody: number | Options | ((...args: never[]) => unknown), maybeBody?: (...args: never[]) => unknown) => {
    const body = typeof optionsOrBody === "function" ? optionsOrBody : maybeBody!;
    const options = typeof optionsOrBody === "function" ? undefined : optionsOrBody;
    for (const c of cases) {
      const args = (Array.isArray(c) ? c : [c]) as never[];
      fn(formatName(name, args), options, () => body(...args));
    }
  };
  return fn;
}

function timeoutOf(options?: number | Options): number | undefined {
  return typeof options === "number" ? options : options?.timeout;
}

/** vitest's name templates: printf-style %s %d %i %o %j take the arguments in turn; $key reads a field of an object case. */
function formatName(name: string, args: unknown[]): string {
  let next = 0;
  return name.replace(/%[sdioj]|\$(\w+)/g, (match, key?: string) => {
    if (key) return String((args[0] as Record<string, unknown> | undefined)?.[key]);
    const value = args[next++];
    return match === "%o" || match === "%j" ? JSON.stringify(value) : String(value);
  });
}

export const it = wrap(nodeTest.it);
export const test = it;
export const describe = (name: string, body: () => void) => nodeTest.describe(name, body);
export const beforeAll = (body: Body) => nodeTest.before(async () => void (await body()));
export const afterAll = (body: Body) => nodeTest.after(async () => void (await body()));
export const beforeEach = (body: Body) => nodeTest.beforeEach(async () => void (await body()));
export const afterEach = (body: Body) => nodeTest.afterEach(async () => void (await body()));
export { expect };
