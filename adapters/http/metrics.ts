// A small Prometheus registry: counters and histograms with labels, rendered in the text
// exposition format. Enough for our few series, without a dependency on the hot path.

type Labels = Record<string, string>;

export type Counter = { inc(labels?: Labels, by?: number): void };
export type Gauge = { set(value: number, labels?: Labels): void };
export type Histogram = { observe(value: number, labels?: Labels): void };

export type Registry = {
  counter(name: string, help: string): Counter;
  gauge(name: string, help: string): Gauge;
  histogram(name: string, help: string, buckets: readonly number[]): Histogram;
  render(): string;
};

export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createRegistry(): Registry {
  const renderers: (() => string)[] = [];
  const header = (name: string, help: string, type: string) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;

  const series = (name: string, help: string, type: "counter" | "gauge") => {
    const values = new Map<string, number>();
    renderers.push(() => header(name, help, type) + [...values].map(([l, v]) => `${name}${l} ${v}\n`).join(""));
    return values;
  };

  return {
    counter(name, help) {
      const values = series(name, help, "counter");
      return { inc: (labels = {}, by = 1) => void values.set(labelText(labels), (values.get(labelText(labels)) ?? 0) + by) };
    },
    gauge(name, help) {
      const values = series(name, help, "gauge");
      return { set: (value, labels = {}) => void values.set(labelText(labels), value) };
    },
    histogram(name, help, buckets) {
      const values = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
      renderers.push(() =>
        header(name, help, "histogram") + [...values.values()].map(({ labels, counts, sum, count }) =>
          buckets.map((b, i) => `${name}_bucket${labelText({ ...labels, le: String(b) })} ${counts[i]}\n`).join("") +
          `${name}_bucket${labelText({ ...labels, le: "+Inf" })} ${count}\n` +
          `${name}_sum${labelText(labels)} ${sum}\n${name}_count${labelText(labels)} ${count}\n`
        ).join("")
      );
      return {
        observe(value, labels = {}) {
          const key = labelText(labels);
          let entry = values.get(key);
          if (!entry) values.set(key, entry = { labels, counts: buckets.map(() => 0), sum: 0, count: 0 });
          for (let i = 0; i < buckets.length; i++) if (value <= buckets[i]!) entry.counts[i]!++;
          entry.sum += value;
          entry.count++;
        },
      };
    },
    render: () => renderers.map((r) => r()).join(""),
  };
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",")}}`;
}
