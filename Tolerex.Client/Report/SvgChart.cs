using System.Globalization;
using System.Net;
using System.Text;

namespace Tolerex.Client.Report;

/// <summary>A line of a <see cref="SvgChart.Lines"/> chart: y values at x = index · step.</summary>
internal sealed record ChartLine(string Name, IReadOnlyList<double> Values, string Color, bool Emphasis = false);

/// <summary>A group of bars of a <see cref="SvgChart.Bars"/> chart: one value per series.</summary>
internal sealed record BarGroup(string Label, string Detail, IReadOnlyList<double> Values);

/// <summary>
/// Inline SVG charts, drawn here rather than by a script or library so the page needs nothing from the
/// network and renders the same anywhere. Every text from input is HTML-encoded (the SVG sits in HTML).
/// </summary>
internal static class SvgChart
{
    /// <summary>Tableau 10: distinguishable colours, also for most colour-blind readers.</summary>
    public static readonly string[] Palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

    private const int Width = 1160;
    private const int Left = 80, Right = 24, Top = 16;
    private const int PlotHeight = 300;
    private const double CharWidth = 7; // average width of a 12 px sans-serif character, for layout only

    public static string Lines(IReadOnlyList<ChartLine> lines, double xStep, string xLabel, string yLabel, string description)
    {
        var points = lines.Count == 0 ? 0 : lines.Max(l => l.Values.Count);
        var xMax = Math.Max(xStep, (points - 1) * xStep);
        var yTicks = LinearTicks(lines.SelectMany(l => l.Values).DefaultIfEmpty(0).Max());
        // The x axis ends with the data (time has no natural round end); the y axis at the next round tick.
        var xTicks = LinearTicks(xMax).Where(t => t <= xMax * (1 + 1e-9)).ToList();
        var yMax = yTicks[^1];
        var plotWidth = Width - Left - Right;
        double X(double x) => Left + x / xMax * plotWidth;
        double Y(double y) => Top + PlotHeight - y / yMax * PlotHeight;

        var legend = LegendLayout(lines.Select(l => l.Name).ToList(), Top + PlotHeight + 58);
        var svg = Begin(legend.Bottom + 8, description);
        foreach (var t in yTicks)
        {
            svg.Append(Invariant($"<line class=\"grid\" x1=\"{Left}\" x2=\"{Left + plotWidth}\" y1=\"{Y(t):0.#}\" y2=\"{Y(t):0.#}\"/>"));
            svg.Append(Invariant($"<text class=\"tick\" x=\"{Left - 8}\" y=\"{Y(t) + 4:0.#}\" text-anchor=\"end\">{Number(t)}</text>"));
        }

        foreach (var t in xTicks)
        {
            svg.Append(Invariant($"<line class=\"tickmark\" x1=\"{X(t):0.#}\" x2=\"{X(t):0.#}\" y1=\"{Top + PlotHeight}\" y2=\"{Top + PlotHeight + 5}\"/>"));
            svg.Append(Invariant($"<text class=\"tick\" x=\"{X(t):0.#}\" y=\"{Top + PlotHeight + 19}\" text-anchor=\"middle\">{Number(t)}</text>"));
        }

        Axes(svg, plotWidth, xLabel, yLabel);
        // Thin lines first, so the emphasised total stays on top.
        foreach (var line in lines.OrderBy(l => l.Emphasis))
        {
            var width = line.Emphasis ? 2.5 : 1.5;
            if (line.Values.Count == 1)
            {
                svg.Append(Invariant($"<circle cx=\"{X(0):0.#}\" cy=\"{Y(line.Values[0]):0.#}\" r=\"3\" fill=\"{line.Color}\"><title>{Encode(line.Name)}</title></circle>"));
                continue;
            }

            svg.Append(Invariant($"<polyline fill=\"none\" stroke=\"{line.Color}\" stroke-width=\"{width}\" stroke-linejoin=\"round\" points=\""));
            for (var i = 0; i < line.Values.Count; i++)
                svg.Append(Invariant($"{(i == 0 ? "" : " ")}{X(i * xStep):0.#},{Y(line.Values[i]):0.#}"));
            svg.Append(Invariant($"\"><title>{Encode(line.Name)}</title></polyline>"));
        }

        Legend(svg, legend, lines.Select(l => l.Color).ToList());
        return svg.Append("</svg>").ToString();
    }

