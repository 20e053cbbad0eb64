using System.Collections.Concurrent;
using System.Net;

namespace Newsletter.Rendering;

/// <summary>
/// The last step of every HTML mail body: CSS from <c>&lt;style&gt;</c> blocks is inlined with
/// PreMailer.Net (many mail clients drop <c>&lt;style&gt;</c>), and long lines are wrapped so the
/// body stays within SMTP's 998-character lines without quoted-printable.
/// </summary>
/// <remarks>
/// Inlining parses the whole document (~1.4 ms for a digest), yet digests of one issue differ only
/// in their personal values. Those are masked, the masked document is inlined once and cached,
/// and the values are put back. A template that transforms a personal value just misses the cache.
/// </remarks>
public sealed class MailHtml
{
    private const int CacheLimit = 64;

    private readonly ConcurrentDictionary<string, string> _inlined = new(StringComparer.Ordinal);
    private readonly string _marker = "zzpersonal" + Guid.NewGuid().ToString("N") + "x";

    public string Finish(string html, params string[] personalValues)
    {
        if (!html.Contains("<style", StringComparison.OrdinalIgnoreCase))
            return LineWrapper.Wrap(html, 900);

        // Longest first, so a value containing another (a URL containing the address) is masked whole.
        var values = personalValues.Where(v => v.Length > 0)
            .SelectMany(v => new[] { v, WebUtility.HtmlEncode(v) }).Distinct().OrderByDescending(v => v.Length).ToArray();
        var masked = html;
        for (var i = 0; i < values.Length; i++)
            masked = masked.Replace(values[i], _marker + i + "y", StringComparison.Ordinal);

        if (!_inlined.TryGetValue(masked, out var inlined))
        {
            inlined = PreMailer.Net.PreMailer.MoveCssInline(masked, removeStyleElements: false, removeComments: true).Html;
            if (_inlined.Count >= CacheLimit)
                _inlined.Clear();
            _inlined[masked] = inlined;
        }
        // Put values back as they stood in the document (escaped where they were escaped).
        for (var i = values.Length - 1; i >= 0; i--)
            inlined = inlined.Replace(_marker + i + "y", values[i], StringComparison.Ordinal);
        return LineWrapper.Wrap(inlined, 900);
    }
}
