// The request targets path-agreement.test.ts sends through Traefik: generated from a fixed
// seed over segments Go and JavaScript could read differently, and hand-picked targets from
// known bypasses.
import { seededRandom } from "../support/seeded-random.ts";

const SEGMENTS = [
  "api", "premium", "reports", "free", "q3.pdf", ".", "..", "%2e", "%2E%2e", ".%2e", "%2e.", "%2f", "%2F", "%5c", "%5C", "\\",
  "%252e%252e", "%25", "%70remium", "prem%69um", "%61pi", "", ";x", "premium;x", "%3b", "%3F", "%23", "%00", "%0a", "%zz", "%ff",
  "%c3%a9", "é", "*", "~", "%7e", "..%2f..%2ffree", "..%5c..%5cfree", "..\\..\\reports", "..%2F", "%2e%2e%2f", "api%2Fpremium",
  "x", "q3.pdf%00.txt", "%2570remium", "..;", ";", "%20", "a b",
];
const QUERIES = ["?x=1", "?next=/../../free", "?a=%2e%2e/%2e%2e/free", "?p=/api/premium/../free", "?u=é", "?q=%2F..%2F"];
const STARTS = [["api"], ["api", "premium"], ["reports"], ["free"], [], ["api", "premium", ".."], [""], ["%61pi", "premium"]];

export function generateTargets(seed: number, count: number): string[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const targets = new Set<string>();
  while (targets.size < count) {
    const segments = [...pick(STARTS)];
    const extra = 1 + Math.floor(random() * 4);
    for (let i = 0; i < extra; i++) {
      // Mostly appended; sometimes slipped in between the known prefix segments.
      if (random() < 0.25) segments.splice(Math.floor(random() * (segments.length + 1)), 0, pick(SEGMENTS));
      else segments.push(pick(SEGMENTS));
    }
    let target = `/${segments.join("/")}`;
    if (random() < 0.15) target += "/";
    if (random() < 0.25) target += pick(QUERIES);
    if (random() < 0.08) target += "#frag";
    targets.add(target);
  }
  return [...targets];
}

export const HAND_PICKED = [
  "/api/premium/..\\..\\reports\\q3.pdf",
  "/api/premium/..%5C..%5Cfree",
  "/api/premium/%2e%2e/%2e%2e/free",
  "/reports/..%2f..%2ffree",
  "//api//premium/x",
  "/api/%2570remium/x",
  `/api/premium/${"a".repeat(9000)}`,
  "/api/premium/x",
  "/api/x",
  "/api",
  "/api/premium",
  "/reports/q3.pdf",
  "/free/x",
  "/api/%70remium/x",
  "/api%2Fpremium%2Fx",
  "/api/premium%2F..%2F..%2Ffree",
  "/api/premium/x#frag",
  "/api/premium/x?y#frag",
  "/api/premium/%00",
  "/api/premium/%0a",
  "/api/premium/%zz",
  "/api/premium/%ff",
  "/api/premium/x%",
  "/api/premium/x%2",
  "/public/../api/premium/x",
  "/free/..%2f..%2fapi%2fpremium%2fx",
  "/free/%2e%2e/api/premium/x",
  "/free/..\\api\\premium\\x",
  "/api/premium/./x",
  "/api/./premium/x",
  "/api/premium/../x",
  "/api/premium/x/../../reports/q3.pdf",
  "/API/premium/x",
  // A raw non-ASCII byte makes Go's RawPath invalid: Traefik then cleans the decoded path, %2F included.
  "/free%2F..%2Fapi%2Fpremium/é",
  "/api/premium%2F..%2F..%2Ffree/é",
  "/api%2Fpremium%2Fx/é",
  "/reports/é/..%2F..%2Fapi%2Fpremium",
  "/api/premium/..%5C..%5Cfree/é",
  // Not an origin-form path: Traefik decides alone what these are.
  "*",
  "api/premium/x",
  "http://127.0.0.1/api/premium/x",
];
