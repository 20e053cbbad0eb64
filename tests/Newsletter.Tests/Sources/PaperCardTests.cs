using System.Text;
using Dapper;
using Newsletter.Model;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Sources;

/// <summary>
/// Richer cards (issue 21): what the Hugging Face daily papers API tells beyond title, authors and abstract is parsed
/// within its caps, stored with the paper, refreshed by later sightings, and shown in the digest and the preview.
/// </summary>
public sealed class PaperCardTests : IAsyncLifetime
{
    private const string Api = "/api/daily_papers";
    private FixtureServer _feeds = null!;
    private readonly TestHost _host = new();

    public async ValueTask InitializeAsync()
    {
        _feeds = await FixtureServer.StartAsync();
        _feeds.Serve(Api, "hf_daily_papers_cards.json");
        _host.UseSources(("hf", "HuggingFaceDaily", _feeds.Url(Api)));
    }

    public async ValueTask DisposeAsync()
    {
        await _feeds.DisposeAsync();
        await _host.DisposeAsync();
    }

    private sealed class CardRow
    {
        public string? CodeUrl { get; init; }
        public long? CodeStars { get; init; }
        public string? ProjectUrl { get; init; }
        public string? DiscussionUrl { get; init; }
        public long? Comments { get; init; }
        public string? Organization { get; init; }
        public string? AiSummary { get; init; }
        public string? AiKeywords { get; init; }
    }

    private async Task<CardRow> CardAsync(string canonicalId)
    {
        await using var connection = await _host.OpenAsync();
        return await connection.QuerySingleAsync<CardRow>("""
            SELECT code_url AS CodeUrl, code_stars AS CodeStars, project_url AS ProjectUrl, discussion_url AS DiscussionUrl,
                   comments AS Comments, organization AS Organization, ai_summary AS AiSummary, ai_keywords AS AiKeywords
            FROM entries WHERE canonical_id = @canonicalId
            """, new { canonicalId });
    }

    private async Task CollectAsync()
    {
        var collect = await _host.RunAsync("collect");
        Assert.True(collect.Exit == 0 && !(collect.Output + collect.Error).Contains("FAILED"), collect.ToString());
    }

    [Fact]
    public async Task TheHuggingFaceCardIsStoredWithThePaper()
    {
        await CollectAsync();

        var card = await CardAsync("arxiv:2509.04664");
        Assert.Equal("https://github.com/openai/hallucination-evals", card.CodeUrl);
        Assert.Equal(412, card.CodeStars);
        Assert.Equal("https://openai.com/research/why-language-models-hallucinate", card.ProjectUrl);
        Assert.Equal("https://huggingface.co/papers/2509.04664", card.DiscussionUrl);
        Assert.Equal(3, card.Comments);
        Assert.Equal("OpenAI", card.Organization);
        Assert.StartsWith("Language models produce incorrect statements", card.AiSummary);
        Assert.Equal("hallucinations\nbinary classification\nuncertain responses\ntrustworthy AI systems", card.AiKeywords);
    }

    [Fact]
    public async Task AHostileCardIsStoredOnlyWithinItsCaps()
    {
        await CollectAsync();

        var hostile = await CardAsync("arxiv:2509.01234");
        // Links only http(s), and whole: a javascript: link and one past the length cap are dropped, not cut.
        Assert.Null(hostile.CodeUrl);
        Assert.Null(hostile.ProjectUrl);
        // Counts only when sane: negative stars and a trillion comments are not counts.
        Assert.Null(hostile.CodeStars);
        Assert.Null(hostile.Comments);
        // Text on one line (no control characters, no header injection across lines), cut at its cap.
        Assert.Equal("Evil Corp Bcc: victim@example.org", hostile.Organization);
        Assert.NotNull(hostile.AiSummary);
        Assert.InRange(hostile.AiSummary!.Length, 100, PaperCard.MaxAiSummaryLength);
        Assert.EndsWith("\u2026", hostile.AiSummary);
        Assert.DoesNotContain('\0', hostile.AiSummary);
        Assert.DoesNotContain('\n', hostile.AiSummary);
        Assert.Equal(PaperCard.MaxKeywords, hostile.AiKeywords!.Split('\n').Length);
        // The paper itself is stored as any other; its hub page is its discussion.
        Assert.Equal("https://huggingface.co/papers/2509.01234", hostile.DiscussionUrl);

        var bare = await CardAsync("arxiv:2509.05001");
        Assert.Equal((null, null, null, null, null), (bare.CodeStars, bare.ProjectUrl, bare.AiKeywords, bare.Comments, bare.Organization));
        Assert.Equal("https://huggingface.co/papers/2509.05001", bare.DiscussionUrl);
    }

