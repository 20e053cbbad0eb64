using Newsletter.Model;
using Scriban.Runtime;
using Scriban.Syntax;

namespace Newsletter.Rendering;

/// <summary>
/// <c>templates check</c>, in one pass: every template file must parse; every template the
/// service renders must exist and render against sample data (including hostile entries); the
/// digest must carry the unsubscribe link and the confirmation mail its link. Each problem is one
/// line in the format of every template error: <c>templates/x.sbn:line:col: message</c>.
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
        var parseErrors = templates.ParseAll();
        var problems = parseErrors.Select(e => e.ToString()).ToList();
        var unparsable = parseErrors.Select(e => e.File).ToHashSet(StringComparer.Ordinal);
        var missing = TemplatesFolderValidator.Required.Where(name => !templates.Exists(name)).ToHashSet(StringComparer.Ordinal);
        problems.AddRange(missing.Select(name => $"{templates.Display(name)}:1:1: required template is missing"));

        // A template that does not parse or is missing has been reported; every other one is rendered.
        string? Rendered(string name, ScriptObject model)
        {
            if (missing.Contains(name) || unparsable.Contains(templates.Display(name)))
                return null;
            try
            {
                return pageAndMailRenderer.Render(name, model);
            }
            catch (ScriptRuntimeException exception)
            {
                problems.Add(templates.ErrorOf(exception).ToString());
                return null;
            }
            catch (TemplateUnavailableException exception)
            {
                problems.Add(exception.Message);
                return null;
            }
        }

        var digestModel = renderer.Model(SampleIssue(), new DigestRecipient("reader@example.org", SampleUnsubscribe, "https://example.org/preferences?token=SAMPLE"));
        Rendered(DigestRenderer.SubjectTemplate, digestModel);
        var html = Rendered(DigestRenderer.HtmlTemplate, digestModel);
        if (html is not null)
        {
            if (!html.Contains(System.Net.WebUtility.HtmlEncode(SampleUnsubscribe), StringComparison.Ordinal) && !html.Contains(SampleUnsubscribe, StringComparison.Ordinal))
                problems.Add($"{templates.Display(DigestRenderer.HtmlTemplate)}:1:1: does not contain the unsubscribe link ({{{{ unsubscribe_url }}}})");
            if (html.Contains("<script", StringComparison.OrdinalIgnoreCase))
                problems.Add($"{templates.Display(DigestRenderer.HtmlTemplate)}:1:1: emits unescaped entry text (a sample <script> title came through)");
        }
        var text = Rendered(DigestRenderer.TextTemplate, digestModel);
        if (text is not null && !text.Contains(SampleUnsubscribe, StringComparison.Ordinal))
            problems.Add($"{templates.Display(DigestRenderer.TextTemplate)}:1:1: does not contain the unsubscribe link ({{{{ unsubscribe_url }}}})");
        // Papers past MaxEntriesPerIssue are in the issue and will not come again: a template without
        // the "More papers" list would drop them silently.
        if (options.Value.MaxMoreEntriesPerIssue > 0)
            foreach (var (name, body) in new[] { (DigestRenderer.HtmlTemplate, html), (DigestRenderer.TextTemplate, text) })
                if (body is not null && !body.Contains(SampleMoreTitle, StringComparison.Ordinal))
                    problems.Add($"{templates.Display(name)}:1:1: does not list issue.more (papers past MaxEntriesPerIssue would reach nobody; loop over issue.more, or set MaxMoreEntriesPerIssue to 0)");

        var confirmModel = new ScriptObject
        {
            ["newsletter"] = new ScriptObject { ["name"] = "Daily Papers", ["home_url"] = "https://example.org/" },
            ["subscriber"] = new ScriptObject { ["email"] = "reader@example.org" },
            ["confirm_url"] = SampleConfirm,
            ["expires_in_days"] = 7,
        };
        foreach (var name in Subscriptions.ConfirmationMailer.Required)
            if (Rendered(name, confirmModel) is { } mail && name != Subscriptions.ConfirmationMailer.SubjectTemplate && !mail.Contains(SampleConfirm, StringComparison.Ordinal))
                problems.Add($"{templates.Display(name)}:1:1: does not contain the confirmation link ({{{{ confirm_url }}}})");

        foreach (var page in Subscriptions.PageRenderer.Required)
            Rendered(page, SamplePage());
        return problems;
    }

    /// <summary>What the pages are given (each uses a part of it).</summary>
    private static ScriptObject SamplePage() => new()
    {
        ["newsletter"] = new ScriptObject { ["name"] = "Daily Papers", ["home_url"] = "https://example.org/" },
        ["title"] = "Sample",
        ["content"] = new TrustedHtml("<p>sample</p>"),
        ["antiforgery"] = new ScriptObject { ["field"] = "__RequestVerificationToken", ["token"] = "SAMPLE" },
        ["token"] = "SAMPLE-TOKEN",
        ["email"] = "reader@example.org",
        ["error"] = "",
        // The forms mark refused fields with errors.NAME (one entry per field, empty when fine).
        ["errors"] = new ScriptObject(),
        ["focus"] = "",
    };

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
