using System.Globalization;
using System.Net;
using System.Text;

namespace Tolerex.Client.Report;

/// <summary>
/// Renders the report as one self-contained HTML page: styles inline, charts as inline SVG, no scripts,
/// fonts or images, so it can be mailed or archived and opens the same offline. Every string that came from
/// an input file (or its name) goes through <see cref="E"/>.
/// </summary>
internal static class HtmlReport
{
    public static readonly string[] PercentileNames = ["p50", "p95", "p99", "p99.9"];

    public static string Render(ReportModel model)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<title>Tolerex performance report</title>\n<style>").Append(Css).Append("</style>\n</head>\n<body>\n<main>\n")
            .Append("<h1>Tolerex performance report</h1>\n");
        var csvFiles = model.Inputs.Count(i => i.Kind == InputKind.Csv);
        var benchFiles = model.Inputs.Count(i => i.Kind == InputKind.Bench);
        html.Append(I($"<p class=\"meta\">Generated {model.GeneratedAt:yyyy-MM-dd HH:mm:ss zzz} from {model.Rows.Count:#,0} CSV rows ({csvFiles} files) and {model.Bench.Count} bench results ({benchFiles} files).</p>\n"));

        Inputs(html, model);
        ThroughputSection(html, model);
        PercentileSection(html, model);
        ClientSection(html, model);
        BenchSection(html, model);
        html.Append("</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static void Inputs(StringBuilder html, ReportModel model)
    {
        html.Append("<h2>Input files</h2>\n<table class=\"inputs\">\n<thead><tr><th>File</th><th>Kind</th><th class=\"num\">Rows / results</th></tr></thead>\n<tbody>\n");
        foreach (var input in model.Inputs)
        {
            html.Append(I($"<tr><td class=\"file\">{E(input.Path)}</td><td>{(input.Kind == InputKind.Csv ? "client CSV" : "bench results")}</td><td class=\"num\">{input.Items:#,0}</td></tr>\n"));
        }

        html.Append("</tbody>\n</table>\n");
    }

    private static void ThroughputSection(StringBuilder html, ReportModel model)
    {
        html.Append("<h2>Throughput over time</h2>\n");
        if (model.Throughput is not { } t)
        {
            html.Append("<p class=\"note\">No OK rows in the CSV input, so there is no throughput to show.</p>\n");
            return;
        }

        var lines = t.Series.Select((s, i) => new ChartLine(s.Name, s.Rates, SvgChart.Palette[i % SvgChart.Palette.Length])).ToList();
        if (t.Series.Count > 1)
            lines.Add(new ChartLine("total", t.Total, "#222222", Emphasis: true));
        var bucket = t.BucketSeconds == 1 ? "second" : I($"{t.BucketSeconds}-second bucket");
        html.Append("<figure>\n")
            .Append(SvgChart.Lines(lines, t.BucketSeconds, I($"seconds since {t.Start:yyyy-MM-dd HH:mm:ss zzz}"), "commands per second",
                "Commands per second over time, per client and in total"))
            .Append(I($"\n<figcaption>Commands per second: the Count of OK rows summed per {bucket} of their timestamps, one line per ClientID{(t.Series.Count > 1 ? " and the total" : "")}. Peak total {t.Total.Max():#,0}/s, mean {t.Total.Average():#,0}/s over {t.Total.Length * t.BucketSeconds:#,0} s.</figcaption>\n</figure>\n"));
    }

    private static void PercentileSection(StringBuilder html, ReportModel model)
    {
        html.Append("<h2>Latency percentiles</h2>\n");
        if (model.Percentiles.Count == 0)
        {
            html.Append("<p class=\"note\">No latencies to show (no OK CSV rows and no bench results).</p>\n");
            return;
        }

        var groups = model.Percentiles.Select(p => new BarGroup(p.Label, p.Detail, [p.P50Us, p.P95Us, p.P99Us, p.P999Us])).ToList();
        html.Append("<figure>\n")
            .Append(SvgChart.Bars(groups, PercentileNames, "microseconds (log scale)", "Latency percentiles per operation and per bench result"))
            .Append("\n<figcaption>Round-trip latency percentiles. CSV operations: nearest-rank percentiles over all clients' OK rows, each row weighted by its Count ")
            .Append("(a bulk row's RTT_us is its batch's mean per command, so its spread is narrower than that of single commands). Bench results: the bench's own percentiles per target.</figcaption>\n</figure>\n");
    }

    private static void ClientSection(StringBuilder html, ReportModel model)
    {
        html.Append("<h2>Per-operation latency by client</h2>\n");
        if (model.Clients.Count == 0)
        {
            html.Append("<p class=\"note\">No CSV rows.</p>\n");
            return;
        }

        html.Append("<p class=\"note\">Commands, bytes and latencies count OK rows only; errors is the Count of ERROR rows (commands not acknowledged). ")
            .Append("The mean is weighted by Count: Σ(RTT_us × Count) / ΣCount. Latencies in microseconds.</p>\n");
        foreach (var client in model.Clients)
        {
            html.Append("<section class=\"client\">\n<h3>Client ").Append(E(client.ClientId)).Append("</h3>\n")
                .Append("<p class=\"files\">from ").Append(string.Join(", ", client.Files.Select(E))).Append("</p>\n")
                .Append("<table>\n<thead><tr><th>Operation</th><th>Mode</th><th class=\"num\">Rows</th><th class=\"num\">Commands</th><th class=\"num\">Errors</th>")
                .Append("<th class=\"num\">Bytes</th><th class=\"num\">Mean</th><th class=\"num\">Min</th><th class=\"num\">p50</th><th class=\"num\">p99</th><th class=\"num\">Max</th></tr></thead>\n<tbody>\n");
            foreach (var op in client.Operations)
                StatsRow(html, E(op.Operation), E(string.Join(", ", op.Modes)), op.Stats);
            html.Append("</tbody>\n");
            if (client.Operations.Count > 1)
            {
                html.Append("<tfoot>\n");
                StatsRow(html, "all operations", "", client.All);
                html.Append("</tfoot>\n");
            }

            html.Append("</table>\n</section>\n");
        }
    }

    private static void StatsRow(StringBuilder html, string operationHtml, string modeHtml, LatencyStats s)
    {
        html.Append("<tr><td>").Append(operationHtml).Append("</td><td>").Append(modeHtml).Append("</td>")
            .Append(I($"<td class=\"num\">{s.Rows:#,0}</td><td class=\"num\">{s.Commands:#,0}</td><td class=\"num{(s.Errors > 0 ? " bad" : "")}\">{s.Errors:#,0}</td><td class=\"num\">{s.Bytes:#,0}</td>"))
            .Append(I($"<td class=\"num\">{Latency(s.MeanUs)}</td><td class=\"num\">{Latency(s.MinUs)}</td><td class=\"num\">{Latency(s.P50Us)}</td><td class=\"num\">{Latency(s.P99Us)}</td><td class=\"num\">{Latency(s.MaxUs)}</td></tr>\n"));
    }

    private static void BenchSection(StringBuilder html, ReportModel model)
    {
        html.Append("<h2>Bench results</h2>\n");
        if (model.Bench.Count == 0)
        {
            html.Append("<p class=\"note\">No bench results among the inputs (<code>tolerex bench</code> prints one JSON line per target).</p>\n");
            return;
        }

        html.Append("<table>\n<thead><tr><th>Target</th><th class=\"num\">Conns</th><th class=\"num\">Payload (B)</th><th class=\"num\">Requests</th><th class=\"num\">Errors</th>")
            .Append("<th class=\"num\">ops/s</th><th class=\"num\">p50 µs</th><th class=\"num\">p95 µs</th><th class=\"num\">p99 µs</th><th class=\"num\">p99.9 µs</th><th>Source</th></tr></thead>\n<tbody>\n");
        foreach (var entry in model.Bench)
        {
            var r = entry.Result;
            html.Append("<tr><td>").Append(E(r.Target)).Append("</td>")
                .Append(I($"<td class=\"num\">{r.Connections:#,0}</td><td class=\"num\">{r.PayloadBytes:#,0}</td><td class=\"num\">{r.Requests:#,0}</td><td class=\"num{(r.Errors > 0 ? " bad" : "")}\">{r.Errors:#,0}</td>"))
                .Append(I($"<td class=\"num\">{r.OpsPerSecond:#,0}</td><td class=\"num\">{r.P50Us:#,0}</td><td class=\"num\">{r.P95Us:#,0}</td><td class=\"num\">{r.P99Us:#,0}</td><td class=\"num\">{r.P999Us:#,0}</td>"))
                .Append(I($"<td class=\"file\">{E(Path.GetFileName(entry.File))}:{entry.Line}</td></tr>\n"));
        }

        html.Append("</tbody>\n</table>\n");
        if (model.Ratios.Count == 0)
            return;
        html.Append("<h3>Tolerex / Redis</h3>\n<table class=\"ratios\">\n<thead><tr><th class=\"num\">Conns</th><th class=\"num\">Payload (B)</th><th class=\"num\">tolerex ops/s</th><th class=\"num\">redis ops/s</th><th class=\"num\">tolerex/redis throughput ratio</th></tr></thead>\n<tbody>\n");
        foreach (var ratio in model.Ratios)
        {
            html.Append(I($"<tr><td class=\"num\">{ratio.Connections:#,0}</td><td class=\"num\">{ratio.PayloadBytes:#,0}</td><td class=\"num\">{ratio.TolerexOpsPerSecond:#,0}</td><td class=\"num\">{ratio.RedisOpsPerSecond:#,0}</td><td class=\"num ratio\">{ratio.Ratio:0.00}</td></tr>\n"));
        }

        html.Append("</tbody>\n</table>\n<p class=\"note\">Same workload, same machine and client; where a target ran more than once at the same connections and payload, its mean ops/s is used.</p>\n");
    }

    private static string Latency(double? us) => us is { } v ? v.ToString("#,0.#", CultureInfo.InvariantCulture) : "–";

    private static string Latency(long? us) => us is { } v ? v.ToString("#,0", CultureInfo.InvariantCulture) : "–";

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string I(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private const string Css = """

        body { margin: 0; background: #fff; color: #1d1d1f; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
        main { max-width: 1200px; margin: 0 auto; padding: 24px 20px 48px; }
        h1 { font-size: 26px; margin: 0 0 4px; }
        h2 { font-size: 19px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #ddd; }
        h3 { font-size: 15px; margin: 20px 0 4px; }
        .meta, .note, .files, figcaption { color: #555; }
        .note, figcaption { font-size: 13px; }
        .files { margin: 0 0 6px; font-size: 12px; }
        figure { margin: 0; }
        table { border-collapse: collapse; margin: 6px 0 8px; font-variant-numeric: tabular-nums; }
        th, td { padding: 4px 10px; border-bottom: 1px solid #e6e6e6; text-align: left; vertical-align: top; }
        th { background: #f5f6f8; font-weight: 600; border-bottom: 1px solid #ccc; }
        tfoot td { font-weight: 600; border-top: 1px solid #ccc; }
        .num { text-align: right; white-space: nowrap; }
        .bad { color: #b3261e; font-weight: 600; }
        .ratio { font-weight: 600; }
        .file { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
        svg.chart { width: 100%; height: auto; display: block; }
        svg .grid { stroke: #e4e4e4; stroke-width: 1; }
        svg .grid.minor { stroke: #f1f1f1; }
        svg .axis { stroke: #333; stroke-width: 1; }
        svg .tickmark { stroke: #333; }
        svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #444; }
        svg .tick { font-size: 12px; }
        svg .axis-label { font-size: 13px; fill: #222; }
        svg .label { font-size: 12px; fill: #222; font-weight: 600; }
        svg .legend { font-size: 12px; fill: #222; }
        svg .value { font-size: 10px; fill: #333; }

        """;
}