    [Fact]
    public async Task ALaterSightingUpdatesTheCardAndASourceWithoutOneKeepsIt()
    {
        await CollectAsync();
        var json = Encoding.UTF8.GetString(_feeds.Files[Api]!);
        _feeds.Files[Api] = Encoding.UTF8.GetBytes(json
            .Replace("\"githubStars\": 412", "\"githubStars\": 530", StringComparison.Ordinal)
            .Replace("\"numComments\": 3", "\"numComments\": 5", StringComparison.Ordinal));

        await CollectAsync();

        var card = await CardAsync("arxiv:2509.04664");
        Assert.Equal((530L, 5L), (card.CodeStars, card.Comments));

        // An arXiv RSS feed listing the same paper knows none of it: the card stays.
        _feeds.Serve("/rss", "arxiv_rss_cs.AI.xml");
        _host.UseSources(("rss", "Rss", _feeds.Url("/rss")));
        await CollectAsync();

        var kept = await CardAsync("arxiv:2509.04664");
        Assert.Equal(("https://github.com/openai/hallucination-evals", 530L, "OpenAI"), (kept.CodeUrl, kept.CodeStars, kept.Organization));
        Assert.StartsWith("Language models produce", kept.AiSummary);
    }

    [Fact]
    public async Task TheDigestAndThePreviewShowTheCard()
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        await CollectAsync();

        // The preview composes from the collected papers (CandidatePaper), the mail from the frozen digest (the stored row).
        var previewFolder = Path.Combine(_host.Directory, "preview");
        Assert.Equal(0, (await _host.RunAsync("preview", "--email", "ada@example.org", "--out", previewFolder)).Exit);
        var previewHtml = await File.ReadAllTextAsync(Directory.GetFiles(previewFolder, "*.html").Single());
        Assert.Contains("href=\"https://github.com/openai/hallucination-evals\"", previewHtml);
        Assert.Contains(">3 comments</a>", previewHtml);

        Assert.Equal(0, (await _host.RunAsync("send-now")).Exit);
        var message = MimeKit.MimeMessage.Load(Directory.GetFiles(_host.Outbox, "*.eml").Single());
        var html = message.HtmlBody!;
        var text = message.TextBody!.ReplaceLineEndings("\n");
        Assert.Contains("href=\"https://github.com/openai/hallucination-evals\"", html);
        Assert.Contains("href=\"https://openai.com/research/why-language-models-hallucinate\"", html);
        Assert.Contains(">3 comments</a>", html);
        Assert.Contains("OpenAI \u00b7 ", html);
        Assert.Contains("Language models produce incorrect statements", html);
        Assert.Contains("   Code (412 stars): https://github.com/openai/hallucination-evals", text);
        Assert.Contains("   3 comments: https://huggingface.co/papers/2509.04664", text);
        Assert.Contains("   In short: Language models produce incorrect statements", text);
        // The hostile card's text arrives escaped; its links never.
        Assert.DoesNotContain("javascript:", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<script>alert(2)", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(2)&lt;/script&gt;", html);
        Assert.Contains("Evil Corp Bcc: victim@example.org", html);
    }
}
