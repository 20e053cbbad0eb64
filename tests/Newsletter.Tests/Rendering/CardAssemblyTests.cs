using System.Text;
using Newsletter.Model;
using Newsletter.Rendering;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Rendering;

/// <summary>
/// Readers with digests of their own (a learned order each) get copies assembled from the issue's cards, each paper
/// rendered once: every copy must equal a full render of the reader's digest, whatever the order and the split between
/// papers in full and "More papers"; a template whose cards are not independent must be rendered in full.
/// </summary>
public sealed class CardAssemblyTests : IAsyncLifetime
{
    private readonly TestHost _host = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private static readonly IssueEntry[] Papers = Enumerable.Range(1, 14).Select(i => new IssueEntry(0,
        $"Paper {i}: {(i % 3 == 0 ? "A longer title about sparse attention & routing in mixture-of-experts models, with <tags>" : "Short title")}",
        string.Join(' ', Enumerable.Repeat($"Abstract sentence {i} about learned ranking, embeddings and feedback.", 3 + i % 4)),
        Enumerable.Range(1, 1 + i % 5).Select(a => $"Author {a} of {i}").ToList(), $"https://arxiv.org/abs/2509.{10000 + i}", 100 - i,
        new DateTimeOffset(2025, 9, 1, 0, 0, 0, TimeSpan.Zero), "hf", i % 2 == 0 ? $"like \u201cPaper {i + 1}\u201d" : "", EntryId: 100 + i)).ToArray();

    /// <summary>A reader's digest: the papers in <paramref name="order"/>, the first <paramref name="inFull"/> in full, numbered as the store numbers them.</summary>
    private static Issue Digest(IReadOnlyList<int> order, int inFull, int more)
    {
        var entries = order.Select((p, i) => Papers[p] with { Position = i + 1 }).ToList();
        return new Issue(7, new DateOnly(2025, 9, 8), entries.Take(inFull).ToList()) { More = entries.Skip(inFull).Take(more).ToList() };
    }

    private static DigestRecipient Reader(int id) => new($"reader{id}@example.org",
        $"https://papers.example.org/unsubscribe?token=MS4{id}LjA.sig", $"https://papers.example.org/preferences?token=MS4{id}LjA.pref",
        (entry, more) => $"https://papers.example.org/feedback?token={id}.{entry}.{(more ? "up" : "down")}.c2lnbmF0dXJl");

    public static TheoryData<int> Seeds => [1, 2, 3];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void EveryReaderInTheirOwnOrderGetsWhatAFullRenderGives(int seed)
    {
        var renderer = _host.Service<DigestRenderer>();
        var random = new Random(seed);
        for (var reader = 1; reader <= 12; reader++)
        {
            var order = Enumerable.Range(0, Papers.Length).OrderBy(_ => random.Next()).Take(10 + random.Next(5)).ToList();
            var inFull = random.Next(0, order.Count + 1);
            var issue = Digest(order, inFull, order.Count - inFull);
            var recipient = Reader(reader);

            var assembled = renderer.Render(issue, recipient);
            var wire = renderer.RenderWire(issue with { }, recipient);
            var full = renderer.RenderFully(issue, recipient);

            Assert.Equal(full, assembled);
            Assert.Equal(WireText.Body(Encoding.UTF8.GetBytes(full.Html)).ToArray(), wire.Html.ToArray());
            Assert.Equal(WireText.Body(Encoding.UTF8.GetBytes(full.Text)).ToArray(), wire.Text.ToArray());
            if (issue.Entries.Count > 0)
                Assert.Contains($"token={reader}.{issue.Entries[0].EntryId}.up", assembled.Html);
        }
        // Every copy (24 digests) came from cards; the templates ran with CSS inlined only for new skeletons and card variants.
        Assert.Equal(24, renderer.AssembledCount - 0);
        Assert.True(renderer.CardRenders < 24, $"{renderer.CardRenders} marked renders for 24 digests");
        Assert.DoesNotContain(_host.Logs, line => line.Contains("do not render each paper's card", StringComparison.Ordinal));
    }

    [Fact]
    public void ManyReadersOfTheSameFirstPaperShareOneSkeletonAndTheirCards()
    {
        var renderer = _host.Service<DigestRenderer>();
        var random = new Random(9);
        var firstHalf = 0;
        for (var reader = 1; reader <= 60; reader++)
        {
            if (reader == 31)
                firstHalf = renderer.CardRenders;
            // Paper 0 first (the shipped preheader names the first paper), the rest in each reader's own order.
            var order = new[] { 0 }.Concat(Enumerable.Range(1, Papers.Length - 1).OrderBy(_ => random.Next())).ToList();
            var issue = Digest(order, 8, 6);
            var assembled = renderer.Render(issue, Reader(reader));
            Assert.Equal(renderer.RenderFully(issue, Reader(reader)), assembled);
        }
        Assert.Equal(60, renderer.AssembledCount);
        // The check's probes (three renders) and some for skeleton and card variants, fewer and fewer: not one per reader.
        Assert.True(firstHalf <= 10, $"{firstHalf} marked renders for the first 30 readers");
        Assert.True(renderer.CardRenders - firstHalf <= 2, $"{renderer.CardRenders - firstHalf} marked renders for the next 30");
    }