    /// <summary>Grouped bars on a logarithmic axis: tail latencies are often 10–100× the median, and on a
    /// linear axis the medians would be slivers.</summary>
    public static string Bars(IReadOnlyList<BarGroup> groups, IReadOnlyList<string> series, string yLabel, string description)
    {
        var positive = groups.SelectMany(g => g.Values).Where(v => v > 0).DefaultIfEmpty(1).ToList();
        var lo = Math.Pow(10, Math.Floor(Math.Log10(positive.Min())));
        var hi = Math.Pow(10, Math.Ceiling(Math.Log10(positive.Max())));
        if (hi <= lo)
            hi = lo * 10;
        var plotWidth = Width - Left - Right;
        double Y(double v) => Top + PlotHeight - (Math.Log10(v) - Math.Log10(lo)) / (Math.Log10(hi) - Math.Log10(lo)) * PlotHeight;

        var legend = LegendLayout(series, Top + PlotHeight + 62);
        var svg = Begin(legend.Bottom + 8, description);
        var decades = (int)Math.Round(Math.Log10(hi / lo));
        for (var decade = lo; decade <= hi * 1.0001; decade *= 10)
        {
            foreach (var m in new[] { 1, 2, 5 })
            {
                var t = decade * m;
                if (t > hi * 1.0001)
                    break;
                svg.Append(Invariant($"<line class=\"{(m == 1 ? "grid" : "grid minor")}\" x1=\"{Left}\" x2=\"{Left + plotWidth}\" y1=\"{Y(t):0.#}\" y2=\"{Y(t):0.#}\"/>"));
                if (m == 1 || decades <= 3)
                    svg.Append(Invariant($"<text class=\"tick\" x=\"{Left - 8}\" y=\"{Y(t) + 4:0.#}\" text-anchor=\"end\">{Number(t)}</text>"));
            }
        }

        Axes(svg, plotWidth, "", yLabel);
        var groupWidth = plotWidth / Math.Max(1.0, groups.Count);
        var barWidth = Math.Min(48, groupWidth * 0.8 / Math.Max(1, series.Count));
        var maxChars = Math.Max(4, (int)(groupWidth / CharWidth) - 1);
        for (var g = 0; g < groups.Count; g++)
        {
            var group = groups[g];
            var center = Left + (g + 0.5) * groupWidth;
            var x0 = center - barWidth * series.Count / 2;
            for (var s = 0; s < series.Count && s < group.Values.Count; s++)
            {
                var v = group.Values[s];
                if (v <= 0)
                    continue;
                var top = Y(Math.Max(v, lo));
                var x = x0 + s * barWidth;
                svg.Append(Invariant($"<rect x=\"{x + 1:0.#}\" y=\"{top:0.#}\" width=\"{barWidth - 2:0.#}\" height=\"{Top + PlotHeight - top:0.#}\" fill=\"{Palette[s % Palette.Length]}\">"));
                svg.Append(Invariant($"<title>{Encode(group.Label)} {Encode(series[s])}: {Number(v)} µs</title></rect>"));
                if (barWidth >= 34)
                    svg.Append(Invariant($"<text class=\"value\" x=\"{x + barWidth / 2:0.#}\" y=\"{top - 4:0.#}\" text-anchor=\"middle\">{Compact(v)}</text>"));
            }

            svg.Append(Invariant($"<text class=\"label\" x=\"{center:0.#}\" y=\"{Top + PlotHeight + 20}\" text-anchor=\"middle\">{Encode(Shorten(group.Label, maxChars))}<title>{Encode(group.Label)}</title></text>"));
            svg.Append(Invariant($"<text class=\"tick\" x=\"{center:0.#}\" y=\"{Top + PlotHeight + 36}\" text-anchor=\"middle\">{Encode(Shorten(group.Detail, maxChars))}</text>"));
        }

        Legend(svg, legend, series.Select((_, i) => Palette[i % Palette.Length]).ToList());
        return svg.Append("</svg>").ToString();
    }

    private static StringBuilder Begin(double height, string description)
    {
        var svg = new StringBuilder();
        svg.Append(Invariant($"<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {Width} {height:0}\" role=\"img\" aria-label=\"{Encode(description)}\">"));
        return svg;
    }

