// A small Prometheus registry: counters and histograms with labels, rendered in the text
// exposition format. Enough for our few series, without a dependency on the hot path.
// `labels()` binds a series once, so a caller on the hot path (the verifier's /verify)
// pays neither for formatting the label text nor for a map lookup per observation.

type Labels = Record<string, string>;

export type BoundCounter = { inc(by?: number): void };
export type BoundHistogram = { observe(value: number): void };
export type Counter = { inc(labels?: Labels, by?: number): void; labels(labels: Labels): BoundCounter };
export type Gauge = { set(value: number, labels?: Labels): void };
export type Histogram = { observe(value: number, labels?: Labels): void; labels(labels: Labels): BoundHistogram };

export type Registry = {
  counter(name: string, help: string): Counter;
  gauge(name: string, help: string): Gauge;
  histogram(name: string, help: string, buckets: readonly number[]): Histogram;
  render(): string;
};

export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type HistogramSeries = { labels: Labels; counts: number[]; sum: number; count: number };

export function createRegistry(): Registry {
  const renderers: (() => string)[] = [];
  const header = (name: string, help: string, type: string) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;

  const series = (name: string, help: string, type: "counter" | "gauge") => {
    const values = new Map<string, { value: number }>();
    renderers.push(() => header(name, help, type) + [...values].map(([l, v]) => `${name}${l} ${v.value}\n`).join(""));
    return (labels: Labels) => {
      const key = labelText(labels);
      let cell = values.get(key);
      if (!cell) values.set(key, cell = { value: 0 });
      return cell;
    };
  };

  return {
    counter(name, help) {
      const cellFor = series(name, help, "counter");
      const labels = (l: Labels): BoundCounter => {
        const cell = cellFor(l);
        return { inc: (by = 1) => void (cell.value += by) };
      };
      return { inc: (l = {}, by = 1) => labels(l).inc(by), labels };
    },
    gauge(name, help) {
      const cellFor = series(name, help, "gauge");
      return { set: (value, labels = {}) => void (cellFor(labels).value = value) };
    },
    histogram(name, help, buckets) {
      const values = new Map<string, HistogramSeries>();
      // Counts are kept per bucket (not cumulative) so an observation touches one cell; rendering accumulates.
      renderers.push(() =>
        header(name, help, "histogram") + [...values.values()].map(({ labels, counts, sum, count }) => {
          let cumulative = 0;
          return buckets.map((b, i) => `${name}_bucket${labelText({ ...labels, le: String(b) })} ${cumulative += counts[i]!}\n`).join("") +
            `${name}_bucket${labelText({ ...labels, le: "+Inf" })} ${count}\n` +
            `${name}_sum${labelText(labels)} ${sum}\n${name}_count${labelText(labels)} ${count}\n`;
        }).join("")
      );
      const labels = (l: Labels): BoundHistogram => {
        const key = labelText(l);
        let entry = values.get(key);
        if (!entry) values.set(key, entry = { labels: l, counts: buckets.map(() => 0), sum: 0, count: 0 });
        const series = entry;
        return {
          observe(value) {
            const bucket = buckets.findIndex((b) => value <= b);
            if (bucket >= 0) series.counts[bucket]!++;
            series.sum += value;
            series.count++;
          },
        };
      };
      return { observe: (value, l = {}) => labels(l).observe(value), labels };
    },
    render: () => renderers.map((r) => r()).join(""),
  };
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",")}}`;
}
