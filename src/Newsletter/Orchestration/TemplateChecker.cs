using Newsletter.Configuration;
using Newsletter.Model;
using Newsletter.Rendering;
using Newsletter.Subscriptions;
using Scriban.Runtime;
using Scriban.Syntax;

namespace Newsletter.Orchestration;

/// <summary>
/// <c>templates check</c>, in one pass: every template file must parse; every template the
/// service renders must exist and render against sample data (including hostile entries) without
/// reading a name the service does not pass (a misspelt <c>{{ issue.date_txt }}</c> would be empty
/// text in every mail); the digest must carry the unsubscribe link and the confirmation mail its
/// link. Each problem is one line in the format of every template error: <c>templates/x.sbn:line:col: message</c>.
/// </summary>
/// <remarks>
/// Unknown names are found by rendering, as readers' mail is rendered, so a branch no sample takes is
/// not looked at: the samples take both sides of the shipped templates' <c>if</c>s (an empty and a full
/// issue, a weekly one, papers with and without a reason, a page with and without an error). The
/// page and confirmation models repeat what <c>SubscriptionEndpoints</c> and <c>ConfirmationMailer</c>
/// pass: a variable added there must be added here, or the shipped templates fail this check.
/// </remarks>
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
        var unknown = new UnknownNames(templates);

        // A template that does not parse or is missing has been reported; every other one is rendered.
        string? Rendered(string name, ScriptObject model)
        {
            if (missing.Contains(name) || unparsable.Contains(templates.Display(name)))
                return null;
            try
            {
                return pageAndMailRenderer.Render(name, model, unknown);
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

        var recipient = new DigestRecipient("reader@example.org", SampleUnsubscribe, "https://example.org/preferences?token=SAMPLE",
            static (entryId, more) => $"https://example.org/feedback?token=SAMPLE{entryId}{(more ? "m" : "l")}");
        var digestModel = renderer.Model(SampleIssue(), recipient);
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
        // The other sides of the digest's branches, for names only.
        foreach (var issue in OtherSampleIssues())
            foreach (var name in DigestRenderer.Required)
                Rendered(name, renderer.Model(issue, recipient));

        var confirmModel = new ScriptObject
        {
            ["newsletter"] = DigestRenderer.NewsletterModel(options.Value),
            ["subscriber"] = new ScriptObject { ["email"] = "reader@example.org" },
            ["confirm_url"] = SampleConfirm,
            ["preferences_url"] = "https://example.org/preferences?token=SAMPLE",
            ["expires_in_days"] = 7,
        };
        foreach (var name in ConfirmationMailer.Required)
            if (Rendered(name, confirmModel) is { } mail && name != ConfirmationMailer.SubjectTemplate && !mail.Contains(SampleConfirm, StringComparison.Ordinal))
                problems.Add($"{templates.Display(name)}:1:1: does not contain the confirmation link ({{{{ confirm_url }}}})");

        // Each page as PageRenderer renders it: the page with its own model, then the layout around it.
        var pages = SamplePages().ToList();
        // A page added to the service but not to these samples still renders, with what most pages get.
        foreach (var page in PageRenderer.Required.Select(p => p["pages/".Length..^".html.sbn".Length]).Except(pages.Select(p => p.Page)).Where(p => p != "layout"))
            pages.Add((page, new ScriptObject
            {
                ["newsletter"] = DigestRenderer.NewsletterModel(options.Value),
                ["title"] = "Sample",
                ["antiforgery"] = new ScriptObject { ["field"] = "__RequestVerificationToken", ["token"] = "SAMPLE" },
                ["token"] = "SAMPLE-TOKEN",
                ["email"] = "reader@example.org",
                ["error"] = "",
                ["notice"] = "",
            }));
        // The archive's pages, with and without issues, papers and a topic.
        pages.Add(("archive", ArchivePages.IndexModel(options.Value, [], 1, 1, 0)));
        pages.Add(("archive", ArchivePages.IndexModel(options.Value,
            [new Issues.ArchiveListing(new DateOnly(2025, 9, 9), 12, DateTimeOffset.UnixEpoch), new Issues.ArchiveListing(new DateOnly(2025, 9, 8), 3, DateTimeOffset.UnixEpoch)], 2, 3, 70)));
        pages.Add(("archive-issue", ArchivePages.IssuePageModel(options.Value, renderer, SampleIssue(), null)));
        foreach (var issue in OtherSampleIssues())
            pages.Add(("archive-issue", ArchivePages.IssuePageModel(options.Value, renderer, issue, "cs.CV")));
        foreach (var (page, model) in pages)
        {
            var content = Rendered($"pages/{page}.html.sbn", model);
            model["content"] = new TrustedHtml(content ?? "<p>sample</p>");
            Rendered("pages/layout.html.sbn", model);
        }
        // The operator's console, with the models its endpoints build, in its own layout.
        foreach (var (page, model) in OperatorConsole.Samples())
        {
            model["newsletter"] = DigestRenderer.NewsletterModel(options.Value);
            model["title"] = "Sample";
            model["antiforgery"] = new ScriptObject { ["field"] = "__RequestVerificationToken", ["token"] = "SAMPLE" };
            var content = Rendered($"pages/{page}.html.sbn", model);
            model["content"] = new TrustedHtml(content ?? "<p>sample</p>");
            Rendered($"pages/{OperatorConsole.Layout}.html.sbn", model);
        }
        problems.AddRange(unknown.Errors.Select(e => e.ToString()));
        // A render error comes once per sample that reaches it: say it once.
        return problems.Distinct().ToList();
    }

    /// <summary>
    /// Warnings (not errors) for digests that would be clipped: a heavy day with the configured caps
    /// (every paper shown in full with a 1,900-character abstract, a 140-character title and twelve
    /// authors; the compact list as full as composing lets it be) rendered through the operator's
    /// templates as readers get it, size budget included. Gmail clips an HTML part past ~102 KB and
    /// hides what follows it, the unsubscribe link included. Empty when the templates do not render
    /// (<see cref="Check"/> reports that).
    /// </summary>
    public IReadOnlyList<string> SizeWarnings()
    {
        var sample = HeavySampleIssue();
        var recipient = new DigestRecipient("reader@example.org", SampleUnsubscribe, "https://example.org/preferences?token=SAMPLE");
        (int Html, int Text) size;
        try
        {
            size = renderer.MeasureParts(sample, recipient);
        }
        catch (Exception exception) when (exception is ScriptRuntimeException or TemplateUnavailableException)
        {
            return [];
        }
        var day = $"a sample day of {sample.Entries.Count} papers in full with 1,900-character abstracts and {sample.More.Count} under More papers";
        var warnings = new List<string>();
        foreach (var (name, bytes, part) in new[] { (DigestRenderer.HtmlTemplate, size.Html, "HTML"), (DigestRenderer.TextTemplate, size.Text, "plain-text") })
            if (bytes > DigestSizeBudget.PartLimit)
                warnings.Add($"warning: {templates.Display(name)}: {day} renders a {bytes:N0}-byte {part} part, over {DigestSizeBudget.PartLimit:N0}"
                    + " (Gmail clips a part past ~102 KB and hides what follows, the unsubscribe link included): print less per paper, or lower MaxEntriesPerIssue");
        return warnings;
    }

    /// <summary>The heaviest day the caps allow, with real-length papers (the compact list cut where composing cuts it).</summary>
    private Issue HeavySampleIssue()
    {
        var abstractText = string.Concat(Enumerable.Repeat("We study how sparse expert routing interacts with long-context attention and report consistent gains. ", 20))[..1_900];
        var authors = Enumerable.Range(1, 12).Select(a => $"Author{a} Surname{a}").ToList();
        string Title(int n) => $"Paper {n:000}: " + string.Concat(Enumerable.Repeat("Scaling Sparse Mixture-of-Experts Models for Long-Context Reasoning ", 3))[..128];
        var full = options.Value.MaxEntriesPerIssue;
        var count = full + options.Value.MaxMoreEntriesPerIssue;
        var papers = Enumerable.Range(1, count).Select(n => new Model.CandidatePaper(n, Title(n), abstractText, authors,
            $"https://arxiv.org/abs/2509.{10000 + n}", 1000 - n, null, "sample", [], [], 0)).ToList();
        var places = new Issues.DigestLimits(full, count).Place(papers);
        // Every paper with a rich card at its caps: the size check counts what a heavy Hugging Face day can bring.
        var link = "https://github.com/" + new string('x', PaperCard.MaxLinkLength - "https://github.com/".Length);
        var card = new PaperCard(link, 123_456, link.Replace("github.com", "project.io", StringComparison.Ordinal), "https://huggingface.co/papers/2509.10001", 1_234,
            new string('O', PaperCard.MaxOrganizationLength), string.Concat(Enumerable.Repeat("A one-line summary of the paper. ", 20))[..PaperCard.MaxAiSummaryLength],
            Enumerable.Range(1, PaperCard.MaxKeywords).Select(k => $"keyword {k} " + new string('k', PaperCard.MaxKeywordLength - 12)).ToArray());
        IssueEntry Entry(Model.CandidatePaper p) => new((int)p.Id, p.Title, p.Summary, p.Authors, p.Url, p.Score, null, p.Source, Card: card);
        return new Issue(0, new DateOnly(2025, 9, 8), papers.Where((_, i) => places[i] == 0).Select(Entry).ToList())
        {
            More = papers.Where((_, i) => places[i] == 1).Select(Entry).ToList(),
        };
    }

    /// <summary>
    /// What each page is given (as <c>SubscriptionEndpoints</c> and <c>PageRenderer</c> give it), in
    /// the variants that take both sides of its conditions.
    /// </summary>
    private IEnumerable<(string Page, ScriptObject Model)> SamplePages()
    {
        ScriptObject Page(string title, bool hasForm, ScriptObject? values = null)
        {
            var model = values ?? [];
            model["newsletter"] = DigestRenderer.NewsletterModel(options.Value);
            model["title"] = title;
            if (hasForm)
            {
                model["antiforgery"] = new ScriptObject { ["field"] = "__RequestVerificationToken", ["token"] = "SAMPLE" };
                // errors.NAME, focus and error as the forms give them (PageForms), keeping a sample's error text.
                PageForms.AddErrors(model, null, model.TryGetValue("error", out var error) ? error as string ?? "" : "");
            }
            return model;
        }
        yield return ("subscribe", Page("Subscribe", true, SubscribeForm("", "")));
        yield return ("subscribe", Page("Subscribe", true, SubscribeForm("Sample error.", "reader@example.org")));
        yield return ("check-inbox", Page("Check your inbox", false));
        yield return ("confirm", Page("Confirm your subscription", true, new() { ["token"] = "SAMPLE-TOKEN", ["email"] = "reader@example.org", ["notice"] = "" }));
        yield return ("confirm", Page("Confirm your subscription", true, new() { ["token"] = "SAMPLE-TOKEN", ["email"] = "reader@example.org", ["notice"] = "Sample notice." }));
        yield return ("confirmed", Page("Subscription confirmed", false, new() { ["email"] = "reader@example.org", ["preferences_url"] = "https://example.org/preferences?token=SAMPLE-TOKEN" }));
        yield return ("invalid-link", Page("Link invalid or expired", false));
        yield return ("unsubscribe", Page("Unsubscribe", false, new() { ["token"] = "SAMPLE-TOKEN", ["email"] = "reader@example.org" }));
        yield return ("unsubscribed", Page("Unsubscribed", false));
        yield return ("feedback", Page("More like this", false, Subscriptions.FeedbackEndpoints.Model("SAMPLE-TOKEN", "Why Language Models Hallucinate", moreLike: true, recorded: false, changed: "", "https://example.org/preferences?token=SAMPLE-TOKEN")));
        yield return ("feedback", Page("Thanks", false, Subscriptions.FeedbackEndpoints.Model("SAMPLE-TOKEN", "Why Language Models Hallucinate", moreLike: false, recorded: true, changed: "This replaces your earlier \u201cmore like this\u201d.", "https://example.org/preferences?token=SAMPLE-TOKEN")));
        yield return ("preferences", Page("Preferences", true, SamplePreferences("active", paused: false, weekly: false, saved: false, error: "", notice: "")));
        yield return ("preferences", Page("Preferences", true, SamplePreferences("active", paused: true, weekly: true, saved: true, error: "Sample error.", notice: "Sample notice.")));
        yield return ("preferences", Page("Preferences", true, SamplePreferences("unsubscribed", paused: false, weekly: false, saved: false, error: "", notice: "")));
    }

    /// <summary>The subscribe form as the endpoint fills it: the preference fields through the same PageForms the page uses.</summary>
    private static ScriptObject SubscribeForm(string error, string email)
    {
        var model = new ScriptObject { ["error"] = error, ["email"] = email, ["default_time_zone"] = "UTC" };
        PageForms.AddPreferences(model, Preferences.None, null);
        return model;
    }

    private static ScriptObject SamplePreferences(string status, bool paused, bool weekly, bool saved, string error, string notice)
    {
        string[] days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        return new ScriptObject
        {
            ["notice"] = notice,
            ["status_text"] = status == "unsubscribed" ? "unsubscribed: you get no mail from us" : paused ? "paused: no digests until you resume" : "subscribed: you get the digest",
            ["can_resubscribe"] = status == "unsubscribed",
            ["token"] = "SAMPLE-TOKEN",
            ["email"] = "reader@example.org",
            ["status"] = status,
            ["paused"] = paused,
            ["topics"] = new ScriptArray(weekly ? ["cs.LG", "cs.CV"] : Array.Empty<string>()),
            ["topics_text"] = weekly ? "cs.LG, cs.CV" : "",
            ["keywords_text"] = weekly ? "diffusion, \"large language\"" : "",
            ["exclude_text"] = weekly ? "survey" : "",
            ["authors_text"] = weekly ? "Ada Lovelace" : "",
            ["min_score"] = weekly ? "10" : "",
            ["time_zone"] = weekly ? "Asia/Tokyo" : "",
            ["default_time_zone"] = "UTC",
            ["send_hour"] = weekly ? "8" : "",
            ["default_send_hour"] = 7,
            ["hours"] = new ScriptArray(Enumerable.Range(0, 24).Select(h => h.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            ["weekdays"] = new ScriptArray(days.Select((day, i) => new ScriptObject { ["name"] = day, ["checked"] = weekly || i < 5 })),
            ["cadence"] = weekly ? "weekly" : "daily",
            ["weekly_day"] = "Sun",
            ["ranking"] = weekly ? "learned" : "auto",
            ["min_relevance"] = weekly ? "0.3" : "",
            ["likes_text"] = weekly ? "2509.04664" : "",
            ["days"] = new ScriptArray(days),
            ["saved"] = saved,
            ["error"] = error,
        };
    }

    /// <summary>The digest's other branches: an issue with nothing in it, and a weekly one whose papers carry their reasons.</summary>
    private static IEnumerable<Issue> OtherSampleIssues()
    {
        yield return new Issue(0, new DateOnly(2025, 9, 9), []);
        var sample = SampleIssue();
        yield return new Issue(0, new DateOnly(2025, 9, 14), sample.Entries.Select(e => e with { Why = "matches \u201cdiffusion\u201d, in cs.CV \u00b7 26 upvotes" }).ToList(), "weekly")
        {
            More = sample.More.Select(e => e with { Why = "in cs.LG" }).ToList(),
        };
    }

    /// <summary>Realistic and hostile entries (markup, attribute breaking, template syntax, CR/LF), in full and in the compact list.</summary>
    internal static Issue SampleIssue() => new(0, new DateOnly(2025, 9, 8),
    [
        new IssueEntry(1, "Why Language Models Hallucinate", "Like students facing hard exam questions, large language models sometimes guess when uncertain.",
            ["Adam Tauman Kalai", "Ofir Nachum"], "https://arxiv.org/abs/2509.04664", 26, new DateTimeOffset(2025, 9, 4, 0, 0, 0, TimeSpan.Zero), "sample", EntryId: 1,
            Card: new PaperCard("https://github.com/openai/hallucinations", 1234, "https://openai.com/index/why-language-models-hallucinate/",
                "https://huggingface.co/papers/2509.04664", 3, "OpenAI",
                "Language models produce incorrect statements due to training and evaluation procedures that reward guessing over acknowledging uncertainty.",
                ["hallucinations", "binary classification", "trustworthy AI systems"])),
        new IssueEntry(2, "<script>alert(1)</script> \"><img src=x onerror=alert(2)> {{ 7 * 7 }}\r\nBcc: victim@example.org",
            "Summary with <b>markup</b> & entities", ["Mallory <m@example.org>"], "javascript:alert(3)", 0, null, "sample", EntryId: 2,
            Card: new PaperCard("javascript:alert(6)", 1, "data:text/html,<script>alert(7)</script>", "https://huggingface.co/papers/x\"><script>alert(8)</script>", 0,
                "<script>alert(9)</script> Org & Co", "An AI summary with <b>markup</b>\r\nBcc: victim@example.org", ["<i>keyword</i>"])),
        new IssueEntry(3, "An upvoted paper without listed authors", "Its upvotes still show.", [], "https://huggingface.co/papers/2509.01234", 12, null, "sample", EntryId: 3),
    ])
    {
        More =
        [
            new IssueEntry(4, SampleMoreTitle, "Only its title and link are shown.", [], "https://arxiv.org/abs/2509.05001", 3, null, "sample", EntryId: 4),
            new IssueEntry(5, "<script>alert(4)</script> in the more-papers list", "", [], "javascript:alert(5)", 0, null, "sample", EntryId: 5),
        ],
    };
}
