// What can go wrong talking to the API server, as values a caller can switch on.

export type KubeErrorKind =
  | "not-found" // 404: the object, or its whole kind (CRD not installed)
  | "conflict" // 409: resourceVersion moved on, or the object exists
  | "gone" // 410: the resourceVersion is too old to watch from
  | "forbidden" // 401/403: RBAC says no
  | "invalid" // 400/415/422: the request itself is wrong
  | "unavailable"; // network error, timeout, 429 or 5xx: try again later

export class KubeApiError extends Error {
  readonly kind: KubeErrorKind;
  readonly status: number;
  constructor(kind: KubeErrorKind, status: number, message: string) {
    super(message);
    this.name = "KubeApiError";
    this.kind = kind;
    this.status = status;
  }
}

export function kindOfStatus(status: number): KubeErrorKind {
  if (status === 404) return "not-found";
  if (status === 409) return "conflict";
  if (status === 410) return "gone";
  if (status === 401 || status === 403) return "forbidden";
  if (status === 429 || status >= 500) return "unavailable";
  return "invalid";
}

export function isKubeError(error: unknown, kind?: KubeErrorKind): error is KubeApiError {
  return error instanceof KubeApiError && (kind === undefined || error.kind === kind);
}
