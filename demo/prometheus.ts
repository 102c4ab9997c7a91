import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';

/** A Prometheus exporter, and the URL it serves only if its port was really bound. */
export async function servePrometheus(port: number): Promise<{ exporter: PrometheusExporter; url: string | undefined; problem: string | undefined }> {
  const exporter = new PrometheusExporter({ port, host: '127.0.0.1', preventServerStart: true });
  try {
    await exporter.startServer();
    return { exporter, url: `http://127.0.0.1:${port}/metrics`, problem: undefined };
  } catch (e) {
    const code = e instanceof Error && 'code' in e ? String(e.code) : 'error';
    return { exporter, url: undefined, problem: `Prometheus metrics not served: port ${port} ${code === 'EADDRINUSE' ? 'is taken' : `failed (${code})`} (DEMO_PROMETHEUS_PORT picks another)` };
  }
}
