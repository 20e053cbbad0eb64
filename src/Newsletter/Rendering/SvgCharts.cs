using System.Globalization;
using System.Net;
using System.Text;

namespace Newsletter.Rendering;

/// <summary>One coloured layer of a stacked bar chart: a value per category.</summary>
public sealed record ChartSeries(string Name, string Color, IReadOnlyList<long> Values);

/// <summary>
/// Charts drawn on the server as inline SVG: no script, no stylesheet, nothing fetched, so they
/// show under the pages' <c>default-src 'none'</c> policy and in any browser. The SVG scales to its
/// box (a <c>viewBox</c> and <c>width="100%"</c>), drawn about as wide as a phone so that its text
/// stays readable at 390 px and grows on a wide screen. Every bar has a <c>&lt;title&gt;</c> (its
/// day and values, shown on hover and read by screen readers); the legend is left to the page.
/// </summary>
public static class SvgCharts
{
    private const int Width = 360, Height = 150, Left = 34, Right = 4, Top = 8, Bottom = 20;

    /// <summary>A stacked bar per category (oldest first), the series stacked in the order given.</summary>
    /// <param name="label">What the chart shows, for screen readers.</param>
    public static string StackedBars(string label, IReadOnlyList<string> categories, IReadOnlyList<ChartSeries> series)
    {
        var svg = new StringBuilder(4096);
        svg.Append(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {Width} {Height}" width="100%" role="img" aria-label="{Escape(label)}">""");
        svg.Append("<title>").Append(Escape(label)).Append("</title>");
        var totals = categories.Select((_, i) => series.Sum(s => i < s.Values.Count ? Math.Max(0, s.Values[i]) : 0)).ToList();
        var max = NiceCeiling(totals.Count == 0 ? 0 : totals.Max());
        double plotWidth = Width - Left - Right, plotHeight = Height - Top - Bottom;
        // Axis: zero, half and the top value, with faint grid lines.
        foreach (var fraction in new[] { 0.0, 0.5, 1.0 })
        {
            var y = Top + plotHeight * (1 - fraction);
            svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{Left}" y1="{y:0.#}" x2="{Width - Right}" y2="{y:0.#}" stroke="#e5e5ea" stroke-width="1"/>""");
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Left - 4}" y="{y + 4:0.#}" text-anchor="end" font-size="11" fill="#6e6e73">{Escape(Short(max * fraction))}</text>""");
        }
        if (categories.Count > 0)
        {
            var step = plotWidth / categories.Count;
            var barWidth = Math.Max(1, step * 0.8);
            for (var i = 0; i < categories.Count; i++)
            {
                var x = Left + step * i + (step - barWidth) / 2;
                var y = Top + plotHeight;
                var tip = new StringBuilder(Escape(categories[i])).Append(':');
                svg.Append("<g>");
                foreach (var layer in series)
                {
                    var value = i < layer.Values.Count ? Math.Max(0, layer.Values[i]) : 0;
                    tip.Append(CultureInfo.InvariantCulture, $" {value} {Escape(layer.Name)}");
                    if (value == 0 || max == 0)
                        continue;
                    var h = plotHeight * value / max;
                    y -= h;
                    svg.Append(CultureInfo.InvariantCulture, $"""<rect x="{x:0.##}" y="{y:0.##}" width="{barWidth:0.##}" height="{h:0.##}" fill="{Color(layer.Color)}"/>""");
                }
                // The whole column answers to hover, even a short bar.
                svg.Append(CultureInfo.InvariantCulture, $"""<rect x="{Left + step * i:0.##}" y="{Top}" width="{step:0.##}" height="{plotHeight:0.##}" fill="transparent"><title>{tip}</title></rect>""");
                svg.Append("</g>");
            }
            // The first and last dates under the axis (every label would not fit on a phone).
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Left}" y="{Height - 5}" font-size="11" fill="#6e6e73">{Escape(categories[0])}</text>""");
            if (categories.Count > 1)
                svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Width - Right}" y="{Height - 5}" text-anchor="end" font-size="11" fill="#6e6e73">{Escape(categories[^1])}</text>""");
        }
        else
        {
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Width / 2}" y="{Height / 2}" text-anchor="middle" font-size="12" fill="#6e6e73">no data yet</text>""");
        }
        return svg.Append("</svg>").ToString();
    }

    /// <summary>1, 2, 5 × 10ⁿ at or above the value, so the axis reads in round numbers.</summary>
    internal static long NiceCeiling(long value)
    {
        if (value <= 0)
            return 0;
        long magnitude = 1;
        while (magnitude * 10 <= value)
            magnitude *= 10;
        foreach (var factor in new[] { 1, 2, 5, 10 })
            if (factor * magnitude >= value)
                return factor * magnitude;
        return 10 * magnitude;
    }

    private static string Short(double value) => value switch
    {
        >= 1_000_000 => (value / 1_000_000).ToString("0.#", CultureInfo.InvariantCulture) + "M",
        >= 10_000 => (value / 1_000).ToString("0.#", CultureInfo.InvariantCulture) + "k",
        _ => value.ToString("0.#", CultureInfo.InvariantCulture),
    };

    /// <summary>Only a #rgb/#rrggbb colour reaches the attribute.</summary>
    private static string Color(string color) =>
        color.Length is 4 or 7 && color[0] == '#' && color.Skip(1).All(Uri.IsHexDigit) ? color : "#888888";

    private static string Escape(string text) => WebUtility.HtmlEncode(text);
}