    private static void Axes(StringBuilder svg, int plotWidth, string xLabel, string yLabel)
    {
        svg.Append(Invariant($"<line class=\"axis\" x1=\"{Left}\" x2=\"{Left}\" y1=\"{Top}\" y2=\"{Top + PlotHeight}\"/>"));
        svg.Append(Invariant($"<line class=\"axis\" x1=\"{Left}\" x2=\"{Left + plotWidth}\" y1=\"{Top + PlotHeight}\" y2=\"{Top + PlotHeight}\"/>"));
        if (xLabel.Length > 0)
            svg.Append(Invariant($"<text class=\"axis-label\" x=\"{Left + plotWidth / 2}\" y=\"{Top + PlotHeight + 40}\" text-anchor=\"middle\">{Encode(xLabel)}</text>"));
        svg.Append(Invariant($"<text class=\"axis-label\" transform=\"translate(18 {Top + PlotHeight / 2}) rotate(-90)\" text-anchor=\"middle\">{Encode(yLabel)}</text>"));
    }

    private sealed record LegendItems(IReadOnlyList<(string Name, double X, double Y)> Items, double Bottom);

    /// <summary>Lays legend entries out left to right, wrapping to a new row at the chart's width.</summary>
    private static LegendItems LegendLayout(IReadOnlyList<string> names, double top)
    {
        var items = new List<(string, double, double)>();
        double x = Left, y = top;
        foreach (var name in names)
        {
            var shown = Shorten(name, 60);
            var width = 22 + shown.Length * CharWidth + 18;
            if (x + width > Width - Right && x > Left)
            {
                x = Left;
                y += 20;
            }

            items.Add((shown, x, y));
            x += width;
        }

        return new LegendItems(items, y + 6);
    }

    private static void Legend(StringBuilder svg, LegendItems legend, IReadOnlyList<string> colors)
    {
        for (var i = 0; i < legend.Items.Count; i++)
        {
            var (name, x, y) = legend.Items[i];
            svg.Append(Invariant($"<rect x=\"{x:0.#}\" y=\"{y - 10:0.#}\" width=\"14\" height=\"10\" fill=\"{colors[i]}\"/>"));
            svg.Append(Invariant($"<text class=\"legend\" x=\"{x + 20:0.#}\" y=\"{y:0.#}\">{Encode(name)}</text>"));
        }
    }

    /// <summary>0 and 5 to 10 evenly spaced ticks at 1, 2 or 5 × 10^k, the last at or above <paramref name="max"/>.</summary>
    internal static List<double> LinearTicks(double max)
    {
        if (!(max > 0) || double.IsInfinity(max))
            max = 1;
        var raw = max / 6;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = (raw / magnitude) switch { <= 1 => 1, <= 2 => 2, <= 5 => 5, _ => 10 } * magnitude;
        var ticks = new List<double>();
        for (var i = 0; ; i++)
        {
            var t = i * step;
            ticks.Add(t);
            if (t >= max * (1 - 1e-12))
                return ticks;
        }
    }

    internal static string Number(double v) =>
        Math.Abs(v - Math.Round(v)) < 1e-9 ? Math.Round(v).ToString("#,0", CultureInfo.InvariantCulture) : v.ToString("#,0.###", CultureInfo.InvariantCulture);

    /// <summary>Short value labels for bars: 950, 9,500, 12.3k, 1.25M.</summary>
    internal static string Compact(double v) => v switch
    {
        < 10_000 => v.ToString("#,0", CultureInfo.InvariantCulture),
        < 1_000_000 => (v / 1000).ToString("0.#", CultureInfo.InvariantCulture) + "k",
        _ => (v / 1_000_000).ToString("0.##", CultureInfo.InvariantCulture) + "M",
    };

    private static string Shorten(string text, int maxChars)
    {
        if (text.Length <= maxChars)
            return text;
        var keep = maxChars - 1;
        // Never split a surrogate pair: half of one is not a character.
        if (char.IsHighSurrogate(text[keep - 1]))
            keep--;
        return text[..keep] + "…";
    }

    private static string Encode(string text) => WebUtility.HtmlEncode(text);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