    [Fact]
    public void ReadersWhoseSkeletonReadsTheSameValuesRunNoTemplateOfTheirOwn()
    {
        var renderer = _host.Service<DigestRenderer>();
        var random = new Random(5);
        for (var reader = 1; reader <= 40; reader++)
        {
            // The same first paper of each list (what the shipped templates' skeletons read), the rest in each reader's order.
            var rest = Enumerable.Range(2, Papers.Length - 2).OrderBy(_ => random.Next()).ToList();
            var order = new[] { 0 }.Concat(rest.Take(7)).Append(1).Concat(rest.Skip(7)).ToList();
            var issue = Digest(order, 8, order.Count - 8);
            var assembled = renderer.Render(issue, Reader(reader));
            Assert.Equal(renderer.RenderFully(issue, Reader(reader)), assembled);
        }
        Assert.Equal(40, renderer.AssembledCount);
        // The check's probes (other first papers) and the first reader: the other 39 found their skeleton by its reads.
        Assert.True(renderer.SkeletonRenders <= 5, $"{renderer.SkeletonRenders} skeleton renders for 40 readers");
    }

    [Fact]
    public void ASkeletonThatReadsAPaperOutsideTheLoopsIsKeptPerValueOfIt()
    {
        var templates = _host.CopyTemplates();
        // The footer names the third paper and the second's authors: readers differing only there need other skeletons.
        File.WriteAllText(Path.Combine(templates, "digest.txt.sbn"),
            "{{ for entry in issue.entries }}{{ entry.position }}. {{ entry.title }}\n{{ end }}{{ for entry in issue.more }}- {{ entry.title }}\n{{ end }}"
            + "Third: {{ if issue.entry_count > 2 }}{{ issue.entries[2].title }}{{ end }}; by {{ if issue.entry_count > 1 }}{{ issue.entries[1].authors | array.join \" & \" }}{{ end }}\n"
            + "Unsubscribe: {{ unsubscribe_url }}");
        var renderer = _host.Service<DigestRenderer>();
        var random = new Random(11);
        var thirds = new HashSet<string>();
        for (var reader = 1; reader <= 30; reader++)
        {
            var order = new[] { 0 }.Concat(Enumerable.Range(1, Papers.Length - 1).OrderBy(_ => random.Next())).Take(11).ToList();
            var issue = Digest(order, 7, 4);
            var assembled = renderer.Render(issue, Reader(reader));
            Assert.Equal(renderer.RenderFully(issue, Reader(reader)), assembled);
            Assert.Contains("Third: " + issue.Entries[2].Title[..9], assembled.Text);
            thirds.Add(issue.Entries[1].EntryId + "/" + issue.Entries[2].EntryId);
        }
        Assert.Equal(30, renderer.AssembledCount);
        Assert.True(renderer.SkeletonRenders < 30 + 3, $"{renderer.SkeletonRenders} skeleton renders");
        Assert.True(thirds.Count > 5);
    }

    [Fact]
    public void ASkeletonThatUsesAPaperWholeStillGetsWhatAFullRenderGives()
    {
        var templates = _host.CopyTemplates();
        File.WriteAllText(Path.Combine(templates, "digest.txt.sbn"),
            "{{ for entry in issue.entries }}{{ entry.title }}\n{{ end }}{{ for entry in issue.more }}- {{ entry.title }}\n{{ end }}"
            + "Second: {{ if issue.entry_count > 1 }}{{ issue.entries[1] | object.has_key \"why\" }} {{ issue.entries[1] }}{{ end }}\n"
            + "Unsubscribe: {{ unsubscribe_url }}");
        var renderer = _host.Service<DigestRenderer>();
        for (var reader = 1; reader <= 6; reader++)
        {
            var order = new[] { 0 }.Concat(Enumerable.Range(1, Papers.Length - 1).Skip(reader).Concat(Enumerable.Range(1, reader))).Take(11).ToList();
            var issue = Digest(order, 7, 4);
            var assembled = renderer.Render(issue, Reader(reader));
            Assert.Equal(renderer.RenderFully(issue, Reader(reader)), assembled);
        }
        // Printed whole, a paper shows its markers: such templates are rendered in full (or, were they assembled, never share a skeleton).
        Assert.True(renderer.AssembledCount == 0 || renderer.SkeletonRenders >= renderer.AssembledCount);
    }

    [Fact]
    public void ATemplateWhoseLoopKeepsStateAcrossPapersIsRenderedInFull()
    {
        var templates = _host.CopyTemplates();
        File.WriteAllText(Path.Combine(templates, "digest.html.sbn"),
            "<html><body>{{ n = 0 }}{{ for entry in issue.entries }}{{ n = n + 1 }}<p>{{ n }} of {{ issue.entry_count }}: {{ entry.title }}</p>{{ end }}"
            + "<a href=\"{{ unsubscribe_url }}\">Unsubscribe</a></body></html>");
        var renderer = _host.Service<DigestRenderer>();

        for (var reader = 1; reader <= 3; reader++)
        {
            var order = Enumerable.Range(0, Papers.Length).Skip(reader).Concat(Enumerable.Range(0, reader)).ToList();
            var issue = Digest(order, 6, 4);
            var assembled = renderer.Render(issue, Reader(reader));
            Assert.Equal(renderer.RenderFully(issue, Reader(reader)), assembled);
        }
        Assert.Equal(0, renderer.AssembledCount);
        Assert.Contains(_host.Logs, line => line.Contains("do not render each paper's card", StringComparison.Ordinal));
    }

    [Fact]
    public void ALoopThatSkipsPapersFallsBackToFullRenders()
    {
        var templates = _host.CopyTemplates();
        File.WriteAllText(Path.Combine(templates, "digest.txt.sbn"),
            "{{ for entry in issue.entries | array.limit 3 }}{{ entry.position }}. {{ entry.title }}\n{{ end }}Unsubscribe: {{ unsubscribe_url }}");
        var renderer = _host.Service<DigestRenderer>();
        var issue = Digest(Enumerable.Range(0, 10).Reverse().ToList(), 6, 4);

        var assembled = renderer.Render(issue, Reader(1));
        Assert.Equal(renderer.RenderFully(issue, Reader(1)), assembled);
        Assert.Equal(0, renderer.AssembledCount);
    }
}
