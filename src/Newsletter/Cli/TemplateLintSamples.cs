using Newsletter.Model;
using Newsletter.Orchestration;
using Newsletter.Rendering;
using Newsletter.Subscriptions;

namespace Newsletter.Cli;

/// <summary>
/// The mails <c>templates check --lint</c> checks, rendered from the configured templates the way
/// they are sent (CSS inlined, lines wrapped): a digest, a personal digest with why-lines and the
/// "More papers" list, a digest with no papers, and the confirmation mail.
/// </summary>
internal static class TemplateLintSamples
{
    public static IReadOnlyList<LintSample> Render(DigestRenderer digests, ConfirmationMailer confirmations, TemplateStore templates)
    {
        var reader = new DigestRecipient("reader@example.org",
            "https://papers.example.org/unsubscribe?token=SAMPLE-TOKEN", "https://papers.example.org/preferences?token=SAMPLE-TOKEN");
        var sample = TemplateChecker.SampleIssue();
        var personal = sample with
        {
            Entries = [.. sample.Entries.Select((entry, i) => entry with { Why = i % 2 == 0 ? "matches \u201cdiffusion\u201d, in cs.CV \u00b7 42 upvotes" : "by Ada Lovelace" })],
        };
        var empty = new Issue(0, sample.Date, []);
        var digest = templates.Display(DigestRenderer.HtmlTemplate);
        var confirmation = confirmations.Render(reader.Email, "https://papers.example.org/confirm?token=SAMPLE-TOKEN", reader.PreferencesUrl);
        return
        [
            new($"{digest} (digest)", digests.RenderFully(sample, reader).Html),
            new($"{digest} (personal digest)", digests.RenderFully(personal, reader).Html),
            new($"{digest} (digest with no papers)", digests.RenderFully(empty, reader).Html),
            new($"{templates.Display(ConfirmationMailer.HtmlTemplate)} (confirmation)", confirmation.Html),
        ];
    }
}
