namespace Newsletter.Rendering;

/// <summary>
/// The last steps of every HTML mail body: CSS from <c>&lt;style&gt;</c> blocks is inlined with
/// PreMailer.Net (many mail clients drop <c>&lt;style&gt;</c>), and long lines are wrapped so the
/// body stays within SMTP's 998-character lines without quoted-printable.
/// </summary>
public static class MailHtml
{
    public static string Finish(string html) => Wrap(Inline(html));

    /// <summary>Inlining parses the whole document (~1.4 ms for a digest): templates without a style block skip it.</summary>
    public static string Inline(string html) =>
        html.Contains("<style", StringComparison.OrdinalIgnoreCase)
            ? PreMailer.Net.PreMailer.MoveCssInline(html, removeStyleElements: false, removeComments: true).Html
            : html;

    /// <summary>As <see cref="Inline(string)"/>, but every comment kept (the caller removes them, bar its own markers).</summary>
    internal static string InlineKeepingComments(string html) =>
        html.Contains("<style", StringComparison.OrdinalIgnoreCase)
            ? PreMailer.Net.PreMailer.MoveCssInline(html, removeStyleElements: false, removeComments: false).Html
            : html;

    public static string Wrap(string html) => LineWrapper.Wrap(html, 900);
}
