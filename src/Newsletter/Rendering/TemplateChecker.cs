using Newsletter.Issues;

namespace Newsletter.Rendering;

/// <summary>
/// <c>templates check</c>: every template must parse, the digest templates must render against
/// sample data (including hostile entries), and the digest must carry the unsubscribe link.
/// </summary>
public sealed class TemplateChecker(TemplateStore templates, DigestRenderer renderer, TemplateRenderer pageAndMailRenderer,
    Microsoft.Extensions.Options.IOptions<Configuration.NewsletterOptions> options)
{
    /// <summary>The sample paper in the compact list: a digest template that does not show it loses papers.</summary>
    private const string SampleMoreTitle = "A compactly listed paper";

    private const string SampleUnsubscribe = "https://example.org/unsubscribe?token=SAMPLE-TOKEN";
    private const string SampleConfirm = "https://example.org/confirm?token=SAMPLE-TOKEN";

    public IReadOnlyList<string> Check()
    {
        var problems = templates.ParseAll().Select(e => e.ToString()).ToList();
        var missing = DigestRenderer.Required.Concat(Subscriptions.ConfirmationMailer.Required).Where(name => !templates.Exists(name)).ToList();
        problems.AddRange(missing.Select(name => $"{Path.Combine(templates.Root, name)}:0:0: required template is missing"));
        if (problems.Count > 0)
            return problems;

        try
        {
            var digest = renderer.Render(SampleIssue(), new DigestRecipient("reader@example.org", SampleUnsubscribe, "https://example.org/preferences?token=SAMPLE"));
            if (!digest.Html.Contains(System.Net.WebUtility.HtmlEncode(SampleUnsubscribe), StringComparison.Ordinal) && !digest.Html.Contains(SampleUnsubscribe, StringComparison.Ordinal))
                problems.Add($"{Path.Combine(templates.Root, DigestRenderer.HtmlTemplate)}:0:0: does not contain the unsubscribe link ({{{{ unsubscribe_url }}}})");
            if (!digest.Text.Contains(SampleUnsubscribe, StringComparison.Ordinal))
                problems.Add($"{Path.Combine(templates.Root, DigestRenderer.TextTemplate)}:0:0: does not contain the unsubscribe link ({{{{ unsubscribe_url }}}})");
            // Papers past MaxEntriesPerIssue are in the issue and will not come again: a template without
            // the "More papers" list would drop them silently.
            if (options.Value.MaxMoreEntriesPerIssue > 0)
                foreach (var (name, body) in new[] { (DigestRenderer.HtmlTemplate, digest.Html), (DigestRenderer.TextTemplate, digest.Text) })
                    if (!body.Contains(SampleMoreTitle, StringComparison.Ordinal))
                        problems.Add($"{Path.Combine(templates.Root, name)}:0:0: does not list issue.more (papers past MaxEntriesPerIssue would reach nobody; loop over issue.more, or set MaxMoreEntriesPerIssue to 0)");
            if (digest.Html.Contains("<script", StringComparison.OrdinalIgnoreCase))
                problems.Add($"{Path.Combine(templates.Root, DigestRenderer.HtmlTemplate)}:0:0: emits unescaped entry text (a sample <script> title came through)");
            var confirmModel = new Scriban.Runtime.ScriptObject
            {
                ["newsletter"] = new Scriban.Runtime.ScriptObject { ["name"] = "Daily Papers", ["home_url"] = "https://example.org/" },
                ["subscriber"] = new Scriban.Runtime.ScriptObject { ["email"] = "reader@example.org" },
                ["confirm_url"] = SampleConfirm,
                ["expires_in_days"] = 7,
            };
            foreach (var name in Subscriptions.ConfirmationMailer.Required.Where(n => n != Subscriptions.ConfirmationMailer.SubjectTemplate))
                if (!pageAndMailRenderer.Render(name, confirmModel).Contains(SampleConfirm, StringComparison.Ordinal))
                    problems.Add($"{Path.Combine(templates.Root, name)}:0:0: does not contain the confirmation link ({{{{ confirm_url }}}})");
        }
        catch (Scriban.Syntax.ScriptRuntimeException exception)
        {
            problems.Add($"{exception.Span.FileName}:{exception.Span.Start.Line + 1}:{exception.Span.Start.Column + 1}: {exception.OriginalMessage}");
        }
        return problems;
    }

    /// <summary>Realistic and hostile entries (markup, attribute breaking, template syntax, CR/LF), in full and in the compact list.</summary>
    internal static Issue SampleIssue() => new(0, new DateOnly(2025, 9, 8),
    [
        new IssueEntry(1, "Why Language Models Hallucinate", "Like students facing hard exam questions, large language models sometimes guess when uncertain.",
            ["Adam Tauman Kalai", "Ofir Nachum"], "https://arxiv.org/abs/2509.04664", 26, new DateTimeOffset(2025, 9, 4, 0, 0, 0, TimeSpan.Zero), "sample"),
        new IssueEntry(2, "<script>alert(1)</script> \"><img src=x onerror=alert(2)> {{ 7 * 7 }}\r\nBcc: victim@example.org",
            "Summary with <b>markup</b> & entities", ["Mallory <m@example.org>"], "javascript:alert(3)", 0, null, "sample"),
        new IssueEntry(3, "An upvoted paper without listed authors", "Its upvotes still show.", [], "https://huggingface.co/papers/2509.01234", 12, null, "sample"),
    ])
    {
        More =
        [
            new IssueEntry(4, SampleMoreTitle, "Only its title and link are shown.", [], "https://arxiv.org/abs/2509.05001", 3, null, "sample"),
            new IssueEntry(5, "<script>alert(4)</script> in the more-papers list", "", [], "javascript:alert(5)", 0, null, "sample"),
        ],
    };
}
